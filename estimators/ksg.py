"""Kraskov–Stögbauer–Grassberger (KSG) estimator, Kraskov et al. 2004, Phys. Rev. E 69, 066138."""

from __future__ import annotations

import numpy as np
from mibench.estimators._common import resolve_device
from mibench.estimators._jitter import jitter_duplicates
from scipy.special import digamma

from mibench import DEVICE, SEED, Bool, Choice, Estimator, Float, Int, standardize, validate_xy

METRICS = ("euclidean", "chebyshev")
ALGORITHMS = ("auto", "tree", "brute")

#: relative tolerance under which two distances count as tied in the KD-tree path (see class doc)
TIE_RTOL = 1e-12
#: algorithm="auto" on CPU uses the KD-tree when d_x + d_y <= dim and N > n for one of these
#: (dim, n) pairs, the brute force otherwise (crossovers measured side by side on the 2-core
#: development machine at N = 10^4 and 3 x 10^4, both metrics, and extrapolated as N log N vs N^2)
TREE_RULES = ((2, 0), (6, 15_000), (10, 50_000))
#: euclidean brute force through Gram matrices (BLAS, ``_knn.ksg_gram``) from this joint dimension on,
#: the direct numba loops below it (measured side by side at N = 10^4: 0.97x at 8 + 8, 1.23x at 10 + 10,
#: 2.2x at 25 + 25, 3.1x at 50 + 50)
GRAM_MIN_DIM = 20
#: chebyshev brute force with float32 distances and exact decisions near every threshold
#: (``_knn.ksg_brute_cheb32``) from this joint dimension on (measured side by side at N = 10^4:
#: 0.73x at 5 + 5, 1.2-1.4x at 25 + 25, 1.3-1.45x at 50 + 50), when the data's largest |coordinate|
#: is at most CHEB32_MAX_SPREAD times its smallest standard deviation (else float32 rounding would
#: leave too many pairs to decide exactly)
CHEB32_MIN_DIM, CHEB32_MAX_SPREAD = 20, 1e3
#: elements per temporary block (bounds memory of the tree and CUDA paths)
BLOCK_ELEMENTS = 2**22


