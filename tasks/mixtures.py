"""Gaussian-mixture ("fine distribution") tasks of BMI (Czyz et al., "The Mixtures and the Neural
Critics", NeurIPS 2023; ``bmi.benchmark.tasks.mixtures``): X, AI, waves, galaxy, concentric
multinormals and sparse multinormals with inliers.

The joint law is a Gaussian mixture, so p(x, y), p(x) and p(y) are mixtures with closed-form
densities (computed here with NumPy/SciPy). The truth is the Monte-Carlo mean of the pointwise
MI log p(x, y) - log p(x) - log p(y) over 10^6 or 4 * 10^6 draws with a fixed seed; it is stored below
with its standard error (``tools/mixture_truths.py`` regenerates the table). Waves and galaxy
apply an injective smooth map to X afterwards, which leaves the MI unchanged.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import solve_triangular
from scipy.special import logsumexp

from mibench import MibenchError, Task

from .gaussian import _cholesky, lvm_correlation
from .transforms import Spiral

# id -> (mutual information, standard error) in nats, from tools/mixture_truths.py (seed 2026)
MC_TRUTHS: dict[str, tuple[float, float]] = {
    "1v1-X-0.9": (0.408611, 0.000374),  # n = 4e+06
    "1v1-AI": (0.775118, 0.000435),  # n = 4e+06
    "2v1-waves-12-5.0-3.0": (1.306737, 0.000192),  # n = 4e+06
    "2v1-galaxy-0.5-3.0": (0.494158, 0.000256),  # n = 4e+06
    "3v1-concentric_gaussians-5": (0.455432, 0.000334),  # n = 4e+06
    "5v1-concentric_gaussians-5": (0.627466, 0.000355),  # n = 4e+06
    "3v1-concentric_gaussians-10": (0.559941, 0.000373),  # n = 4e+06
    "5v1-concentric_gaussians-10": (0.751377, 0.000796),  # n = 1e+06
    "25v1-concentric_gaussians-5": (1.190931, 0.000635),  # n = 1e+06
    "mult-sparse-w-inliers-5-5-2-2.0-0.2": (0.637953, 0.001158),  # n = 1e+06
    "mult-sparse-w-inliers-25-25-2-2.0-0.2": (0.637952, 0.001156),  # n = 1e+06
    "mult-sparse-w-inliers-5-5-2-2.0-0.5": (0.270244, 0.000842),  # n = 1e+06
    "mult-sparse-w-inliers-25-25-2-2.0-0.5": (0.271288, 0.000841),  # n = 1e+06
}


class GaussianMixture:
    """A mixture of multivariate normals on (X, Y) in R^(dim_x + dim_y), with its marginals."""

    def __init__(self, weights, means, covariances, dim_x: int) -> None:
        self.weights = np.asarray(weights, dtype=float)
        self.means = np.asarray(means, dtype=float)
        self.covariances = np.asarray(covariances, dtype=float)
        k, d = self.means.shape
        if self.weights.shape != (k,) or np.any(self.weights <= 0) or not math.isclose(self.weights.sum(), 1.0):
            raise MibenchError("mixture weights must be positive, one per component, and sum to 1")
        if self.covariances.shape != (k, d, d):
            raise MibenchError(f"covariances must have shape {(k, d, d)}, got {self.covariances.shape}")
        if not 1 <= dim_x < d:
            raise MibenchError(f"dim_x must lie in [1, {d - 1}], got {dim_x}")
        self.dim_x, self.dim_y = dim_x, d - dim_x
        self.cholesky = np.stack([_cholesky(c) for c in self.covariances])

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.choice(len(self.weights), size=n, p=self.weights)
        z = rng.standard_normal((n, self.means.shape[1]))
        xy = np.empty_like(z)
        for k in range(len(self.weights)):
            rows = labels == k
            xy[rows] = self.means[k] + z[rows] @ self.cholesky[k].T
        return xy[:, : self.dim_x], xy[:, self.dim_x :]

    @staticmethod
    def _logpdf(points, weights, means, chols) -> np.ndarray:
        d = points.shape[1]
        comps = []
        for w, m, chol in zip(weights, means, chols):
            sol = solve_triangular(chol, (points - m).T, lower=True)
            comps.append(math.log(w) - 0.5 * np.sum(sol**2, axis=0) - np.sum(np.log(np.diag(chol)))
                         - 0.5 * d * math.log(2 * math.pi))
        return logsumexp(np.stack(comps), axis=0)

    def logpdf(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return self._logpdf(np.hstack([x, y]), self.weights, self.means, self.cholesky)

    def logpdf_x(self, x: np.ndarray) -> np.ndarray:
        dx = self.dim_x
        chols = [np.linalg.cholesky(c[:dx, :dx]) for c in self.covariances]
        return self._logpdf(x, self.weights, self.means[:, :dx], chols)

    def logpdf_y(self, y: np.ndarray) -> np.ndarray:
        dx = self.dim_x
        chols = [np.linalg.cholesky(c[dx:, dx:]) for c in self.covariances]
        return self._logpdf(y, self.weights, self.means[:, dx:], chols)

    def pmi(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Pointwise mutual information log p(x, y) - log p(x) - log p(y)."""
        return self.logpdf(x, y) - self.logpdf_x(x) - self.logpdf_y(y)

    def mc_mutual_information(self, n: int, seed: int, chunk: int = 200_000) -> tuple[float, float]:
        """Monte-Carlo MI and its standard error from n draws (in chunks)."""
        rng = np.random.default_rng(seed)
        vals = []
        for start in range(0, n, chunk):
            x, y = self.sample(min(chunk, n - start), rng)
            vals.append(self.pmi(x, y))
        v = np.concatenate(vals)
        return float(v.mean()), float(v.std(ddof=1) / math.sqrt(n))


