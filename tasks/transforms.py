"""Injective smooth maps used to build transformed tasks (BMI's "Beyond Normal" transforms).

Every map acts row-wise on an (n, d) array, is a module-level function or a small class (so
that tasks stay picklable) and has an inverse (``inverse_of(f)``), which the tests use to check
injectivity by round trip. Mutual information is invariant under injective smooth maps, so a
transformed task keeps its base truth.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr, ndtri

from mibench import MibenchError

# ---- elementwise maps ------------------------------------------------------------------------


def normal_cdf(x: np.ndarray) -> np.ndarray:
    """Standard normal CDF, R -> (0, 1) (BMI ``normal_cdf``)."""
    return ndtr(x)


def normal_cdf_inverse(u: np.ndarray) -> np.ndarray:
    return ndtri(u)


def half_cube(x: np.ndarray) -> np.ndarray:
    """x |x|^(1/2), a signed x^(3/2) (BMI ``half_cube``)."""
    return x * np.sqrt(np.abs(x))


def half_cube_inverse(y: np.ndarray) -> np.ndarray:
    return np.sign(y) * np.abs(y) ** (2.0 / 3.0)


def asinh(x: np.ndarray) -> np.ndarray:
    """Inverse hyperbolic sine (BMI ``asinh``), compresses heavy tails."""
    return np.arcsinh(x)


def asinh_inverse(y: np.ndarray) -> np.ndarray:
    return np.sinh(y)


def wiggly_x(x: np.ndarray) -> np.ndarray:
    """BMI's wiggly map for X; derivative >= 1 - 0.4 - 0.34 - 0.099 > 0, so strictly increasing."""
    return x + 0.4 * np.sin(1.0 * x) + 0.2 * np.sin(1.7 * x + 1) + 0.03 * np.sin(3.3 * x - 2.5)


def wiggly_x_derivative(x: np.ndarray) -> np.ndarray:
    return 1 + 0.4 * np.cos(x) + 0.34 * np.cos(1.7 * x + 1) + 0.099 * np.cos(3.3 * x - 2.5)


def wiggly_y(x: np.ndarray) -> np.ndarray:
    """BMI's wiggly map for Y; derivative >= 1 - 0.16 - 0.221 - 0.086 > 0."""
    return x - 0.4 * np.sin(0.4 * x) + 0.17 * np.sin(1.3 * x + 3.5) + 0.02 * np.sin(4.3 * x - 2.5)


def wiggly_y_derivative(x: np.ndarray) -> np.ndarray:
    return 1 - 0.16 * np.cos(0.4 * x) + 0.221 * np.cos(1.3 * x + 3.5) + 0.086 * np.cos(4.3 * x - 2.5)


def _newton_inverse(f, df, y, iters: int = 60) -> np.ndarray:
    """Invert a strictly increasing f whose derivative is bounded away from 0 (Newton steps)."""
    y = np.asarray(y, dtype=float)
    x = y.copy()
    for _ in range(iters):
        step = (f(x) - y) / df(x)
        x = x - step
        if np.max(np.abs(step), initial=0.0) < 1e-14 * (1 + np.max(np.abs(x), initial=0.0)):
            break
    return x


def wiggly_x_inverse(y: np.ndarray) -> np.ndarray:
    return _newton_inverse(wiggly_x, wiggly_x_derivative, y)


def wiggly_y_inverse(y: np.ndarray) -> np.ndarray:
    return _newton_inverse(wiggly_y, wiggly_y_derivative, y)


