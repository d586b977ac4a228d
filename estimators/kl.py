"""Kozachenko–Leonenko entropy estimators combined into MI: plain (``kl``) and weighted (``wkl``)."""

from __future__ import annotations

import math

import numpy as np
from mibench.estimators._jitter import jitter_duplicates
from scipy.spatial import cKDTree
from scipy.special import digamma, gammaln

from mibench import SEED, Bool, Choice, Estimator, Float, Int, standardize, validate_xy

METRICS = ("euclidean", "chebyshev")
#: KD-trees up to this dimension, numba brute force (partial distance search) above
TREE_MAX_DIM = 12


def knn_distances(a: np.ndarray, k: int, metric: str) -> np.ndarray:
    """(N, k) distances from each row to its 1st..k-th nearest other rows (exact)."""
    cheb = metric == "chebyshev"
    if a.shape[1] <= TREE_MAX_DIM:
        dist, _ = cKDTree(a).query(a, k=k + 1, p=np.inf if cheb else 2.0, workers=-1)
        return dist[:, 1:]  # the point itself is at distance 0, always first in sorted distances
    from mibench.estimators._knn import kth_neighbour_brute

    d = kth_neighbour_brute(np.ascontiguousarray(a), k, cheb)
    return d if cheb else np.sqrt(d)


def log_unit_ball(d: int, metric: str) -> float:
    """log volume of the unit ball of the metric in R^d."""
    if metric == "chebyshev":
        return d * math.log(2.0)
    return 0.5 * d * math.log(math.pi) - gammaln(0.5 * d + 1)


class _KLBase(Estimator):
    name = "kl"
    PARAMS = {
        "k": Int(5, "number of neighbours", min=1),
        "metric": Choice("euclidean", METRICS, "norm"),
        "standardize": Bool(True, "scale columns to zero mean, unit variance first"),
        "jitter": Float(1e-10, "relative noise scale for duplicate points; 0: off", min=0, max=1e-3, max_open=True),
        "seed": SEED,
    }

    def _prepare(self, x, y, min_samples):
        x, y = validate_xy(x, y, min_samples=min_samples, allow_constant=not self.standardize, name=self.name)
        if self.standardize:
            x, y = standardize(x), standardize(y)
        return x, y

    def _distances(self, x, y, k, first):
        """k-NN distances of x, y and (x, y); seeded jitter of x and y if a used (j >= first) distance is 0."""
        blocks = [x, y, np.hstack([x, y])]
        dists = [knn_distances(a, k, self.metric) for a in blocks]
        zero = max(int(np.sum(d[:, first - 1] == 0)) for d in dists)
        info = {}
        if zero:
            x, y = jitter_duplicates(
                x, y, self.jitter, self.seed, stacklevel=3,
                problem=f"{self.name}: {zero} point(s) have {first} or more exact duplicates (zero neighbour "
                        "distance, log 0)")
            blocks = [x, y, np.hstack([x, y])]
            dists = [knn_distances(a, k, self.metric) for a in blocks]
            info["jittered_points"] = zero
        return dists, info


    def entropy(self, a) -> float:
        """Differential entropy H(A) of a sample (n, d) in nats, by the same k-NN rule as the MI.

        For quantities built from entropies, such as I(L; Y) = H(L) - sum_y p(y) H(L | Y = y) for a
        discrete label (the information-plane experiment). ``standardize`` is undone (the log
        standard deviations are added back), so entropies of different subsets are comparable;
        duplicate points follow the same jitter rule as ``estimate``.
        """
        a, _ = validate_xy(a, a, min_samples=2, allow_constant=not self.standardize, name=self.name)
        shift = 0.0
        if self.standardize:
            shift = float(np.sum(np.log(a.std(axis=0))))
            a = standardize(a)
        k = self._neighbours(a.shape[1])
        if len(a) <= k:
            raise ValueError(f"{self.name}: entropy needs more than {k} samples, got {len(a)}")
        d = knn_distances(a, k, self.metric)
        if np.any(d[:, self._first_used(k) - 1] == 0):
            a, _ = jitter_duplicates(a, a[:, :1], self.jitter, self.seed, stacklevel=2,
                                     problem=f"{self.name}: points with zero neighbour distance (log 0)")
            d = knn_distances(a, k, self.metric)
        return self._entropy(a.shape[1], len(a), d) + shift


