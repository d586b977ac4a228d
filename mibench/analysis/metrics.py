"""Per-cell metrics: one line per (task, estimator, n) over its seeds.

Accuracy (nats): ``mean`` estimate, ``bias`` (mean - truth), ``std`` (ddof=1), ``rmse``, ``mae``,
``rel_error`` (MAE / truth, NaN for zero truth), ``median`` and ``iqr`` of the estimates (robust
to the rare huge excursions of NWJ/JS), ``log2_ratio`` = log2(median / truth) (BMI's view: 0 is
exact, +1 twice the truth; NaN where the ratio is not positive).
Intervals: ``coverage`` (share of seeds whose interval holds the truth), ``width`` (mean width,
nats), ``ci_level`` (nominal level; NaN when the estimator reports no interval).
Training: ``converged`` (share of seeds that converged, see ``converged``), ``params``
(trainable parameters, when the estimator reports them).
Cost: ``seconds`` (mean wall seconds per estimate), ``cpu_seconds`` (mean CPU seconds, all
threads), ``peak_memory_mb``, ``device``; ``seeds`` (successful), ``failures``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

KEYS = ["task_id", "estimator", "n"]
COLUMNS = KEYS + ["family", "truth", "mean", "bias", "std", "rmse", "mae", "rel_error", "median", "iqr", "log2_ratio",
                  "coverage", "width", "ci_level", "converged", "params", "seconds", "cpu_seconds", "peak_memory_mb",
                  "device", "seeds", "failures"]
#: units of each column, for table headers
UNITS = {"truth": "nats", "mean": "nats", "bias": "nats", "std": "nats", "rmse": "nats", "mae": "nats",
         "median": "nats", "iqr": "nats", "width": "nats", "seconds": "s", "cpu_seconds": "s", "peak_memory_mb": "MB"}


def converged(info) -> float:
    """1.0 when a seed's training converged, else 0.0; NaN for estimators without a training loop.

    The stated rule: training converged when it stopped early because the held-out value stopped
    improving (``info["stopped_early"]``, the BMI protocol's early stopping), or, without early
    stopping, when the last held-out value is within 0.1 nats of the best one (the curve has
    flattened rather than still rising or collapsing).
    """
    if not isinstance(info, dict) or "test_curve" not in info:
        return math.nan
    if info.get("stopped_early"):
        return 1.0
    curve = info.get("test_curve") or []
    values = [v[1] for v in curve if isinstance(v, (list, tuple)) and len(v) == 2]
    if not values:
        return math.nan
    return float(abs(values[-1] - max(values)) <= 0.1)


def _params(info) -> float:
    value = info.get("parameters") if isinstance(info, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan


def summarize(rows: pd.DataFrame) -> pd.DataFrame:
    """One line per (task, estimator, n) with the columns of ``COLUMNS``."""
    if rows.empty:
        return pd.DataFrame(columns=COLUMNS)
    df = rows.copy()
    for c in ("ci_low", "ci_high", "ci_level", "cpu_seconds", "peak_memory_mb"):
        if c not in df:
            df[c] = np.nan
    ok = df["status"] == "ok"
    df["err"] = np.where(ok, df["estimate"] - df["truth"], np.nan)
    df["est_ok"] = df["estimate"].where(ok)
    for c in ("seconds", "cpu_seconds", "peak_memory_mb"):
        df[c] = pd.to_numeric(df[c], errors="coerce").where(ok)
    lo, hi = pd.to_numeric(df["ci_low"], errors="coerce"), pd.to_numeric(df["ci_high"], errors="coerce")
    has_ci = ok & lo.notna() & hi.notna()
    df["covers"] = np.where(has_ci, (lo <= df["truth"]) & (df["truth"] <= hi), np.nan)
    df["ci_width"] = np.where(has_ci, hi - lo, np.nan)
    df["ci_lvl"] = pd.to_numeric(df["ci_level"], errors="coerce").where(has_ci)
    info = df["info"] if "info" in df else pd.Series([{}] * len(df), index=df.index)
    df["conv"] = [converged(i) if o else math.nan for i, o in zip(info, ok)]
    df["n_params"] = [_params(i) for i in info]
    g = df.groupby(KEYS, sort=True)
    out = pd.DataFrame({
        "family": g["task_family"].first(),
        "truth": g["truth"].first(),
        "mean": g["est_ok"].mean(),
        "bias": g["err"].mean(),
        "std": g["est_ok"].std(ddof=1),
        "rmse": g["err"].apply(lambda e: float(np.sqrt(np.nanmean(e**2))) if e.notna().any() else np.nan),
        "mae": g["err"].apply(lambda e: float(np.nanmean(np.abs(e))) if e.notna().any() else np.nan),
        "median": g["est_ok"].median(),
        "iqr": g["est_ok"].quantile(0.75) - g["est_ok"].quantile(0.25),
        "coverage": g["covers"].mean(),
        "width": g["ci_width"].mean(),
        "ci_level": g["ci_lvl"].mean(),
        "converged": g["conv"].mean(),
        "params": g["n_params"].max(),
        "seconds": g["seconds"].mean(),
        "cpu_seconds": g["cpu_seconds"].mean(),
        "peak_memory_mb": g["peak_memory_mb"].max(),
        "device": g["device"].agg(lambda d: ",".join(sorted({str(v) for v in d.dropna()})) or None),
        "seeds": g["est_ok"].count(),
        "failures": g["status"].apply(lambda s: int((s != "ok").sum())),
    }).reset_index()
    out["rel_error"] = np.where(out["truth"] > 0, out["mae"] / out["truth"].where(out["truth"] > 0), np.nan)
    ratio = out["median"] / out["truth"].where(out["truth"] > 0)
    out["log2_ratio"] = np.log2(ratio.where(ratio > 0))
    return out[COLUMNS]
