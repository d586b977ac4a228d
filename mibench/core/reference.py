"""The reference distribution with closed-form MI: d independent standard bivariate normal pairs.

X ~ N(0, I_d), Y = rho X + sqrt(1 - rho^2) E with E ~ N(0, I_d) independent of X, so
I(X; Y) = -d/2 log(1 - rho^2) nats. It is the one construction behind ``check_estimator``'s data,
the public ``mibench.samplers.CorrelatedPairsSampler`` (staircase tasks, streaming staircase) and
the latents of the image tasks, so all of them draw bit-identical pairs for the same generator.
"""

from __future__ import annotations

import math

import numpy as np

from mibench.core.errors import MibenchError


def rho_for_mi(mi: float, dim: int) -> float:
    """The correlation rho with -dim/2 log(1 - rho^2) = mi (MI split evenly over dim pairs)."""
    if not mi >= 0 or not math.isfinite(mi):
        raise MibenchError(f"mutual information must be finite and >= 0, got {mi}")
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise MibenchError(f"dimension must be an integer >= 1, got {dim!r}")
    return math.sqrt(-math.expm1(-2.0 * mi / dim))


def pairs_mi(rho: float, dim: int) -> float:
    """I(X; Y) in nats of dim independent pairs with correlation rho."""
    return -0.5 * dim * math.log1p(-(rho**2))


def correlated_pairs(n: int, rho: float, dim: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n draws of (X, Y), each (n, dim): X first, then the noise, from ``rng``."""
    if not -1 < rho < 1:
        raise MibenchError(f"correlation must lie in (-1, 1), got {rho}")
    x = rng.standard_normal((n, dim))
    y = rho * x + math.sqrt(1.0 - rho**2) * rng.standard_normal((n, dim))
    return x, y