class KozachenkoLeonenko(_KLBase):
    """I = H(X) + H(Y) - H(X, Y), each entropy by Kozachenko–Leonenko (Kraskov et al. 2004, eq. 20).

    H(A) = psi(N) - psi(k) + log V_d + (d / N) sum_i log rho_i, rho_i the distance from a_i to its
    k-th nearest neighbour in A (dimension d), V_d the volume of the unit ball of the metric.
    Unlike KSG the three k-NN radii are chosen independently, so their biases do not cancel as
    well; KSG is usually better, this is the classical baseline.

    Parameters:
        k: neighbour order (default 5); needs N > k.
        metric: ``euclidean`` (default) or ``chebyshev``.
        standardize: scale columns to zero mean, unit variance first (default true; MI is invariant
            under it, the k-NN geometry is not); constant columns are then rejected.
        jitter, seed: duplicate points (zero distances, log 0) get seeded Gaussian noise of scale
            jitter x column std, with a RuntimeWarning and ``info["jittered_points"]``; jitter=0
            raises ValueError instead.

    Cost: KD-trees (parallel queries) up to dimension 12, O(N log N); above, exact brute force
    (numba, partial distance search), O(N^2 d) worst case; O(N k) memory.
    """

    name = "kl"

    def estimate_with_info(self, x, y):
        x, y = self._prepare(x, y, self.k + 1)
        n = len(x)
        dists, info = self._distances(x, y, self.k, self.k)
        h = [self._entropy(dim, n, d) for dim, d in zip((x.shape[1], y.shape[1], x.shape[1] + y.shape[1]), dists)]
        info.update({"h_x": float(h[0]), "h_y": float(h[1]), "h_xy": float(h[2])})
        return float(h[0] + h[1] - h[2]), info

    def _neighbours(self, dim: int) -> int:
        return self.k

    def _first_used(self, k: int) -> int:
        return k

    def _entropy(self, dim: int, n: int, d: np.ndarray) -> float:
        """KL entropy of a block of dimension ``dim`` from its (n, k) neighbour distances."""
        return float(digamma(n) - digamma(self.k) + log_unit_ball(dim, self.metric) + dim * np.mean(np.log(d[:, -1])))


