"""Exact nearest-neighbour kernels shared by the k-NN estimators (KSG, Kozachenko–Leonenko).

CPU brute force is compiled with numba (parallel over blocks of query points, distances
vectorised over the other points), so memory stays O(n) per thread and no n x n matrix is ever
formed. ``kth_neighbour_brute`` (Kozachenko–Leonenko) uses partial distance search instead.
KD-tree queries live in _kdtree.py. The CUDA path (torch) lives in ksg.py. Euclidean
distances are compared squared inside the kernels.
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


@numba.njit(inline="always", fastmath=True)
def _block_dist(at, i0, i1, buf, spare, cheb):
    """buf[r, j] = distance between points i0 + r and j (squared for euclidean); at is (dim, n).

    Tiled: a tile of 256 columns of the block's rows stays in L1 cache while the coordinates
    stream through. The inner loops run over 0-based slices (numba then drops its negative-index
    checks and LLVM vectorises them: 3.5x on the development machine), and the chebyshev maximum
    is written to a second buffer (ping-pong): an in-place ``max`` becomes a masked store, which
    is slow on AMD processors; out of place it is one vmaxpd (2x)."""
    d, n = at.shape
    for jb in range(0, n, 256):
        je = min(n, jb + 256)
        m = je - jb
        for r in range(i1 - i0):
            src = buf[r, jb:je]
            dst = spare[r, jb:je]
            row = at[0, jb:je]
            v = at[0, i0 + r]
            for j in range(m):
                t = row[j] - v
                src[j] = abs(t) if cheb else t * t
            if cheb:
                # four coordinates per pass: the maximum is exact in any order, and each pass
                # reads and writes the tile once instead of four times
                c = 1
                while c + 3 < d:
                    r0, r1, r2, r3 = at[c, jb:je], at[c + 1, jb:je], at[c + 2, jb:je], at[c + 3, jb:je]
                    v0, v1, v2, v3 = at[c, i0 + r], at[c + 1, i0 + r], at[c + 2, i0 + r], at[c + 3, i0 + r]
                    for j in range(m):
                        a = src[j]
                        t0 = abs(r0[j] - v0)
                        t1 = abs(r1[j] - v1)
                        t2 = abs(r2[j] - v2)
                        t3 = abs(r3[j] - v3)
                        t0 = t0 if t0 > t1 else t1
                        t2 = t2 if t2 > t3 else t3
                        t0 = t0 if t0 > t2 else t2
                        dst[j] = t0 if t0 > a else a
                    src, dst = dst, src
                    c += 4
                while c < d:
                    row = at[c, jb:je]
                    v = at[c, i0 + r]
                    for j in range(m):
                        a = src[j]
                        t = abs(row[j] - v)
                        dst[j] = t if t > a else a
                    src, dst = dst, src
                    c += 1
            else:
                for c in range(1, d):
                    row = at[c, jb:je]
                    v = at[c, i0 + r]
                    for j in range(m):
                        t = row[j] - v
                        src[j] += t * t
            if cheb and ((d - 1) // 4 + (d - 1) % 4) % 2 == 1:  # odd number of passes: result in spare
                out = buf[r, jb:je]
                for j in range(m):
                    out[j] = src[j]


@numba.njit(inline="always")
def _k_smallest_joint(bx, by, i, k, joint, best):
    """joint[j] = max(bx[j], by[j]); best = its k smallest values over j != i, ascending. By
    insertion: one predictable comparison per point, no copy (np.partition costs 10x more here)."""
    n = bx.shape[0]
    for p in range(k):
        best[p] = np.inf
    for j in range(n):
        v = bx[j] if bx[j] > by[j] else by[j]
        joint[j] = v
        if v < best[k - 1] and j != i:
            p = k - 1
            while p > 0 and best[p - 1] > v:
                best[p] = best[p - 1]
                p -= 1
            best[p] = v


@numba.njit(inline="always", fastmath=True)
def _ksg_row(bx, by, i, k, variant, tie, joint, best):
    """KSG's statistics of point i from its distance rows bx, by to every point (squared for
    euclidean; the point itself at distance 0): (n_x, n_y, joint radius). joint, best: scratch
    buffers of sizes n and k.

    variant 1: radius = distance to the k-th joint neighbour, counts strictly inside it.
    variant 2: radii = the largest marginal distances among the k joint neighbours (ties at the
    k-th joint distance: lowest indices first), counts with <=.
    Distances within a relative ``tie`` of a radius count as equal to it."""
    n = bx.shape[0]
    _k_smallest_joint(bx, by, i, k, joint, best)
    joint[i] = -1.0
    eps = best[k - 1]
    cx = 0
    cy = 0
    if variant == 1:
        e = eps * (1.0 - tie)
        for j in range(n):
            if bx[j] < e:
                cx += 1
            if by[j] < e:
                cy += 1
        # the point itself has distance 0 < e (when e > 0)
        if e > 0:
            cx -= 1
            cy -= 1
    else:
        less = 0
        for j in range(n):
            if joint[j] < eps and j != i:
                less += 1
        ex = 0.0
        ey = 0.0
        room = k - less
        for j in range(n):
            if j == i:
                continue
            take = joint[j] < eps
            if not take and joint[j] == eps and room > 0:
                take = True
                room -= 1
            if take:
                ex = bx[j] if bx[j] > ex else ex
                ey = by[j] if by[j] > ey else ey
        ex *= 1.0 + tie
        ey *= 1.0 + tie
        for j in range(n):
            if j != i:
                if bx[j] <= ex:
                    cx += 1
                if by[j] <= ey:
                    cy += 1
    return cx, cy, eps


@numba.njit(parallel=True, cache=True, fastmath=True)
def ksg_brute(xt, yt, k, cheb, variant, tie):
    """For each point: counts (n_x, n_y) excluding the point itself, and its joint radius
    (``_ksg_row``; squared for euclidean).

    xt, yt: transposed data, shapes (d_x, n), (d_y, n). Brute force, one block of rows of
    distances at a time per thread (O(n) memory per thread). Distances within a relative ``tie``
    of a radius count as equal to it (same units as the distances: squared for euclidean).
    """
    n = xt.shape[1]
    rows = 8
    nx = np.empty(n, np.int64)
    ny = np.empty(n, np.int64)
    rad = np.empty(n)

    n_blocks = (n + rows - 1) // rows
    for blk in prange(n_blocks):
        i0 = blk * rows
        i1 = min(n, i0 + rows)
        bxs = np.empty((rows, n))
        bys = np.empty((rows, n))
        spare = np.empty((rows, n))
        joint = np.empty(n)
        best = np.empty(k)
        _block_dist(xt, i0, i1, bxs, spare, cheb)
        _block_dist(yt, i0, i1, bys, spare, cheb)
        for i in range(i0, i1):
            nx[i], ny[i], rad[i] = _ksg_row(bxs[i - i0], bys[i - i0], i, k, variant, tie, joint, best)
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


#: fast-math flags of the kernels that decide counts: no ``nnan`` / ``ninf`` (they compare against
#: infinite sentinels) and no ``reassoc`` (an exact distance must be summed in ``_block_dist``'s
#: order); ``contract``, because ``_block_dist``'s sums of squares are FMA-contracted
DECIDE = {"nsz", "arcp", "contract", "afn"}


@numba.njit(inline="always", fastmath=DECIDE)
def _exact_dist(at, i, j, cheb):
    """The distance ``_block_dist`` computes between points i and j of at (dim, n), rounded the same
    way (squared for euclidean: a running sum of squares, FMA-contracted as there)."""
    s = 0.0
    for c in range(at.shape[0]):
        t = at[c, j] - at[c, i]
        if cheb:
            t = abs(t)
            s = t if t > s else s
        else:
            s += t * t
    return s


@numba.njit(inline="always", fastmath=DECIDE)
def _count_within(b, i, e, strict, delta, at, cheb):
    """#{j != i: d_j < e} (``strict``) or <= e, where the row b holds every d_j up to an error of at
    most ``delta``: decided from b where the margin allows, with ``_exact_dist`` for the few entries
    within delta of e."""
    n = b.shape[0]
    lo = e - delta
    hi = e + delta
    sure = 0
    maybe = 0
    for j in range(n):
        v = b[j]
        if v < lo:
            sure += 1
        if v <= hi:
            maybe += 1
    if b[i] < lo:
        sure -= 1
    if b[i] <= hi:
        maybe -= 1
    if maybe > sure:
        for j in range(n):
            v = b[j]
            if j != i and v >= lo and v <= hi:
                d = _exact_dist(at, i, j, cheb)
                if (d < e) if strict else (d <= e):
                    sure += 1
    return sure


@numba.njit(inline="always", fastmath=DECIDE)
def _ksg_row_bounded(bx, by, i, k, variant, tie, dlx, dly, xt, yt, cheb, joint, best, kth, cdx, cdy):
    """``_ksg_row`` from approximate distance rows bx, by (within dlx, dly of ``_block_dist``'s values
    for every pair), with the same result as ``_ksg_row`` on the exact rows: the k nearest joint
    neighbours are chosen with exact distances among the points whose approximate joint distance is
    within 2 max(dlx, dly) of the k-th smallest approximate one (every point within the exact radius
    is among them), and the counts decide exactly the entries within the error of their radius."""
    n = bx.shape[0]
    dl = dlx if dlx > dly else dly
    _k_smallest_joint(bx, by, i, k, joint, best)
    limit = best[k - 1] + 2.0 * dl
    m = 0  # candidates, in index order (variant 2's tie rule)
    for j in range(n):
        if joint[j] <= limit and j != i:
            cdx[m] = _exact_dist(xt, i, j, cheb)
            cdy[m] = _exact_dist(yt, i, j, cheb)
            m += 1
    for p in range(k):
        kth[p] = np.inf
    for q in range(m):
        v = cdx[q] if cdx[q] > cdy[q] else cdy[q]
        if v < kth[k - 1]:
            p = k - 1
            while p > 0 and kth[p - 1] > v:
                kth[p] = kth[p - 1]
                p -= 1
            kth[p] = v
    eps = kth[k - 1]
    if variant == 1:
        e = eps * (1.0 - tie)
        return (_count_within(bx, i, e, True, dlx, xt, cheb), _count_within(by, i, e, True, dly, yt, cheb), eps)
    less = 0
    for q in range(m):
        v = cdx[q] if cdx[q] > cdy[q] else cdy[q]
        if v < eps:
            less += 1
    room = k - less
    ex = 0.0
    ey = 0.0
    for q in range(m):
        v = cdx[q] if cdx[q] > cdy[q] else cdy[q]
        take = v < eps
        if not take and v == eps and room > 0:
            take = True
            room -= 1
        if take:
            ex = cdx[q] if cdx[q] > ex else ex
            ey = cdy[q] if cdy[q] > ey else ey
    return (_count_within(bx, i, ex * (1.0 + tie), False, dlx, xt, cheb),
            _count_within(by, i, ey * (1.0 + tie), False, dly, yt, cheb), eps)


def ksg_gram(x, y, k, variant, tie, threads):
    """``ksg_brute`` (euclidean) through matrix products, with the same counts and radii: parallel
    over blocks of points handed out one at a time to ``threads`` threads (a core slowed by another
    job then takes fewer blocks instead of holding up the others; numba's static split of ``prange``
    stalls on it).

    Squared distances are |a|^2 + |b|^2 - 2 a.b with the Gram rows from BLAS (register-blocked:
    3-4x the direct loops at 50 + 50 dimensions), clamped at 0. Each row's rounding error, bounded by
    2^-50 (d + 4) (|a|^2 + max |b|^2) (the dot products', the norms' and the direct loops' own), is
    what ``_ksg_row_bounded`` decides around: entries within it of a radius are recomputed as the
    direct loops compute them, so ties in exact arithmetic (grid or integer data) fall as there."""
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    x, y = np.ascontiguousarray(x, dtype=np.float64), np.ascontiguousarray(y, dtype=np.float64)
    n = len(x)
    xt, yt = np.ascontiguousarray(x.T), np.ascontiguousarray(y.T)
    sqx, sqy = np.einsum("ij,ij->i", x, x), np.einsum("ij,ij->i", y, y)
    nx, ny, rad = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n)

    def run(s):
        _ksg_gram_block(x, y, xt, yt, sqx, sqy, s, min(n, s + GRAM_BLOCK), k, variant, tie, nx, ny, rad)

    # one BLAS thread per block: the parallelism is over blocks
    with threadpool_limits(1), ThreadPoolExecutor(max(1, threads)) as pool:
        list(pool.map(run, range(0, n, GRAM_BLOCK)))
    return nx, ny, rad


#: points per task of ksg_gram, and per Gram product inside it (measured at N = 10^4, 50 + 50:
#: 32-row products 1.2-1.6x faster than 16 or 64; blocks of 64-256 points alike)
GRAM_BLOCK, GRAM_ROWS = 128, 32


@numba.njit(nogil=True, cache=True, fastmath=DECIDE)
def _ksg_gram_block(x, y, xt, yt, sqx, sqy, s, e, k, variant, tie, nx, ny, rad):
    n = x.shape[0]
    joint = np.empty(n)
    best = np.empty(k)
    kth = np.empty(k)
    cdx = np.empty(n)
    cdy = np.empty(n)
    top_x = sqx.max()
    top_y = sqy.max()
    ux = 2.0**-50 * (x.shape[1] + 4)
    uy = 2.0**-50 * (y.shape[1] + 4)
    for i0 in range(s, e, GRAM_ROWS):
        i1 = min(e, i0 + GRAM_ROWS)
        gx = np.dot(x[i0:i1], xt)
        gy = np.dot(y[i0:i1], yt)
        for r in range(i1 - i0):
            i = i0 + r
            bx = gx[r]
            by = gy[r]
            ax = sqx[i]
            ay = sqy[i]
            for j in range(n):
                vx = ax + sqx[j] - 2.0 * bx[j]
                vy = ay + sqy[j] - 2.0 * by[j]
                bx[j] = vx if vx > 0.0 else 0.0
                by[j] = vy if vy > 0.0 else 0.0
            bx[i] = 0.0
            by[i] = 0.0
            nx[i], ny[i], rad[i] = _ksg_row_bounded(bx, by, i, k, variant, tie, ux * (ax + top_x), uy * (ay + top_y),
                                                    xt, yt, False, joint, best, kth, cdx, cdy)


@numba.njit(parallel=True, cache=True, fastmath=DECIDE)
def ksg_brute_cheb32(xt, yt, xt32, yt32, k, variant, tie, delta):
    """``ksg_brute`` for the Chebyshev metric with float32 distances (twice the vector lanes of
    float64) and the same counts and radii: xt32, yt32 are float32 copies of xt, yt, and ``delta``
    bounds |float32 distance - exact| for every pair (5 * 2^-24 * the largest |coordinate|: the
    rounding of the inputs and of the subtraction, valid in float32's normal range), around which
    ``_ksg_row_bounded`` decides exactly."""
    n = xt.shape[1]
    rows = 8
    nx = np.empty(n, np.int64)
    ny = np.empty(n, np.int64)
    rad = np.empty(n)
    n_blocks = (n + rows - 1) // rows
    for blk in prange(n_blocks):
        i0 = blk * rows
        i1 = min(n, i0 + rows)
        bxs = np.empty((rows, n), np.float32)
        bys = np.empty((rows, n), np.float32)
        spare = np.empty((rows, n), np.float32)
        joint = np.empty(n, np.float32)
        best = np.empty(k, np.float32)
        kth = np.empty(k)
        cdx = np.empty(n)
        cdy = np.empty(n)
        _block_dist32(xt32, i0, i1, bxs, spare)
        _block_dist32(yt32, i0, i1, bys, spare)
        for i in range(i0, i1):
            nx[i], ny[i], rad[i] = _ksg_row_bounded(bxs[i - i0], bys[i - i0], i, k, variant, tie, delta, delta,
                                                    xt, yt, True, joint, best, kth, cdx, cdy)
    return nx, ny, rad


@numba.njit(fastmath=True)
def _block_dist32(at, i0, i1, buf, spare):
    """``_block_dist`` (Chebyshev) on float32 data, compiled with full fast-math (no decisions here)."""
    _block_dist(at, i0, i1, buf, spare, True)
