"""Plug-in histogram (binning) MI estimator with optional Miller–Madow correction."""

from __future__ import annotations

import numpy as np

from mibench import Bool, Choice, Estimator, Int, Param, power_of_two_scaled, validate_xy

#: largest total dimension d_x + d_y accepted (cells grow as bins ** (d_x + d_y))
MAX_DIM = 6
STRATEGIES = ("equal-width", "equal-frequency")


def _check_bins(name, value):
    if value == "auto":
        return value
    try:
        return Int(2, min=2).validate(name, value)
    except ValueError:
        raise ValueError(f"{name} must be an integer >= 2 or auto, got {value!r:.60}") from None


class Histogram(Estimator):
    """I = H(X) + H(Y) - H(X, Y) from cell frequencies of a product grid.

    Every coordinate is cut into ``bins`` intervals, of equal width (between its min and max) or
    of equal frequency (empirical quantiles; tied values always share a bin). A cell of X (Y) is
    a tuple of per-coordinate bins; joint cells are pairs. Only non-empty cells are stored
    (``np.unique`` on integer codes), so memory is O(N).

    Parameters:
        bins: intervals per coordinate, an integer >= 2, or ``auto`` (default):
            max(2, floor((N / 10) ** (1 / (d_x + d_y)))), i.e. about 10 points per joint cell.
            With equal-frequency bins at most N are used (``info["bins"]`` says how many).
        strategy: ``equal-frequency`` (default) or ``equal-width``.
        miller_madow: add the Miller–Madow correction (m - 1) / (2N) to each plug-in entropy,
            m = number of non-empty cells (default true). Then
            I = I_plugin + (m_x + m_y - m_xy - 1) / (2N).

    Assumptions: continuous or discrete data of low total dimension (d_x + d_y <= 6; larger
    inputs are rejected because the grid becomes empty). The plug-in estimate is biased: coarse
    cells bias it downwards (discretisation), sparse cells upwards (finite sample); Miller–Madow
    removes the first-order finite-sample term only. Cost O(N (d_x + d_y) log N) (sorting rows).
    """

    PARAMS = {
        "bins": Param("auto", "intervals per coordinate (an integer >= 2) or auto", check=_check_bins),
        "strategy": Choice("equal-frequency", STRATEGIES, "where the cuts go"),
        "miller_madow": Bool(True, "add the Miller-Madow correction"),
    }

    def estimate_with_info(self, x, y):
        x, y = validate_xy(x, y, min_samples=4, name="histogram")
        d = x.shape[1] + y.shape[1]
        if d > MAX_DIM:
            raise ValueError(
                f"histogram: total dimension d_x + d_y = {d} exceeds the limit {MAX_DIM} "
                "(the grid would be almost empty); use ksg or another estimator"
            )
        n = len(x)
        bins = max(2, int((n / 10) ** (1 / d))) if self.bins == "auto" else self.bins
        if self.strategy == "equal-frequency":
            bins = min(bins, n)  # more quantile cuts than points only cost memory (n - 1 cuts separate all)
        jx = _labels(_bin_indices(x, bins, self.strategy))
        jy = _labels(_bin_indices(y, bins, self.strategy))
        joint = _labels(np.column_stack([jx, jy]))
        hx, mx = _entropy(jx)
        hy, my = _entropy(jy)
        hxy, mxy = _entropy(joint)
        mi = hx + hy - hxy
        if self.miller_madow:
            mi += (mx + my - mxy - 1) / (2 * n)
        return float(mi), {"bins": bins, "cells_x": mx, "cells_y": my, "cells_xy": mxy}


def _labels(b):
    """Label 0..m-1 of each row's cell (its tuple of bin indices); no overflow for any bins."""
    return np.unique(b, axis=0, return_inverse=True)[1].reshape(-1)


def _bin_indices(a, bins, strategy):
    """(N, d) integer bin index of every coordinate."""
    a = power_of_two_scaled(a)  # exact; keeps hi - lo finite for data near the float64 range
    out = np.empty(a.shape, dtype=np.int64)
    for j, col in enumerate(a.T):
        if strategy == "equal-width":
            lo, hi = col.min(), col.max()
            b = np.zeros(len(col), np.int64) if hi == lo else np.minimum(
                ((col - lo) / (hi - lo) * bins).astype(np.int64), bins - 1)
        else:
            edges = np.quantile(col, np.arange(1, bins) / bins)
            b = np.searchsorted(edges, col, side="right")
        out[:, j] = b
    return out


def _entropy(labels):
    counts = np.bincount(labels)
    counts = counts[counts > 0]
    p = counts / counts.sum()
    return float(-np.sum(p * np.log(p))), int(counts.size)
