"""Correlated Gaussian pairs as a picklable sampler (staircase tasks, the streaming staircase)."""

from __future__ import annotations

import numpy as np

from mibench.core.reference import correlated_pairs, pairs_mi

#: the staircase of the literature (Poole et al. 2019; Song & Ermon 2020): 20 pairs, MI 2..10 nats
STAIRCASE_DIM = 20
STAIRCASE_LEVELS = (2.0, 4.0, 6.0, 8.0, 10.0)


class CorrelatedPairsSampler:
    """X ~ N(0, I_d), Y = rho X + sqrt(1 - rho^2) E, optionally Y -> Y^3 (injective, same MI)."""

    def __init__(self, rho: float, dim: int, cubic: bool = False) -> None:
        correlated_pairs(1, rho, dim, np.random.default_rng(0))  # validates rho and dim now
        self.rho, self.dim, self.cubic = rho, dim, cubic

    @property
    def mutual_information(self) -> float:
        return pairs_mi(self.rho, self.dim)

    def __call__(self, n: int, rng: np.random.Generator):
        x, y = correlated_pairs(n, self.rho, self.dim, rng)
        return x, (y**3 if self.cubic else y)
