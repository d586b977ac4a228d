"""The O(N^2 log N) sort-based KSG (variant 1) as the BMI package implements it: pairwise distances
for chunks of rows (euclidean through the dot-product expansion, as scikit-learn computes it;
chebyshev with scipy's cdist), joint distance = elementwise maximum, full argsort of every row.
A numpy re-implementation of that algorithm used as the benchmark baseline (not BMI's code)."""

import numpy as np
from scipy.spatial.distance import cdist
from scipy.special import digamma


def _pairwise(a, b, metric, b_sq=None):
    if metric == "chebyshev":
        return cdist(a, b, "chebyshev")
    a_sq = np.einsum("ij,ij->i", a, a)
    d2 = a_sq[:, None] - 2.0 * (a @ b.T) + b_sq[None, :]
    return np.sqrt(np.maximum(d2, 0.0))


def ksg_sort_reference(x, y, k=5, metric="euclidean", chunk_size=10):
    x = (x - x.mean(0)) / x.std(0)
    y = (y - y.mean(0)) / y.std(0)
    n = len(x)
    x_sq, y_sq = np.einsum("ij,ij->i", x, x), np.einsum("ij,ij->i", y, y)
    total = 0.0
    for s in range(0, n, chunk_size):
        dx = _pairwise(x[s : s + chunk_size], x, metric, x_sq)
        dy = _pairwise(y[s : s + chunk_size], y, metric, y_sq)
        dxy = np.maximum(dx, dy)
        order = np.argsort(dxy, axis=-1)
        eps = dxy[np.arange(len(order)), order[:, k]]
        nx = (dx < eps[:, None]).sum(1) - 1
        ny = (dy < eps[:, None]).sum(1) - 1
        total += np.sum(digamma(nx + 1) + digamma(ny + 1))
    return digamma(k) + digamma(n) - total / n
