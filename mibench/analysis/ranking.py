"""The overall ranking of estimators over (task, n) cells.

In every (task, n) cell the estimators are ranked by MAE (rank 1 = smallest; an estimator with no
successful seed in that cell takes the worst rank, ties share the mean rank). The score is the
mean rank over all (task, n) cells of the run; ties are broken by the mean MAE.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


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
