"""mibench: a benchmark suite for mutual-information estimators (all values in nats).

The public API, and the only part of mibench that the built-in plug-ins (``mibench.tasks``,
``mibench.estimators``) and third-party packages import. It re-exports the contracts of
``mibench.core``; ``run``, ``bench``, ``check_estimator`` and the rest that need pandas, torch or
the runner load on first use, so ``import mibench`` stays light.
"""

from mibench import core as _core
from mibench.core import *  # noqa: F403 (the public API is the core's, re-exported)

__version__ = "0.1.0"

#: name -> module of what loads on first use
_LAZY = {
    "run": "mibench.execution.runner",
    "bench": "mibench.pipeline",
    "check_estimator": "mibench.core.testing",
    "list_presets": "mibench.execution.presets",
    "load_preset": "mibench.execution.presets",
    "run_preset": "mibench.execution.presets",
    "LocalExecutor": "mibench.execution.executors",
    "RayExecutor": "mibench.execution.ray_executor",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mibench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [*_core.__all__, *_LAZY]