class KSG(Estimator):
    """Kraskov–Stögbauer–Grassberger k-nearest-neighbour MI estimator (variants 1 and 2).

    variant 1: I = psi(k) + psi(N) - < psi(n_x + 1) + psi(n_y + 1) >, where eps_i is the distance
    from point i to its k-th nearest neighbour in the joint space and n_x (n_y) counts the other
    points strictly closer than eps_i in the X (Y) space.
    variant 2: I = psi(k) - 1/k + psi(N) - < psi(n_x) + psi(n_y) >, where eps_x,i (eps_y,i) is the
    largest X (Y) distance among the k joint neighbours of i and n_x (n_y) counts the other points
    with X (Y) distance <= eps_x,i (eps_y,i).
    With variant 1 and standardize=true the value equals BMI's
    ``KSGEnsembleFirstEstimator(neighborhoods=(k,), metric_x=metric)`` (before its clipping at 0).

    Parameters:
        k: number of neighbours (default 5); needs N > k samples.
        metric: norm on each marginal space, ``euclidean`` or ``chebyshev``; the joint distance
            is the maximum of the two marginal distances.
        standardize: scale every column to zero mean and unit variance first (default true);
            constant columns are then rejected.
        clip: return max(0, estimate) (default false: negative values are reported as computed,
            since clipping biases the mean over seeds upwards and hides estimator noise).
        variant: 1 (default) or 2.
        device: ``auto`` (CUDA if torch sees a GPU, else CPU), ``cpu`` or ``cuda``.
        algorithm: ``auto`` (default), ``tree`` or ``brute`` (CPU only; CUDA is always brute).
        jitter: relative noise scale used only for duplicate points (below); 0 turns it off.
        seed: seed of that noise.

    Algorithms (all exact):
        * tree (CPU, auto when d_x + d_y <= 2, or <= 6 for N > 15000, or <= 10 for N > 50000):
          the nodes of a scipy cKDTree, queried by numba kernels parallel over
          all cores (estimators/_kdtree.py): the k joint neighbours under max(|dx|, |dy|) with
          an exact node bound for either norm, then n_x, n_y by counting in the marginal trees,
          where a node inside the ball counts in O(1) from its size (cKDTree's own
          ``query_ball_point`` visits every counted point, several times slower at N = 10^5).
          O(N log N) for low dimension, O(N) memory.
        * brute (CPU, otherwise): a numba kernel parallel over blocks of 8 points (distances tiled
          in L1 cache and vectorised, k smallest kept by insertion, counts in a second sweep of
          the same row), O(N^2 (d_x + d_y)) time, O(N) memory per thread, no N x N matrix; for
          euclidean with d_x + d_y > 256 (e.g. raw pixels) the distances come from matrix products (torch/BLAS) in
          blocks of rows (O(4M) elements per block) instead.
        * CUDA: torch, blocks of rows against all points (bounded memory per block), topk.

    Ties and duplicates: the tie rules are those of the paper: the k-th neighbour's own
    marginal distance equals eps and is excluded (variant 1, strict <) or included (variant 2, <=).
    In every path a distance within a relative 1e-12 of the radius counts as equal to it: the
    tree and the radius may round a euclidean distance differently, and on discretised data
    (values on a grid) nominally equal gaps differ by rounding after standardisation; without
    the tolerance such ties would fall on either side at random and change the estimate by
    O(0.1) nats, with it all paths agree. Variant 2 only: when several points tie for the k-th
    joint distance, which of them is the k-th neighbour (and so eps_x, eps_y) depends on the
    path (lowest index in brute force, tree order otherwise); this arises only with exact ties. If some point has k
    or more exact duplicates in the joint space, eps = 0 and the estimator is undefined (digamma(0),
    a point mass); then, and only then, Gaussian noise of scale jitter x column std (seeded) is
    added to all points, a RuntimeWarning is issued and ``info["jittered_points"]`` records how many
    points had a zero radius. With jitter=0 such data raise ValueError.
    """

    PARAMS = {
        "k": Int(5, "number of neighbours", min=1),
        "metric": Choice("euclidean", METRICS, "norm on each marginal space"),
        "standardize": Bool(True, "scale columns to zero mean, unit variance first"),
        "clip": Bool(False, "return max(0, estimate)"),
        "variant": Choice(1, (1, 2), "KSG variant"),
        "device": DEVICE,
        "algorithm": Choice("auto", ALGORITHMS, "k-NN search on CPU"),
        "jitter": Float(1e-10, "relative noise scale for duplicate points; 0: off", min=0, max=1e-3, max_open=True),
        "seed": SEED,
    }

    def estimate_with_info(self, x, y):
        x, y = knn_input(x, y, self.k, self.standardize, "ksg")
        device = resolve_device(self.device)
        n = len(x)
        info = {"device": device, "variant": self.variant}
        nx, ny, rad, algo = self._counts(x, y, device)
        zero = int(np.sum(rad == 0))
        if zero:
            x, y = jitter_duplicates(
                x, y, self.jitter, self.seed, stacklevel=2,
                problem=f"ksg: {zero} point(s) have {self.k} or more exact duplicates (zero k-NN radius); "
                        "KSG is undefined for such data")
            nx, ny, rad, algo = self._counts(x, y, device)
            info["jittered_points"] = zero
        info["algorithm"] = algo
        if self.variant == 1:
            mi = digamma(self.k) + digamma(n) - np.mean(digamma(nx + 1.0) + digamma(ny + 1.0))
        else:
            mi = digamma(self.k) - 1.0 / self.k + digamma(n) - np.mean(digamma(nx) + digamma(ny))
        mi = float(mi)
        return (max(0.0, mi) if self.clip else mi), info

    def _counts(self, x, y, device):
        return ksg_counts(x, y, self.k, self.metric == "chebyshev", self.variant, device, self.algorithm)


def knn_input(x, y, k: int, standardize_columns: bool, name: str):
    """Validated (at least k + 1 rows), optionally standardised, contiguous float64 (x, y)."""
    x, y = validate_xy(x, y, min_samples=k + 1, allow_constant=not standardize_columns, name=name)
    if standardize_columns:
        x, y = standardize(x), standardize(y)
    return np.ascontiguousarray(x), np.ascontiguousarray(y)


def ksg_counts(x, y, k: int, cheb: bool, variant: int, device: str, algorithm: str = "auto"):
    """KSG's neighbour statistics of every point: (n_x, n_y, joint radius, algorithm used).

    Shared by ``ksg`` and ``mixed-ksg``. x, y: contiguous float64 (n, d_x), (n, d_y); device: ``cpu``
    or ``cuda`` (resolved); radii are squared for euclidean in the brute-force path. A point with k or
    more exact duplicates has radius 0 (its counts are then meaningless and left to the caller)."""
    if device == "cuda":
        return (*_ksg_torch(x, y, k, cheb, variant, "cuda"), "cuda-brute")
    dim = x.shape[1] + y.shape[1]
    if algorithm == "auto":
        small = any(dim <= d_max and len(x) > n_min for d_max, n_min in TREE_RULES)
        algorithm = "tree" if small else "brute"
    if algorithm == "tree":
        return (*_ksg_tree(x, y, k, cheb, variant), "tree")
    if not cheb and dim >= GRAM_MIN_DIM:
        import numba
        from mibench.estimators._knn import ksg_gram

        return (*ksg_gram(x, y, k, variant, 2 * TIE_RTOL, numba.get_num_threads()), "brute-gram")
    from mibench.estimators._knn import ksg_brute, ksg_brute_cheb32

    xt, yt = np.ascontiguousarray(x.T), np.ascontiguousarray(y.T)
    if cheb and dim >= CHEB32_MIN_DIM:
        top = max(np.abs(x).max(), np.abs(y).max())
        spread = min(x.std(0).min(), y.std(0).min())
        # the rounding bound is relative: it needs float32's normal range (no subnormals, no overflow)
        if top <= CHEB32_MAX_SPREAD * spread and 1e-30 < spread and top < 1e30:
            delta = 5 * 2.0**-24 * top  # |float32 distance - exact| for every pair
            nx, ny, rad = ksg_brute_cheb32(xt, yt, xt.astype(np.float32), yt.astype(np.float32), k, variant,
                                           TIE_RTOL, delta)
            return nx, ny, rad, "brute-cheb32"
    nx, ny, rad = ksg_brute(xt, yt, k, cheb, variant, TIE_RTOL if cheb else 2 * TIE_RTOL)
    return nx, ny, rad, "brute"


