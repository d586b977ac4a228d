"""Kraskov–Stögbauer–Grassberger (KSG) estimator, Kraskov et al. 2004, Phys. Rev. E 69, 066138."""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist
from scipy.special import digamma

from mibench import Estimator, standardize, validate_xy

METRICS = ("euclidean", "chebyshev")


class KSG(Estimator):
    """KSG estimator 1: psi(k) + psi(N) - < psi(n_x + 1) + psi(n_y + 1) >.

    Parameters:
        k: number of neighbours (default 5); needs n > k samples.
        metric: norm on each marginal space, ``euclidean`` or ``chebyshev``; the joint distance
            is the maximum of the two marginal distances.
        standardize: scale every column to zero mean and unit variance first (default true);
            constant columns are then rejected.
        clip: return max(0, estimate) (default false: negative values are reported as computed,
            since clipping biases the mean over seeds upwards).

    n_x (n_y) counts the other points strictly closer than the distance to the k-th joint
    neighbour in the X (Y) space. Brute force in blocks: O(N^2 (d_x + d_y)) time, O(block x N)
    memory.
    """

    def __init__(self, k: int = 5, metric: str = "euclidean", standardize: bool = True, clip: bool = False) -> None:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
        for name, v in (("standardize", standardize), ("clip", clip)):
            if not isinstance(v, bool):
                raise ValueError(f"{name} must be true or false, got {v!r}")
        self.k, self.metric, self.standardize, self.clip = k, metric, standardize, clip

    def estimate_with_info(self, x, y):
        x, y = validate_xy(x, y, min_samples=self.k + 1, allow_constant=not self.standardize, name="ksg")
        if self.standardize:
            x, y = standardize(x), standardize(y)
        n = len(x)
        nx, ny = np.empty(n), np.empty(n)
        block = max(1, 2**22 // n)
        for s in range(0, n, block):
            dx = cdist(x[s : s + block], x, metric=self.metric)
            dy = cdist(y[s : s + block], y, metric=self.metric)
            eps = np.partition(np.maximum(dx, dy), self.k, axis=1)[:, self.k]
            nx[s : s + block] = (dx < eps[:, None]).sum(1) - 1
            ny[s : s + block] = (dy < eps[:, None]).sum(1) - 1
        mi = float(digamma(self.k) + digamma(n) - np.mean(digamma(nx + 1) + digamma(ny + 1)))
        return (max(0.0, mi) if self.clip else mi), {}
