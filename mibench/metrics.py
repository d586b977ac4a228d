"""Per-cell metrics and the overall ranking.

Per (task, estimator, n) over seeds: mean estimate, bias (mean - truth), standard deviation
(ddof=1), RMSE, MAE, relative error (MAE / truth, NaN for zero truth), mean seconds, failures.

Overall ranking (documented in the README): in every (task, n) cell the estimators are ranked by
MAE (rank 1 = smallest; an estimator with no successful seed in that cell takes the worst rank,
ties share the mean rank). The score is the mean rank over all (task, n) cells of the run;
ties are broken by the mean MAE.
"""

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


def ranking(summary: pd.DataFrame) -> pd.DataFrame:
    """Overall ranking of estimators by mean rank of MAE over (task, n) cells."""
    if summary.empty:
        return pd.DataFrame(columns=["rank", "estimator", "mean_rank", "mean_mae", "mean_seconds", "cells", "failures"])
    s = summary.copy()
    worst = s.groupby(["task_id", "n"])["estimator"].transform("count")
    s["cell_rank"] = s.groupby(["task_id", "n"])["mae"].rank(method="average", na_option="keep")
    s["cell_rank"] = s["cell_rank"].fillna(worst.astype(float))
    g = s.groupby("estimator")
    out = pd.DataFrame({
        "mean_rank": g["cell_rank"].mean(),
        "mean_mae": g["mae"].mean(),
        "mean_seconds": g["seconds"].mean(),
        "cells": g["cell_rank"].count(),
        "failures": g["failures"].sum(),
    }).reset_index()
    out = out.sort_values(["mean_rank", "mean_mae", "estimator"], na_position="last").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out