class MixtureSampler:
    def __init__(self, mixture: GaussianMixture) -> None:
        self.mixture = mixture

    def __call__(self, n: int, rng: np.random.Generator):
        return self.mixture.sample(n, rng)


class WavesMap:
    """BMI's waves map on X in R^2: x0 += amplitude sin(frequency x1), then (0.1 x0 - 0.8, 0.5 x1).
    A shear followed by an invertible affine map: a smooth bijection of R^2."""

    def __init__(self, amplitude: float, frequency: float) -> None:
        self.amplitude, self.frequency = float(amplitude), float(frequency)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x0 = x[:, 0] + self.amplitude * np.sin(self.frequency * x[:, 1])
        return np.stack([0.1 * x0 - 0.8, 0.5 * x[:, 1]], axis=1)

    def inverse(self, v: np.ndarray) -> np.ndarray:
        x1 = 2.0 * v[:, 1]
        return np.stack([(v[:, 0] + 0.8) / 0.1 - self.amplitude * np.sin(self.frequency * x1), x1], axis=1)


# ---- the distributions (BMI's parameters) ------------------------------------------------------


def _canonical(rho: float, additional_y: int = 0) -> np.ndarray:
    cov = np.eye(2 + additional_y)
    cov[0, 1] = cov[1, 0] = rho
    return cov


def x_mixture(correlation: float = 0.9) -> GaussianMixture:
    if not -1 < correlation < 1:
        raise MibenchError(f"correlation must lie in (-1, 1), got {correlation}")
    return GaussianMixture([0.5, 0.5], np.zeros((2, 2)),
                           [_canonical(-correlation), _canonical(correlation)], dim_x=1)


def ai_mixture() -> GaussianMixture:
    corr, var_x = 0.95, 0.04
    c = math.sqrt(var_x * 0.2) * corr
    means = [[1.0, 0.0], [1.0, 1.0], [1.0, -1.0], [-0.8, -0.2], [-1.2, 0.0], [-0.4, 0.0]]
    covs = [np.diag([0.01, 0.2]), np.diag([0.05, 0.001]), np.diag([0.05, 0.001]), np.diag([0.03, 0.001]),
            np.array([[var_x, c], [c, 0.2]]), np.array([[var_x, -c], [-c, 0.2]])]
    return GaussianMixture(np.full(6, 1 / 6), means, covs, dim_x=1)


def galaxy_mixture(distance: float = 3.0) -> GaussianMixture:
    means = [np.full(3, s * distance / 2) for s in (-1, 1)]
    return GaussianMixture([0.5, 0.5], means, [_canonical(0.0, 1)] * 2, dim_x=2)


def waves_mixture(n_components: int = 12) -> GaussianMixture:
    if n_components < 1:
        raise MibenchError(f"n_components must be >= 1, got {n_components}")
    means = [np.array([k, 0, k % 4]) * 1.5 for k in range(n_components)]
    covs = [np.diag([0.1, 1.0, 0.1])] * n_components
    return GaussianMixture(np.full(n_components, 1 / n_components), means, covs, dim_x=2)


