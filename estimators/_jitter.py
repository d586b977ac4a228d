"""Seeded tie-breaking noise for kNN estimators on data with exact duplicates."""

from __future__ import annotations

import warnings

import numpy as np


def add_jitter(x: np.ndarray, y: np.ndarray, jitter: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """x and y plus Gaussian noise of ``jitter`` x column standard deviation (1 for constant columns),
    drawn from ``default_rng(seed)`` (x first). The joint sample is then (x', y'): every entropy or
    neighbour count sees the same perturbed points."""
    rng = np.random.default_rng(seed)
    out = []
    for a in (x, y):
        s = a.std(axis=0)
        out.append(a + jitter * np.where(s > 0, s, 1.0) * rng.standard_normal(a.shape))
    return out[0], out[1]


def jitter_duplicates(x: np.ndarray, y: np.ndarray, jitter: float, seed: int, problem: str,
                      stacklevel: int) -> tuple[np.ndarray, np.ndarray]:
    """The duplicate-points rule of the kNN estimators: ``problem`` says what the duplicates broke.
    With jitter = 0 raise ValueError; otherwise warn (RuntimeWarning at the caller's ``stacklevel``)
    and return x, y with seeded noise (``add_jitter``)."""
    if jitter == 0:
        raise ValueError(f"{problem}; set jitter > 0 to break ties with seeded noise")
    warnings.warn(f"{problem}; adding seeded noise of relative scale {jitter}", RuntimeWarning,
                  stacklevel=stacklevel + 1)
    return add_jitter(x, y, jitter, seed)
