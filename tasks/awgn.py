"""Additive white Gaussian noise channels (the noise-injection channel of noise-injected Deep
InfoMax; Cover & Thomas, ch. 9): Y = X + sigma Z, Z ~ N(0, I_d), X standard normal or uniform
on [-1, 1]^d, coordinates independent.

Truth (nats): Gaussian input, d/2 log(1 + 1/sigma^2) (closed form). Uniform input,
d (h(X1 + sigma Z1) - h(sigma Z1)) with the 1-D entropy of the (smoothed box) density of
X1 + sigma Z1 by adaptive quadrature (scipy.integrate.quad, tolerance 1e-12, ~1e-9 overall).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate
from scipy.optimize import brentq
from scipy.special import log_ndtr

from mibench import MibenchError, Task

INPUTS = ("gaussian", "uniform")
DIMS = (1, 4, 16)
TARGETS = (0.1, 0.5, 2.0, 5.0, 10.0)  # approximate MI levels (nats) of the suite


class AWGNSampler:
    def __init__(self, input: str, dim: int, sigma: float) -> None:
        self.input, self.dim, self.sigma = input, dim, float(sigma)

    def __call__(self, n: int, rng: np.random.Generator):
        if self.input == "gaussian":
            x = rng.standard_normal((n, self.dim))
        else:
            x = rng.uniform(-1.0, 1.0, (n, self.dim))
        return x, x + self.sigma * rng.standard_normal((n, self.dim))


def uniform_noisy_logpdf(y: np.ndarray, sigma: float) -> np.ndarray:
    """log density of U(-1, 1) + sigma N(0, 1) at y: log[(Phi((y+1)/s) - Phi((y-1)/s)) / 2], stably.

    The density is symmetric, so it is evaluated at -|y| where Phi((y+1)/s) dominates.
    """
    y = -np.abs(np.asarray(y, dtype=float))
    la, lb = log_ndtr((y + 1) / sigma), log_ndtr((y - 1) / sigma)
    return la + np.log1p(-np.exp(lb - la)) - math.log(2.0)


def _entropy_uniform_plus_noise(sigma: float) -> float:
    """h(U(-1, 1) + sigma N(0, 1)) by adaptive quadrature over y <= 0 (symmetry), split at the edge."""
    f = lambda t: -math.exp(uniform_noisy_logpdf(t, sigma)) * float(uniform_noisy_logpdf(t, sigma))  # noqa: E731
    w = 40.0 * sigma  # beyond 40 sigma from the edge the tail mass is < 1e-300
    pieces = []
    edges = sorted({-1.0 - w, -1.0 - min(w, 1.0) / 8, -1.0, -1.0 + min(w, 1.0) / 8, min(-1.0 + w, 0.0)})
    for a, b in zip(edges[:-1], edges[1:]):
        if b > a:
            pieces.append(integrate.quad(f, a, b, epsabs=1e-13, epsrel=1e-12, limit=500)[0])
    if -1.0 + w < 0.0:  # flat part: density 1/2 to double precision
        pieces.append((0.0 - (-1.0 + w)) * 0.5 * math.log(2.0))
    return 2.0 * math.fsum(pieces)


def awgn_mi(input: str, dim: int, sigma: float) -> float:
    """I(X; X + sigma Z) in nats for d independent coordinates."""
    _check(input, dim, sigma)
    if input == "gaussian":
        return 0.5 * dim * math.log1p(1.0 / sigma**2)
    h_noise = 0.5 * math.log(2 * math.pi * math.e * sigma**2)
    return max(0.0, dim * (_entropy_uniform_plus_noise(sigma) - h_noise))


def sigma_for_mi(input: str, dim: int, mi: float) -> float:
    """The sigma giving mutual information ``mi`` (root of awgn_mi; closed form for Gaussian input)."""
    if not mi > 0:
        raise MibenchError(f"target mutual information must be > 0, got {mi}")
    _check(input, dim, 1.0)
    if input == "gaussian":
        return 1.0 / math.sqrt(math.expm1(2.0 * mi / dim))
    g = lambda ls: awgn_mi(input, dim, math.exp(ls)) - mi  # noqa: E731
    return math.exp(brentq(g, -30.0, 10.0, xtol=1e-12))


def awgn_task(input: str, dim: int, sigma: float) -> Task:
    mi = awgn_mi(input, dim, sigma)
    return Task(f"awgn-{input}-{dim}-{sigma:.4g}", family=f"awgn-{input}", sampler=AWGNSampler(input, dim, sigma),
                mutual_information=mi, dim_x=dim, dim_y=dim,
                name=f"AWGN, {input} input, d={dim}, sigma={sigma:.4g}",
                params={"input": input, "dim": dim, "sigma": sigma})


def _suite_sigma(input: str, dim: int, target: float) -> float:
    return float(f"{sigma_for_mi(input, dim, target):.3g}")  # 3 significant digits: stable, readable ids


def awgn_suite() -> list[Task]:
    """Suite ``awgn``: Gaussian and uniform inputs, d in {1, 4, 16}, sigma for MI ~ 0.1 ... 10 nats."""
    return [awgn_task(inp, d, SIGMAS[(inp, d, t)]) for inp in INPUTS for d in DIMS for t in TARGETS]


def _check(input: str, dim: int, sigma: float) -> None:
    if input not in INPUTS:
        raise MibenchError(f"AWGN input must be one of {INPUTS}, got {input!r}")
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
        raise MibenchError(f"dimension must be an integer >= 1, got {dim!r}")
    if not (isinstance(sigma, (int, float, np.floating)) and math.isfinite(sigma) and sigma > 0):
        raise MibenchError(f"noise scale sigma must be a finite number > 0, got {sigma!r}")


# sigma per (input, dim, target MI), rounded to 3 significant digits by _suite_sigma (stored so that
# loading the suite needs no root finding; tests/test_tasks_awgn.py checks they are reproduced).
SIGMAS: dict[tuple[str, int, float], float] = {
    ('gaussian', 1, 0.1): 2.13, ('gaussian', 1, 0.5): 0.763, ('gaussian', 1, 2.0): 0.137,
    ('gaussian', 1, 5.0): 0.00674, ('gaussian', 1, 10.0): 4.54e-05, ('gaussian', 4, 0.1): 4.42,
    ('gaussian', 4, 0.5): 1.88, ('gaussian', 4, 2.0): 0.763, ('gaussian', 4, 5.0): 0.299,
    ('gaussian', 4, 10.0): 0.0824, ('gaussian', 16, 0.1): 8.92, ('gaussian', 16, 0.5): 3.94,
    ('gaussian', 16, 2.0): 1.88, ('gaussian', 16, 5.0): 1.07, ('gaussian', 16, 10.0): 0.634,
    ('uniform', 1, 0.1): 1.23, ('uniform', 1, 0.5): 0.435, ('uniform', 1, 2.0): 0.0698,
    ('uniform', 1, 5.0): 0.00327, ('uniform', 1, 10.0): 2.2e-05, ('uniform', 4, 0.1): 2.55,
    ('uniform', 4, 0.5): 1.08, ('uniform', 4, 2.0): 0.435, ('uniform', 4, 5.0): 0.16, ('uniform', 4, 10.0): 0.0412,
    ('uniform', 16, 0.1): 5.15, ('uniform', 16, 0.5): 2.27, ('uniform', 16, 2.0): 1.08,
    ('uniform', 16, 5.0): 0.617, ('uniform', 16, 10.0): 0.358,
}