def concentric_mixture(dim_x: int, n_components: int = 3) -> GaussianMixture:
    if dim_x < 1 or n_components < 1:
        raise MibenchError(f"dim_x and n_components must be >= 1, got {dim_x}, {n_components}")
    means = [np.array(dim_x * [0.0] + [1.0 * i]) for i in range(1, n_components + 1)]
    covs = [np.diag(dim_x * [float(i**2)] + [1e-4]) for i in range(1, n_components + 1)]
    return GaussianMixture(np.full(n_components, 1 / n_components), means, covs, dim_x=dim_x)


def inliers_mixture(dim_x: int, dim_y: int, n_interacting: int = 2, strength: float = 2.0,
                    inlier_fraction: float = 0.2) -> GaussianMixture:
    """(1 - f) sparse multinormal + f product of its marginals ("inliers": independent points)."""
    if not 0 < inlier_fraction < 1:
        raise MibenchError(f"inlier_fraction must lie in (0, 1), got {inlier_fraction}")
    signal = lvm_correlation(dim_x, dim_y, n_interacting, alpha=0.0, lambd=strength, beta=0.0, eta=strength)
    noise = signal.copy()
    noise[:dim_x, dim_x:] = 0
    noise[dim_x:, :dim_x] = 0
    return GaussianMixture([1 - inlier_fraction, inlier_fraction], np.zeros((2, dim_x + dim_y)),
                           [signal, noise], dim_x=dim_x)


# id -> (name, family, params, mixture builder, map on X or None)
def _specs() -> dict:
    specs = {
        "1v1-X-0.9": ("X 1 x 1", "mixture-x", {"gaussian_correlation": 0.9}, lambda: x_mixture(0.9), None),
        "1v1-AI": ("AI 1 x 1", "mixture-ai", {}, ai_mixture, None),
        "2v1-waves-12-5.0-3.0": ("Waves 2 x 1", "mixture-waves",
                                 {"n_components": 12, "wave_amplitude": 5.0, "wave_frequency": 3.0},
                                 lambda: waves_mixture(12), WavesMap(5.0, 3.0)),
        "2v1-galaxy-0.5-3.0": ("Galaxy 2 x 1", "mixture-galaxy", {"speed": 0.5, "distance": 3.0},
                               lambda: galaxy_mixture(3.0), Spiral(2, 0, 1, 0.5)),
    }
    for dx, k in ((3, 5), (5, 5), (3, 10), (5, 10), (25, 5)):
        specs[f"{dx}v1-concentric_gaussians-{k}"] = (
            f"Concentric {dx} x 1", "mixture-concentric", {"n_components": k},
            (lambda dx=dx, k=k: concentric_mixture(dx, k)), None)
    for d, f in ((5, 0.2), (25, 0.2), (5, 0.5), (25, 0.5)):
        specs[f"mult-sparse-w-inliers-{d}-{d}-2-2.0-{f}"] = (
            f"Multinormal {d} x {d} (sparse, {f:.0%} inliers)", "mixture-inliers",
            {"n_interacting": 2, "strength": 2.0, "inlier_fraction": f},
            (lambda d=d, f=f: inliers_mixture(d, d, 2, 2.0, f)), None)
    return specs


SPECS = _specs()


def mixture_parts(task_id: str) -> tuple[GaussianMixture, object]:
    """The base mixture of a task of this suite and the map applied to X (or None)."""
    try:
        _, _, _, build, fx = SPECS[task_id]
    except KeyError:
        raise MibenchError(f"unknown mixture task {task_id!r}") from None
    return build(), fx


def mixture_task(task_id: str) -> Task:
    name, family, params, build, fx = SPECS[task_id]
    mix = build()
    if task_id not in MC_TRUTHS:
        raise MibenchError(f"no stored Monte-Carlo truth for {task_id!r} (run tools/mixture_truths.py)")
    mi, se = MC_TRUTHS[task_id]
    base = Task(task_id if fx is None else f"{task_id}-base", family=family, sampler=MixtureSampler(mix),
                mutual_information=mi, mi_stderr=se, dim_x=mix.dim_x, dim_y=mix.dim_y, name=name, params=params,
                description="truth: Monte-Carlo mean of the pointwise MI (see mi_stderr)")
    if fx is None:
        return base
    task = base.transformed(fx, None, id=task_id, name=name, params=params)
    task.params.pop("base", None)
    return task


def mixtures_suite() -> list[Task]:
    """Suite ``mixtures``: BMI's Gaussian-mixture tasks (benchmark v2 selection)."""
    return [mixture_task(t) for t in SPECS]