class GaussianMixtureQuantile:
    """u -> F^{-1}(u) for a 1-D mixture of unit-variance normals F = sum_k w_k Phi(x - m_k).

    Strictly increasing and smooth on (0, 1); used by BMI's bimodal task. Solved by bisection
    on a precomputed grid bracket followed by Newton steps, to about 1e-12.
    """

    def __init__(self, weights, means) -> None:
        self.weights = np.asarray(weights, dtype=float)
        self.means = np.asarray(means, dtype=float)
        if self.weights.shape != self.means.shape or np.any(self.weights <= 0):
            raise MibenchError("mixture weights must be positive and match the means")
        if not math.isclose(self.weights.sum(), 1.0, rel_tol=1e-12):
            raise MibenchError(f"mixture weights must sum to 1, got {self.weights.sum()}")
        self._grid = None

    def cdf(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        return sum(w * ndtr(x - m) for w, m in zip(self.weights, self.means))

    def pdf(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        return sum(w * np.exp(-0.5 * (x - m) ** 2) for w, m in zip(self.weights, self.means)) / math.sqrt(
            2 * math.pi)

    def __getstate__(self):
        return {"weights": self.weights, "means": self.means, "_grid": None}

    def __call__(self, u: np.ndarray) -> np.ndarray:
        u = np.asarray(u, dtype=float)
        if self._grid is None:
            lo, hi = self.means.min() - 40.0, self.means.max() + 40.0
            xs = np.linspace(lo, hi, 8001)
            self._grid = (xs, self.cdf(xs))
        xs, fs = self._grid
        idx = np.clip(np.searchsorted(fs, u), 1, len(xs) - 1)
        a, b = xs[idx - 1].copy(), xs[idx].copy()
        fa, fb = fs[idx - 1], fs[idx]
        frac = np.clip((u - fa) / np.where(fb > fa, fb - fa, 1.0), 0.0, 1.0)
        x = a + frac * (b - a)  # linear interpolation in the bracket, then safeguarded Newton
        for _ in range(100):
            fx = self.cdf(x) - u
            a = np.where(fx < 0, x, a)
            b = np.where(fx < 0, b, x)
            pdf = self.pdf(x)
            newton = x - fx / np.where(pdf > 0, pdf, 1.0)
            ok = (pdf > 0) & (newton >= a) & (newton <= b)
            x_new = np.where(ok, newton, 0.5 * (a + b))
            done = np.max(np.abs(x_new - x), initial=0.0) < 1e-11  # float64 noise of F limits further steps
            x = x_new
            if done:
                break
        return x


class NormalToMixture:
    """z -> F^{-1}(Phi(z)): maps a standard normal coordinate to a Gaussian-mixture-distributed one.

    BMI's bimodal task applies the normal CDF and then the mixture quantile; composing them is
    the same map (strictly increasing and smooth on R).
    """

    def __init__(self, weights, means) -> None:
        self.quantile = GaussianMixtureQuantile(weights, means)

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return self.quantile(ndtr(z))

    def inverse(self, x: np.ndarray) -> np.ndarray:
        return ndtri(self.quantile.cdf(x))


# ---- vector maps ---------------------------------------------------------------------------


class Spiral:
    """x -> exp(speed * ||x||^2 * A) x, A the (i, j) generator of so(d) (BMI's ``Spiral``).

    A rotation in the (i, j) plane by the angle speed * ||x||^2. Rotations preserve the norm,
    so the inverse rotates back by the same angle: a smooth bijection of R^d.
    """

    def __init__(self, dim: int, i: int = 0, j: int = 1, speed: float = 1.0) -> None:
        if dim < 2 or not 0 <= i < j < dim:
            raise MibenchError(f"spiral needs dim >= 2 and 0 <= i < j < dim, got dim={dim}, i={i}, j={j}")
        self.dim, self.i, self.j, self.speed = dim, i, j, float(speed)

    def _rotate(self, x: np.ndarray, sign: float) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        theta = sign * self.speed * np.einsum("ni,ni->n", x, x)
        c, s = np.cos(theta), np.sin(theta)
        out = x.copy()
        xi, xj = x[:, self.i], x[:, self.j]
        out[:, self.i] = c * xi - s * xj
        out[:, self.j] = s * xi + c * xj
        return out

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self._rotate(x, 1.0)

    def inverse(self, y: np.ndarray) -> np.ndarray:
        return self._rotate(y, -1.0)


def swissroll(u: np.ndarray) -> np.ndarray:
    """(n, 1) in (0, 1) -> (n, 2): t = 1.5 pi (1 + 2u), (t cos t, t sin t) / 21 (BMI ``swissroll2d``).

    Injective because the radius t / 21 is strictly increasing in u; an embedding of a 1-D
    variable in the plane (the MI is unchanged because u is recovered from the radius).
    """
    t = 1.5 * np.pi * (1 + 2 * np.asarray(u, dtype=float)[:, 0])
    return np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / 21.0


def swissroll_inverse(v: np.ndarray) -> np.ndarray:
    t = 21.0 * np.linalg.norm(v, axis=1)
    return ((t / (1.5 * np.pi) - 1) / 2)[:, None]


_INVERSES = {
    normal_cdf: normal_cdf_inverse,
    half_cube: half_cube_inverse,
    asinh: asinh_inverse,
    wiggly_x: wiggly_x_inverse,
    wiggly_y: wiggly_y_inverse,
    swissroll: swissroll_inverse,
}


def inverse_of(f):
    """The inverse of one of the maps above (for round-trip tests and users)."""
    if hasattr(f, "inverse"):
        return f.inverse
    try:
        return _INVERSES[f]
    except KeyError:
        raise MibenchError(f"no known inverse for {f!r}") from None