def _marginal(a, rows, cols, cheb):
    """Distances between a[rows[:, None]] and a[cols] (shapes (B,), (B, m))."""
    diff = a[cols] - a[rows][:, None, :]
    if cheb:
        return np.abs(diff).max(axis=2)
    return np.sqrt(np.einsum("bmd,bmd->bm", diff, diff))


def _ksg_tree(x, y, k, cheb, variant):
    from mibench.estimators._kdtree import KDTree

    n = len(x)
    _, idx = KDTree(np.hstack([x, y])).joint_knn(k, x.shape[1], cheb)
    rows = np.arange(n)
    # marginal distances of the k joint neighbours, in blocks
    dxk = np.empty((n, k))
    dyk = np.empty((n, k))
    step = max(1, BLOCK_ELEMENTS // (k * max(x.shape[1], y.shape[1])))
    for s in range(0, n, step):
        r = rows[s : s + step]
        dxk[s : s + step] = _marginal(x, r, idx[r], cheb)
        dyk[s : s + step] = _marginal(y, r, idx[r], cheb)
    tx, ty = KDTree(x), KDTree(y)
    if variant == 1:
        rad = np.maximum(dxk, dyk).max(axis=1)
        r_in = rad * (1 - TIE_RTOL)
        nx = tx.count_within(r_in, cheb) - 1
        ny = ty.count_within(r_in, cheb) - 1
    else:
        ex, ey = dxk.max(axis=1), dyk.max(axis=1)
        rad = np.maximum(ex, ey)
        nx = tx.count_within(ex * (1 + TIE_RTOL), cheb) - 1
        ny = ty.count_within(ey * (1 + TIE_RTOL), cheb) - 1
    # a zero radius (duplicates) must not be counted as "self only": report it as such
    nx = np.where(rad == 0, 0, nx)
    ny = np.where(rad == 0, 0, ny)
    return nx.astype(np.int64), ny.astype(np.int64), rad


def _ksg_torch(x, y, k, cheb, variant, device):
    """Blocked brute force with torch (CPU or CUDA): rows of distances against all points.

    Euclidean distances are squared distances from matrix products, |a|^2 + |b|^2 - 2 a.b (as
    scikit-learn and therefore BMI compute them), with the diagonal set to exactly 0."""
    import torch

    tx = torch.as_tensor(x, device=device)
    ty = torch.as_tensor(y, device=device)
    n = len(x)
    tie = TIE_RTOL if cheb else 2 * TIE_RTOL
    sqx = (tx * tx).sum(1)
    sqy = (ty * ty).sum(1)
    nx = torch.empty(n, dtype=torch.int64, device=device)
    ny = torch.empty_like(nx)
    rad = torch.empty(n, dtype=tx.dtype, device=device)
    step = max(1, BLOCK_ELEMENTS // n)

    def dist(t, sq, s, e):
        if cheb:
            return torch.cdist(t[s:e], t, p=float("inf"))
        d = torch.addmm(sq[s:e, None] + sq[None, :], t[s:e], t.T, alpha=-2.0)
        return d.clamp_min_(0.0)

    for s in range(0, n, step):
        e = min(n, s + step)
        r = torch.arange(e - s, device=device)
        dx = dist(tx, sqx, s, e)
        dy = dist(ty, sqy, s, e)
        dx[r, r + s] = 0.0
        dy[r, r + s] = 0.0
        joint = torch.maximum(dx, dy)
        joint[r, r + s] = -1.0  # self is always the first of the k + 1 smallest
        vals, inds = torch.topk(joint, k + 1, dim=1, largest=False, sorted=True)
        del joint
        if variant == 1:
            eps = vals[:, k : k + 1]
            nx[s:e] = (dx < eps * (1 - tie)).sum(1) - 1
            ny[s:e] = (dy < eps * (1 - tie)).sum(1) - 1
            rad[s:e] = eps[:, 0]
        else:
            nb = inds[:, 1:]
            ex = dx.gather(1, nb).amax(1, keepdim=True)
            ey = dy.gather(1, nb).amax(1, keepdim=True)
            nx[s:e] = (dx <= ex * (1 + tie)).sum(1) - 1
            ny[s:e] = (dy <= ey * (1 + tie)).sum(1) - 1
            rad[s:e] = torch.maximum(ex, ey)[:, 0]
    return nx.cpu().numpy(), ny.cpu().numpy(), rad.cpu().numpy()