def wkl_weights(d: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Support J and weights of Berrett, Samworth & Yuan (2019, Ann. Statist. 47(1), eq. 3).

    Constraints: sum_j w_j = 1; sum_j w_j Gamma(j + 2l/d) / Gamma(j) = 0 for l = 1..floor(d/4);
    w_j = 0 outside J = {floor(k/d), floor(2k/d), ..., k} minus 0. Among the solutions the one of
    minimum Euclidean norm (smallest variance inflation) is returned; for d < 4 that is the plain
    estimator w = e_k (the constraints are only sum w = 1, and e_k is what the paper uses there).
    """
    n_l = d // 4
    if n_l == 0:
        return np.array([k]), np.array([1.0])
    support = np.unique(np.array([(k * i) // d for i in range(1, d + 1)]))
    support = support[support >= 1]
    if support.size < n_l + 1:
        raise ValueError(f"wkl: k={k} is too small for dimension {d}: need k >= {d}")
    a = np.ones((n_l + 1, support.size))
    for l_ in range(1, n_l + 1):
        a[l_] = np.exp(gammaln(support + 2.0 * l_ / d) - gammaln(support))
    b = np.zeros(n_l + 1)
    b[0] = 1.0
    w = np.linalg.lstsq(a, b, rcond=None)[0]
    return support, w


class WeightedKozachenkoLeonenko(_KLBase):
    """I = H_w(X) + H_w(Y) - H_w(X, Y) with the weighted Kozachenko–Leonenko entropy estimator.

    Berrett, Samworth & Yuan (2019), "Efficient multivariate entropy estimation via k-nearest
    neighbour distances", Ann. Statist. 47(1): H_w = (1/N) sum_i sum_j w_j log xi_(j),i with
    xi_(j),i = exp(-psi(j)) V_d (N - 1) rho_(j),i^d, rho_(j),i the distance to the j-th neighbour.
    The weights (see ``wkl_weights``) cancel the leading bias terms, which makes the estimator
    efficient up to dimension d <= 3 unweighted and beyond with weights; it is the low-dimensional
    baseline of the normalizing-flow MI paper (Butakov et al., 2024, "MIENF").

    Parameters:
        k: largest neighbour order (default 5). Each entropy of dimension d >= 4 uses
            max(k, d) so that the weight constraints are solvable.
        metric, standardize, jitter, seed: as for ``kl``.

    Low dimension only: d_x + d_y must be at most ``MAX_DIM`` (12). Beyond that the bias-cancelling
    weights grow so large that the estimate is dominated by rounding (|estimate| of 10^7-10^8 nats
    was observed at d_x = d_y = 20 and 25; d_x + d_y = 10 was accurate), so larger inputs are
    rejected with a ValueError instead of returning a meaningless number.

    Cost: as ``kl`` (one k-NN query per block), O(N k) memory. Extra information: the weights.
    """

    name = "wkl"
    MAX_DIM = 12

    def estimate_with_info(self, x, y):
        blocks_dims = [np.shape(x)[1:], np.shape(y)[1:]]
        kmax = self.k
        if all(len(s) == 1 for s in blocks_dims):
            dtot = blocks_dims[0][0] + blocks_dims[1][0]
            if dtot > self.MAX_DIM:
                raise ValueError(f"wkl: total dimension d_x + d_y = {dtot} is above its limit of {self.MAX_DIM} "
                                 "(the weighted estimator is numerically unstable in high dimension; use kl or ksg)")
            kmax = max(self.k, dtot) if dtot >= 4 else self.k
        x, y = self._prepare(x, y, kmax + 1)
        n = len(x)
        dists, info = self._distances(x, y, kmax, 1)
        h = []
        for label, dim, d in zip(("x", "y", "xy"), (x.shape[1], y.shape[1], x.shape[1] + y.shape[1]), dists):
            h.append(self._entropy(dim, n, d))
            support, w = wkl_weights(dim, self._neighbours(dim))
            info[f"weights_{label}"] = dict(zip(support.tolist(), w.tolist()))
        info.update({"h_x": h[0], "h_y": h[1], "h_xy": h[2]})
        return h[0] + h[1] - h[2], info

    def entropy(self, a) -> float:
        dim = np.shape(a)[1] if np.ndim(a) == 2 else None
        if dim is not None and dim > self.MAX_DIM:
            raise ValueError(f"wkl: dimension {dim} is above its limit of {self.MAX_DIM} (the weighted estimator "
                             "is numerically unstable in high dimension; use kl)")
        return super().entropy(a)

    entropy.__doc__ = _KLBase.entropy.__doc__

    def _neighbours(self, dim: int) -> int:
        return max(self.k, dim) if dim >= 4 else self.k

    def _first_used(self, k: int) -> int:
        return 1

    def _entropy(self, dim: int, n: int, d: np.ndarray) -> float:
        """Weighted KL entropy of a block of dimension ``dim`` from its neighbour distances (n, >= k_eff)."""
        support, w = wkl_weights(dim, self._neighbours(dim))
        logxi = (-digamma(support)[None, :] + log_unit_ball(dim, self.metric) + math.log(n - 1)
                 + dim * np.log(d[:, support - 1]))
        return float(np.mean(logxi @ w))
