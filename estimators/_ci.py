"""Confidence-interval helpers shared by the built-in estimators.

Every estimator that reports an interval puts it in its info as
``info["ci"] = {"low": float, "high": float, "level": float}`` (nats; ``level`` the nominal coverage,
e.g. 0.95).
"""

from __future__ import annotations

import numpy as np


def ci(low: float, high: float, level: float) -> dict[str, float]:
    """The interval in the project's convention."""
    return {"low": float(low), "high": float(high), "level": float(level)}


def tail_quantiles(values, level: float) -> tuple[float, float]:
    """The (1 - level) / 2 and (1 + level) / 2 empirical quantiles of ``values`` (numpy's default,
    linear interpolation)."""
    lo, hi = np.quantile(np.asarray(values, dtype=np.float64), [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)
