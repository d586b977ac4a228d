"""Suite ``sweeps``: BMI's dense multinormal (every correlation equal) at d x d for d in {1, 5, 25}, its
correlation chosen so that the MI is exactly each of ``LEVELS`` (0 to 10 nats), plain and pushed through
BMI's half-cube and spiral maps (spiral needs d >= 3): the estimate-vs-truth curves, and with a list of
sample sizes in the preset, the error-vs-N curves.

For the dense d x d correlation matrix with off-diagonal rho, I = 1/2 [-log(1 - rho)
+ 2 log(1 + (d - 1) rho) - log(1 + (2d - 1) rho)] (eigenvalues 1 - rho and 1 + (m - 1) rho of an m x m
block), increasing in rho; ``dense_correlation_for`` inverts it in t = -log(1 - rho), which stays well
conditioned up to 10 nats (1 - rho ~ 1e-8 at d = 25). The task's truth is the log-determinant formula of
``tasks/gaussian.py``; the test checks it against this closed form and against Monte Carlo.
"""

from __future__ import annotations

import math

from scipy.optimize import brentq

from mibench import MibenchError, Task

from .bmi import half_cube_task, spiral_task
from .gaussian import dense_covariance, normal_task

DIMS = (1, 5, 25)
LEVELS = (0.0, 1.0, 2.0, 4.0, 6.0, 8.0, 10.0)  #: nats
#: transforms of the base, by prefix (spiral: only where BMI's spiral applies, d >= 3)
TRANSFORMS = ("identity", "half_cube", "spiral")


MAX_MI = 15.0  #: beyond it 1 - rho falls below ~1e-13 at d = 1 and the covariance is singular in float64


def dense_mi_at(d: int, t: float) -> float:
    """MI (nats) of BMI's dense d x d multinormal with off-diagonal correlation rho = 1 - exp(-t)."""
    rho = -math.expm1(-t)
    return 0.5 * (t + 2 * math.log1p((d - 1) * rho) - math.log1p((2 * d - 1) * rho))


def dense_correlation_for(d: int, mi: float) -> float:
    """The off-diagonal correlation at which the dense d x d multinormal carries ``mi`` nats."""
    if not (isinstance(d, int) and d >= 1):
        raise MibenchError(f"dimension must be a positive integer, got {d!r}")
    if not (math.isfinite(mi) and 0 <= mi <= MAX_MI):
        raise MibenchError(f"MI must lie in [0, {MAX_MI:g}] nats, got {mi!r}")
    if mi == 0:
        return 0.0
    t = brentq(lambda t: dense_mi_at(d, t) - mi, 0.0, 2 * MAX_MI + 5, xtol=1e-14, rtol=1e-15)
    return -math.expm1(-t)


def dense_at(d: int, mi: float) -> Task:
    rho = dense_correlation_for(d, mi)
    return normal_task(f"sweep-dense-{d}-{mi:g}", dense_covariance(d, d, rho), d,
                       name=f"Dense multinormal {d} x {d} at {mi:g} nats", family="sweep-dense",
                       params={"off_diag": rho, "target_mi": mi, "dim": d})


def sweeps_suite() -> list[Task]:
    tasks = []
    for d in DIMS:
        for mi in LEVELS:
            base = dense_at(d, mi)
            tasks += [base, half_cube_task(base)]
            if d >= 3:
                tasks.append(spiral_task(base))
    return tasks
