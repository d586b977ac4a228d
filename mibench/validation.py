"""Input checks shared by every estimator: clear errors, never silent coercion."""

from __future__ import annotations

import numpy as np


def validate_xy(
    x,
    y,
    *,
    min_samples: int = 2,
    allow_constant: bool = True,
    name: str = "estimator",
) -> tuple[np.ndarray, np.ndarray]:
    """Check a pair of samples and return them as float64 arrays of shape (n, d_x), (n, d_y).

    Raises ``ValueError`` naming the problem for: non-numeric data, arrays that are not 2-d,
    different numbers of rows, NaN or inf, fewer than ``min_samples`` rows, and (when
    ``allow_constant`` is false, e.g. before standardisation) a constant column.
    The inputs are never modified.
    """
    arrays = []
    for label, a in (("x", x), ("y", y)):
        arr = np.asarray(a)
        if arr.dtype == object or not (
            np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
        ):
            raise ValueError(f"{name}: {label} must be a numeric array, got dtype {arr.dtype}")
        if arr.ndim != 2:
            raise ValueError(
                f"{name}: {label} must be a 2-d array of shape (n_samples, dim), "
                f"got {arr.ndim}-d array of shape {arr.shape}"
            )
        if arr.shape[1] < 1:
            raise ValueError(f"{name}: {label} has no columns (shape {arr.shape})")
        arrays.append(arr.astype(np.float64, copy=False))
    xa, ya = arrays
    if xa.shape[0] != ya.shape[0]:
        raise ValueError(
            f"{name}: x and y must have the same number of samples, "
            f"got {xa.shape[0]} and {ya.shape[0]}"
        )
    for label, arr in (("x", xa), ("y", ya)):
        if not np.all(np.isfinite(arr)):
            bad = int(np.sum(~np.isfinite(arr)))
            raise ValueError(f"{name}: {label} contains {bad} NaN or infinite value(s)")
    if xa.shape[0] < min_samples:
        raise ValueError(
            f"{name}: needs at least {min_samples} samples, got {xa.shape[0]}"
        )
    if not allow_constant:
        for label, arr in (("x", xa), ("y", ya)):
            const = np.flatnonzero(np.ptp(arr, axis=0) == 0)
            if const.size:
                raise ValueError(
                    f"{name}: {label} has constant column(s) {const.tolist()}; "
                    "they cannot be standardised and carry no information"
                )
    return xa, ya


def standardize(a: np.ndarray) -> np.ndarray:
    """Each column to zero mean and unit (population, ddof=0) standard deviation."""
    return (a - a.mean(axis=0)) / a.std(axis=0)
