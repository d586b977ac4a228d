"""mibench: a benchmark suite for mutual-information estimators (all values in nats).

The public API, and the only part of mibench that the built-in plug-ins (``mibench.tasks``,
``mibench.estimators``) and third-party packages import. It re-exports the contracts of
``mibench.core``; ``run``, ``bench``, ``check_estimator`` and the rest that need pandas, torch or
the runner load on first use, so ``import mibench`` stays light.
"""

from mibench.core import (
    DEVICE,
    SEED,
    Alias,
    Bool,
    Choice,
    DivergedError,
    Estimator,
    EstimatorFailure,
    Experiment,
    Float,
    InfrastructureError,
    Int,
    MibenchError,
    Param,
    Sampler,
    Spec,
    Str,
    Task,
    TransformedSampler,
    call_estimator,
    canonical_spec,
    get_estimator,
    get_experiment,
    get_task,
    list_estimators,
    list_experiments,
    list_suites,
    list_tasks,
    parse_spec,
    power_of_two_scaled,
    register_estimator,
    register_suite,
    registered,
    standardize,
    validate_xy,
)

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


__all__ = [
    "DEVICE", "SEED", "Alias", "Bool", "Choice", "DivergedError", "Estimator", "EstimatorFailure", "Experiment",
    "Float",
    "InfrastructureError", "Int", "MibenchError", "Param", "Sampler", "Spec", "Str", "Task", "TransformedSampler",
    "call_estimator", "canonical_spec", "get_estimator", "get_experiment", "get_task", "list_estimators",
    "list_experiments", "list_suites", "list_tasks", "parse_spec", "register_estimator", "register_suite",
    "power_of_two_scaled", "registered", "standardize", "validate_xy", *_LAZY,
]
