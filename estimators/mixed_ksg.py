"""Mixed KSG: the KSG estimator extended to discrete-continuous mixtures (Gao, Kannan, Oh & Viswanath,
"Estimating Mutual Information for Discrete-Continuous Mixtures", NeurIPS 2017)."""

from __future__ import annotations

import math

import numpy as np
from mibench.estimators.ksg import KSG, knn_input, ksg_counts, resolve_device
from scipy.special import digamma

from mibench import Estimator


class MixedKSG(Estimator):
    """Mixed-KSG k-nearest-neighbour MI estimator for data with atoms (ties, point masses), in nats.

    For each point i let rho_i be the distance to its k-th nearest neighbour in the joint space
    (max of the two marginal distances, as in KSG). Then, as in the authors' reference code
    (github.com/wgao9/mixed_KSG):

    * rho_i > 0: xi_i = psi(k) + log N - psi(n_x,i + 1) - psi(n_y,i + 1), n_x,i (n_y,i) the other
      points strictly closer than rho_i in X (Y): KSG variant 1 with log N in place of psi(N);
    * rho_i = 0 (point i has k or more exact copies in the joint space, an atom): the radius
      collapses and the counts become the numbers of exact copies of the point, itself included, in
      the joint space (k~_i), in X (m_x,i) and in Y (m_y,i): xi_i = psi(k~_i) + log N - psi(m_x,i) -
      psi(m_y,i), a plug-in estimate of the pointwise MI on the atom;

    and the estimate is the mean of xi_i. On purely discrete data this is the plug-in estimator (up to
    digamma corrections), on continuous data KSG (within 1/(2N) nats), and it is consistent on
    mixtures (Gao et al., Theorem 2). No noise is ever added: atoms are handled exactly.

    Parameters:
        k: neighbours (default 5).
        metric: marginal norm, ``chebyshev`` (default, as in the paper's code) or ``euclidean``.
        standardize: scale columns to unit variance first (default true; equal values stay equal, so
            atoms are preserved); constant columns are then rejected.
        clip: return max(0, estimate) (default false, as ``ksg``).
        device, algorithm: the neighbour search of ``ksg`` (``auto``, ``cpu``, ``cuda``; ``auto``,
            ``tree``, ``brute``), shared code.

    ``info``: ``atom_points`` (how many points had rho_i = 0), ``algorithm``, ``device``.
    Cost: that of ``ksg`` plus O(N log N) for the exact-copy counts (sorting rows).
    """

    def __init__(self, k: int = 5, metric: str = "chebyshev", standardize: bool = True, clip: bool = False,
                 device: str = "auto", algorithm: str = "auto") -> None:
        # the shared parameters are checked by KSG's rules (same names, same messages)
        KSG(k=k, metric=metric, standardize=standardize, clip=clip, device=device, algorithm=algorithm)
        self.k, self.metric, self.standardize, self.clip = k, metric, standardize, clip
        self.device, self.algorithm = device, algorithm

    def estimate_with_info(self, x, y):
        x, y = knn_input(x, y, self.k, self.standardize, "mixed-ksg")
        device = resolve_device(self.device)
        n = len(x)
        nx, ny, rad, algo = ksg_counts(x, y, self.k, self.metric == "chebyshev", 1, device, self.algorithm)
        k_eff = np.full(n, float(self.k))
        mx, my = nx + 1.0, ny + 1.0
        atom = rad == 0
        if atom.any():
            k_eff[atom] = copies(np.hstack([x, y]))[atom]
            mx[atom] = copies(x)[atom]
            my[atom] = copies(y)[atom]
        mi = float(np.mean(digamma(k_eff) - digamma(mx) - digamma(my)) + math.log(n))
        info = {"device": device, "algorithm": algo, "atom_points": int(atom.sum())}
        return (max(0.0, mi) if self.clip else mi), info


def copies(a: np.ndarray) -> np.ndarray:
    """For every row of a: how many rows are exactly equal to it, itself included."""
    _, inverse, counts = np.unique(a, axis=0, return_inverse=True, return_counts=True)
    return counts[inverse.ravel()].astype(float)
