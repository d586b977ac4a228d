"""Exact nearest-neighbour kernels shared by the k-NN estimators (KSG, Kozachenko–Leonenko).

CPU brute force is compiled with numba (parallel over query points, early termination of each
distance as soon as it exceeds the current bound: "partial distance search"), so memory stays
O(n) and no n x n matrix is ever formed. KD-trees come from scipy.spatial.cKDTree. The CUDA path
(torch) lives in ksg.py. Euclidean distances are compared squared inside the kernels.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange


@numba.njit(inline="always")
def _dist(a, i, j, bound, cheb):
    """Distance between rows i and j of a (squared for euclidean); stops early once >= bound."""
    s = 0.0
    if cheb:
        for c in range(a.shape[1]):
            t = abs(a[i, c] - a[j, c])
            if t > s:
                s = t
                if s >= bound:
                    return s
    else:
        for c in range(a.shape[1]):
            t = a[i, c] - a[j, c]
            s += t * t
            if s >= bound:
                return s
    return s


@numba.njit(parallel=True, cache=True)
def ksg_brute(x, y, k, cheb, variant, tie):
    """For each point: counts (n_x, n_y) excluding the point itself, and its joint radius.

    variant 1: radius = distance to the k-th joint neighbour, counts strictly inside it.
    variant 2: radii = the largest marginal distances among the k joint neighbours, counts with <=.
    Distances within a relative ``tie`` of a radius count as equal to it (same units as the
    distances: squared for euclidean). The returned radii are squared for euclidean.
    """
    n = x.shape[0]
    nx = np.empty(n, np.int64)
    ny = np.empty(n, np.int64)
    rad = np.empty(n)
    for i in prange(n):
        best = np.full(k, np.inf)
        bx = np.zeros(k)
        by = np.zeros(k)
        for j in range(n):
            if j == i:
                continue
            bound = best[k - 1]
            sx = _dist(x, i, j, bound, cheb)
            if sx >= bound:
                continue
            sy = _dist(y, i, j, bound, cheb)
            if sy >= bound:
                continue
            joint = sx if sx > sy else sy
            p = k - 1
            while p > 0 and best[p - 1] > joint:
                best[p] = best[p - 1]
                bx[p] = bx[p - 1]
                by[p] = by[p - 1]
                p -= 1
            best[p] = joint
            bx[p] = sx
            by[p] = sy
        rad[i] = best[k - 1]
        cx = 0
        cy = 0
        if variant == 1:
            e = best[k - 1] * (1.0 - tie)
            for j in range(n):
                if j != i:
                    if _dist(x, i, j, e, cheb) < e:
                        cx += 1
                    if _dist(y, i, j, e, cheb) < e:
                        cy += 1
        else:
            ex = bx.max() * (1.0 + tie)
            ey = by.max() * (1.0 + tie)
            # inclusive counts: stop a distance only once it strictly exceeds the radius
            ex_up = np.nextafter(ex, np.inf)
            ey_up = np.nextafter(ey, np.inf)
            for j in range(n):
                if j != i:
                    if _dist(x, i, j, ex_up, cheb) <= ex:
                        cx += 1
                    if _dist(y, i, j, ey_up, cheb) <= ey:
                        cy += 1
        nx[i] = cx
        ny[i] = cy
    return nx, ny, rad


@numba.njit(parallel=True, cache=True)
def kth_neighbour_brute(a, k, cheb):
    """Distances (squared for euclidean) from each row of a to its k nearest other rows, sorted."""
    n = a.shape[0]
    out = np.empty((n, k))
    for i in prange(n):
        best = np.full(k, np.inf)
        for j in range(n):
            if j == i:
                continue
            d = _dist(a, i, j, best[k - 1], cheb)
            if d >= best[k - 1]:
                continue
            p = k - 1
            while p > 0 and best[p - 1] > d:
                best[p] = best[p - 1]
                p -= 1
            best[p] = d
        out[i] = best
    return out
