"""Staircase tasks (Poole et al. 2019; Song & Ermon 2020): d Gaussian pairs with equal correlation.

rho = sqrt(1 - exp(-2 I / d)) gives I(X; Y) = -d/2 log(1 - rho^2) = I nats. The ``cubic``
variant applies y -> y^3 (injective and smooth, so the truth is unchanged).
The streaming experiment of the neural estimators (``mibench.experiments.staircase``) uses the
same pairs and levels.
"""

from __future__ import annotations

from mibench import Task
from mibench.samplers import STAIRCASE_DIM as DIM
from mibench.samplers import STAIRCASE_LEVELS as LEVELS
from mibench.samplers import CorrelatedPairsSampler, rho_for_mi


def staircase_task(mi: float, dim: int = DIM, cubic: bool = False) -> Task:
    rho = rho_for_mi(mi, dim)
    kind = "staircase-cubic" if cubic else "staircase"
    sampler = CorrelatedPairsSampler(rho, dim, cubic)
    return Task(
        f"{kind}-{dim}-{float(mi)}", family=kind, sampler=sampler,
        mutual_information=sampler.mutual_information, dim_x=dim, dim_y=dim,
        name=f"Staircase{' (cubic)' if cubic else ''} {dim} pairs, I={mi}",
        params={"mi": float(mi), "dim": dim, "rho": rho, "cubic": cubic},
    )


def staircase_suite() -> list[Task]:
    """Suite ``staircase``: I in {2, 4, 6, 8, 10} nats, plain and cubic."""
    return [staircase_task(mi, DIM, cubic) for cubic in (False, True) for mi in LEVELS]
