"""Per-cell metrics: per (task, estimator, n) over seeds, mean estimate, bias (mean - truth),
standard deviation (ddof=1), RMSE, MAE, relative error (MAE / truth, NaN for zero truth), mean
seconds, failures. All in nats (seconds for times)."""

from __future__ import annotations

import numpy as np
import pandas as pd

KEYS = ["task_id", "estimator", "n"]


def summarize(rows: pd.DataFrame) -> pd.DataFrame:
    """One line per (task, estimator, n)."""
    if rows.empty:
        return pd.DataFrame(columns=KEYS + ["family", "truth", "mean", "bias", "std", "rmse", "mae",
                                            "rel_error", "seconds", "seeds", "failures"])
    df = rows.copy()
    ok = df["status"] == "ok"
    df["err"] = np.where(ok, df["estimate"] - df["truth"], np.nan)
    df["est_ok"] = df["estimate"].where(ok)
    df["sec_ok"] = df["seconds"].where(ok)
    g = df.groupby(KEYS, sort=True)
    out = pd.DataFrame({
        "family": g["task_family"].first(),
        "truth": g["truth"].first(),
        "mean": g["est_ok"].mean(),
        "bias": g["err"].mean(),
        "std": g["est_ok"].std(ddof=1),
        "rmse": g["err"].apply(lambda e: float(np.sqrt(np.nanmean(e**2))) if e.notna().any() else np.nan),
        "mae": g["err"].apply(lambda e: float(np.nanmean(np.abs(e))) if e.notna().any() else np.nan),
        "seconds": g["sec_ok"].mean(),
        "seeds": g["est_ok"].count(),
        "failures": g["status"].apply(lambda s: int((s != "ok").sum())),
    }).reset_index()
    out["rel_error"] = np.where(out["truth"] > 0, out["mae"] / out["truth"].where(out["truth"] > 0), np.nan)
    cols = KEYS + ["family", "truth", "mean", "bias", "std", "rmse", "mae", "rel_error", "seconds", "seeds", "failures"]
    return out[cols]
