"""Estimator helpers: an optional base class, and adapters that let the harness treat every
kind of estimator (object with ``estimate``, BMI estimator, plain function) the same way."""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import numbers
from typing import Any

import numpy as np


class Estimator:
    """Optional base class for estimators (plug-ins only need ``estimate(x, y) -> float``).

    Subclasses implement ``estimate_with_info(x, y) -> (estimate_in_nats, info_dict)`` and store
    each ``__init__`` argument under the same attribute name; ``get_params`` then returns the
    configuration (scikit-learn's convention), which the harness hashes to key results.
    """

    #: where the computation ran; estimators that pick a device at run time update it.
    device: str = "cpu"

    def get_params(self) -> dict[str, Any]:
        sig = inspect.signature(type(self).__init__)
        return {
            p: getattr(self, p)
            for p in list(sig.parameters)[1:]
            if sig.parameters[p].kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        }

    def estimate(self, x, y) -> float:
        return self.estimate_with_info(x, y)[0]

    def estimate_with_info(self, x, y) -> tuple[float, dict[str, Any]]:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


def call_estimator(est, x, y) -> tuple[float, dict[str, Any]]:
    """Run any estimator; return (estimate, extra information).

    Uses ``estimate_with_info`` when present (a ``(value, dict)`` tuple, or BMI's result object
    with ``mi_estimate`` and ``additional_information``), else ``estimate``, else calls it.
    Raises ``TypeError``/``ValueError`` if the result is not a finite real number.
    """
    if hasattr(est, "estimate_with_info"):
        res = est.estimate_with_info(x, y)
        if isinstance(res, tuple) and len(res) == 2:
            value, info = res
        else:
            value = getattr(res, "mi_estimate", res)
            info = getattr(res, "additional_information", {}) or {}
    elif hasattr(est, "estimate"):
        value, info = est.estimate(x, y), {}
    elif callable(est):
        value, info = est(x, y), {}
    else:
        raise TypeError(f"{est!r} has no estimate(x, y) and is not callable")
    return as_estimate(value), dict(info)


def as_estimate(value) -> float:
    """A real, finite number as float; anything else is an error naming what came back."""
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"estimate returned {type(value).__name__} {value!r}, expected a real number")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"estimate returned a non-finite number ({value})")
    return value


def estimator_config(est) -> dict[str, Any]:
    """The estimator's configuration as JSON-friendly data (``get_params`` / BMI ``parameters``)."""
    cfg: Any = None
    if hasattr(est, "get_params"):
        cfg = est.get_params()
    elif hasattr(est, "parameters") and callable(est.parameters):
        p = est.parameters()
        cfg = p.model_dump() if hasattr(p, "model_dump") else (p.dict() if hasattr(p, "dict") else p)
    return json.loads(json.dumps(cfg or {}, default=repr, sort_keys=True))


def config_hash(name: str, config: dict[str, Any]) -> str:
    """Stable short hash of an estimator's name and full configuration."""
    blob = json.dumps({"name": name, "config": config}, sort_keys=True, default=repr)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
