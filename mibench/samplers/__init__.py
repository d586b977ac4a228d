"""Reusable public samplers: picklable ``sampler(n, rng) -> (x, y)`` building blocks for tasks.

Tasks (built-in or third-party) build on these instead of importing each other's private helpers.
"""

from mibench.core.reference import correlated_pairs, pairs_mi, rho_for_mi
from mibench.samplers.images import ImageSampler
from mibench.samplers.pairs import STAIRCASE_DIM, STAIRCASE_LEVELS, CorrelatedPairsSampler

__all__ = [
    "STAIRCASE_DIM", "STAIRCASE_LEVELS", "CorrelatedPairsSampler", "ImageSampler", "correlated_pairs", "pairs_mi",
    "rho_for_mi",
]
