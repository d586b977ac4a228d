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


def power_of_two_scaled(a: np.ndarray) -> np.ndarray:
    """Each column divided by the power of two nearest its largest magnitude: exact in floating point
    (only the exponents change), and it keeps sums of squares of data at 1e160 or 1e-170 from
    overflowing or underflowing. MI is invariant under per-column scaling."""
    a = np.asarray(a, dtype=np.float64)
    peak = np.max(np.abs(a), axis=0) if a.size else np.ones(a.shape[1:])
    _, exponent = np.frexp(np.where(peak > 0, peak, 1.0))
    return np.ldexp(a, -exponent)


def standardize(a: np.ndarray) -> np.ndarray:
    """Each column to zero mean and unit (population, ddof=0) standard deviation.

    Computed on power-of-two-scaled columns, so any finite data standardise without overflow;
    a column whose spread is zero (or below float64 resolution) raises ValueError instead of
    turning into NaN/inf.
    """
    a = power_of_two_scaled(a)
    centred = a - a.mean(axis=0)
    sd = centred.std(axis=0)
    bad = np.flatnonzero(~(sd > 0) | ~np.isfinite(sd))
    if bad.size:
        raise ValueError(f"column(s) {bad.tolist()} have no spread at float64 precision; cannot standardise")
    return centred / sd
