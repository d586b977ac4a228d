"""Run one of the BMI package's estimators on a sample file; the adapter of mibench's ``external``.

Needs only numpy and ``bmi`` (``benchmark-mi``), never mibench, so it runs in BMI's own environment
(docs/external.md):

    PYTHON tools/external/bmi_estimator.py ESTIMATOR_CLASS INPUT [key=value ...] [--plain]

ESTIMATOR_CLASS is a class of ``bmi.estimators`` (e.g. ``KSGEnsembleFirstEstimator``,
``InfoNCEEstimator``); INPUT an ``.npz`` with arrays ``x`` (n, d_x) and ``y`` (n, d_y), or a ``.csv``
with a header ``x1,...,y1,...`` (the two formats mibench writes). Each ``key=value`` is a constructor
argument; the value is read as a Python literal (``10``, ``0.1``, ``True``, ``(16, 8)``, ``'chebyshev'``),
``true``/``false`` as booleans, anything else as a string, and a single number given for a parameter
whose default is a tuple or list becomes a 1-tuple (``neighborhoods=10`` -> ``(10,)``). Estimators
with a ``verbose`` parameter (BMI's neural ones) get ``verbose=False`` unless it is given.

Prints one JSON line ``{"estimate": MI in nats, "info": {...}}`` (BMI's additional information,
the class, its parameters and the package version), or with ``--plain`` the number alone. Anything
the estimator prints goes to standard error, so standard output holds only the result. Exit status
2 for a usage error (unknown class or parameter, unreadable input), 1 if the estimator fails.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import inspect
import json
import math
import sys

import numpy as np


def parse_value(raw: str):
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return raw


def read_samples(path: str) -> tuple[np.ndarray, np.ndarray]:
    if path.endswith(".csv"):
        with open(path, encoding="utf-8") as fh:
            header = fh.readline().strip().split(",")
        data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
        cols = np.array([h[:1] for h in header])
        return data[:, cols == "x"], data[:, cols == "y"]
    with np.load(path) as npz:
        return np.asarray(npz["x"], dtype=np.float64), np.asarray(npz["y"], dtype=np.float64)


def build(cls_name: str, pairs: list[str]):
    import bmi.estimators

    cls = getattr(bmi.estimators, cls_name, None)
    if not inspect.isclass(cls):
        known = sorted(n for n in dir(bmi.estimators) if n.endswith("Estimator"))
        raise UsageError(f"no estimator class {cls_name!r} in bmi.estimators (available: {', '.join(known)})")
    params = {p.name: p for p in list(inspect.signature(cls.__init__).parameters.values())[1:]}
    kwargs = {}
    for item in pairs:
        key, eq, raw = item.partition("=")
        if not eq or not key:
            raise UsageError(f"expected key=value, got {item!r}")
        if key not in params:
            raise UsageError(f"{cls_name} has no parameter {key!r} (accepted: {', '.join(params)})")
        value = parse_value(raw)
        if isinstance(params[key].default, tuple | list) and isinstance(value, int | float) \
                and not isinstance(value, bool):
            value = (value,)
        kwargs[key] = value
    if "verbose" in params and "verbose" not in kwargs:
        kwargs["verbose"] = False  # BMI's neural progress bars would fill the stderr tail of an error
    return cls(**kwargs), kwargs


class UsageError(Exception):
    pass


def jsonable(obj):
    """BMI's additional information (JAX / NumPy arrays, pydantic models) as JSON-friendly data."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "model_dump"):
        return jsonable(obj.model_dump())
    if hasattr(obj, "tolist"):
        return jsonable(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return repr(obj)
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    return repr(obj)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Run a BMI estimator on an .npz/.csv sample file (nats).")
    p.add_argument("estimator_class")
    p.add_argument("input")
    p.add_argument("params", nargs="*", metavar="key=value")
    p.add_argument("--plain", action="store_true", help="print the estimate alone, not JSON")
    args = p.parse_args(argv)
    try:
        x, y = read_samples(args.input)
        with contextlib.redirect_stdout(sys.stderr):  # progress output must not reach the result stream
            est, kwargs = build(args.estimator_class, args.params)
    except (UsageError, OSError, KeyError, ValueError) as exc:
        print(f"bmi_estimator: error: {exc}", file=sys.stderr)
        return 2
    with contextlib.redirect_stdout(sys.stderr):
        result = est.estimate_with_info(x, y)
    value = float(result.mi_estimate)
    if args.plain:
        print(repr(value))
        return 0
    from importlib.metadata import PackageNotFoundError, version

    try:
        bmi_version = version("benchmark-mi")
    except PackageNotFoundError:
        bmi_version = None
    info = {
        "bmi_class": args.estimator_class,
        "bmi_params": jsonable(kwargs),
        "bmi_version": bmi_version,
        "time_in_seconds": result.time_in_seconds,
        **jsonable(result.additional_information or {}),
    }
    print(json.dumps({"estimate": value, "info": info}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
