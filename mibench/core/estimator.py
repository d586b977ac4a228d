"""Estimator helpers: an optional base class, and adapters that let the harness treat every
kind of estimator (object with ``estimate``, BMI estimator, plain function) the same way."""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import numbers
from typing import Any, ClassVar

import numpy as np

from mibench.core.params import Param, check_params


class Estimator:
    """Optional base class for estimators (plug-ins only need ``estimate(x, y) -> float``).

    Subclasses implement ``estimate_with_info(x, y) -> (estimate_in_nats, info_dict)`` and declare
    their parameters in one table, ``PARAMS = {"k": Int(5, min=1), ...}`` (``mibench.core.params``).
    The base class then provides scikit-learn's conventions: the constructor takes exactly those
    keyword arguments (its signature is derived from the table), stores each under its own name,
    ``set_params`` validates them in one place and ``get_params`` returns the configuration, which
    the harness hashes to key results. Two hooks refine this: ``_resolve(values)`` fills derived
    defaults (e.g. a protocol's settings) before the checks, ``_check(values)`` rejects invalid
    combinations after them.

    A subclass may instead write its own ``__init__`` storing each argument under the same name;
    ``get_params`` then reads the constructor's signature.
    """

    PARAMS: ClassVar[dict[str, Param]] = {}
    #: where the computation ran; estimators that pick a device at run time update it.
    device: str = "cpu"
    #: True: the harness passes image samples (n, 1, h, w) unflattened.
    accepts_images: bool = False

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if _defining_class(cls) is not Estimator:
            cls.__signature__ = None  # a hand-written constructor speaks for itself
        else:
            cls.__signature__ = inspect.Signature([
                inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=p.default)
                for name, p in cls.PARAMS.items()])

    def __init__(self, **params) -> None:
        self._given: dict[str, Any] = {}
        self.set_params(**params)

    def get_params(self) -> dict[str, Any]:
        if _defining_class(type(self)) is Estimator:
            return {name: getattr(self, name) for name in type(self).PARAMS}
        sig = inspect.signature(type(self).__init__)
        return {
            p: getattr(self, p)
            for p in list(sig.parameters)[1:]
            if sig.parameters[p].kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        }

    def set_params(self, **params) -> Estimator:
        """Change parameters (validated like the constructor's); returns the estimator."""
        table = type(self).PARAMS
        unknown = [k for k in params if k not in table]
        if unknown:
            raise ValueError(f"{type(self).__name__} has no parameter {unknown[0]!r} "
                             f"(accepted: {', '.join(table) or 'none'})")
        given = {**getattr(self, "_given", {}), **params}
        values = self._resolve({name: given.get(name, p.default) for name, p in table.items()})
        checked = check_params(table, values)
        self._check(checked)
        for name, value in checked.items():
            setattr(self, name, value)
        self._given = given
        return self

    def _resolve(self, values: dict[str, Any]) -> dict[str, Any]:
        """Derived defaults before validation (identity here)."""
        return values

    def _check(self, values: dict[str, Any]) -> None:
        """Checks across parameters after each one passed its own (none here)."""

    def estimate(self, x, y) -> float:
        return self.estimate_with_info(x, y)[0]

    def estimate_with_info(self, x, y) -> tuple[float, dict[str, Any]]:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


def _defining_class(cls: type) -> type:
    """The class in the MRO that defines the constructor in use."""
    for klass in cls.__mro__:
        if "__init__" in klass.__dict__:
            return klass
    return object


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


def call_estimator_batch(est, xs, ys, seeds) -> list[tuple[float, dict[str, Any]] | Exception]:
    """Run an estimator's ``estimate_batch(xs, ys, seeds)``: seed ``seeds[k]`` on (xs[k], ys[k]).

    Per seed: (estimate, info), or the exception that seed alone failed with (also a result that is
    not a finite number or not a ``(value, dict)`` pair). Raises ``TypeError`` when the call does not
    return one result per seed.
    """
    results = est.estimate_batch(xs, ys, seeds)
    if not isinstance(results, (list, tuple)) or len(results) != len(seeds):
        raise TypeError(f"estimate_batch returned {type(results).__name__} for {len(seeds)} seeds, "
                        "expected a list with one (estimate, info) or exception per seed")
    out: list[tuple[float, dict[str, Any]] | Exception] = []
    for res in results:
        if isinstance(res, Exception):
            out.append(res)
            continue
        try:
            if not (isinstance(res, tuple) and len(res) == 2):
                raise TypeError(f"estimate_batch gave {type(res).__name__} {res!r} for a seed, "
                                "expected an (estimate, info) pair")
            out.append((as_estimate(res[0]), dict(res[1] or {})))
        except (TypeError, ValueError) as exc:
            out.append(exc)
    return out


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
