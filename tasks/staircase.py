"""Staircase tasks (Poole et al. 2019; Song & Ermon 2020): d Gaussian pairs with equal correlation.

rho = sqrt(1 - exp(-2 I / d)) gives I(X; Y) = -d/2 log(1 - rho^2) = I nats. The ``cubic``
variant applies y -> y^3 (injective and smooth, so the truth is unchanged).
The schedule (true MI per training step) drives the streaming experiment of the neural estimators.
"""

from __future__ import annotations

import math

import numpy as np

from mibench import MibenchError, Task

LEVELS = (2.0, 4.0, 6.0, 8.0, 10.0)
DIM = 20


def rho_for_mi(mi: float, dim: int) -> float:
    if mi < 0:
        raise MibenchError(f"mutual information must be >= 0, got {mi}")
    if dim < 1:
        raise MibenchError(f"dimension must be >= 1, got {dim}")
    return math.sqrt(1.0 - math.exp(-2.0 * mi / dim))


class CorrelatedPairsSampler:
    """X ~ N(0, I_d), Y = rho X + sqrt(1 - rho^2) E, optionally Y -> Y^3."""

    def __init__(self, rho: float, dim: int, cubic: bool = False) -> None:
        if not -1 < rho < 1:
            raise MibenchError(f"correlation must lie in (-1, 1), got {rho}")
        self.rho, self.dim, self.cubic = rho, dim, cubic

    def __call__(self, n: int, rng: np.random.Generator):
        x = rng.standard_normal((n, self.dim))
        y = self.rho * x + math.sqrt(1 - self.rho**2) * rng.standard_normal((n, self.dim))
        return x, (y**3 if self.cubic else y)


def staircase_task(mi: float, dim: int = DIM, cubic: bool = False) -> Task:
    rho = rho_for_mi(mi, dim)
    kind = "staircase-cubic" if cubic else "staircase"
    return Task(
        f"{kind}-{dim}-{float(mi)}", family=kind, sampler=CorrelatedPairsSampler(rho, dim, cubic),
        mutual_information=-0.5 * dim * math.log1p(-(rho**2)), dim_x=dim, dim_y=dim,
        name=f"Staircase{' (cubic)' if cubic else ''} {dim} pairs, I={mi}",
        params={"mi": float(mi), "dim": dim, "rho": rho, "cubic": cubic},
    )


def staircase_schedule(levels=LEVELS, steps_per_level: int = 4000) -> np.ndarray:
    """True MI (nats) at each training step: each level held for ``steps_per_level`` steps."""
    if steps_per_level < 1:
        raise MibenchError(f"steps_per_level must be >= 1, got {steps_per_level}")
    return np.repeat(np.asarray(levels, dtype=float), steps_per_level)


def staircase_suite() -> list[Task]:
    """Suite ``staircase``: I in {2, 4, 6, 8, 10} nats, plain and cubic."""
    return [staircase_task(mi, DIM, cubic) for cubic in (False, True) for mi in LEVELS]
