"""Gaussian kernel density (KDE) plug-in MI estimator."""

from __future__ import annotations

import math

import numpy as np

from mibench import Choice, Estimator, Float, Int, Param, power_of_two_scaled, validate_xy

RULES = ("scott", "silverman", "cv")
EVALUATIONS = ("loo", "resubstitution")
#: bandwidth multipliers (of Scott's rule) tried by cross-validation
CV_GRID = 2.0 ** np.linspace(-2.5, 1.0, 15)
BLOCK_ELEMENTS = 2**21


def _check_bandwidth(name, value):
    if isinstance(value, str) and value in RULES:
        return value
    try:
        return Float(1.0, min=0, min_open=True).validate(name, value)
    except ValueError:
        raise ValueError(f"{name} must be one of {', '.join(RULES)} or a positive number, got {value!r:.60}") from None


class KDE(Estimator):
    """I = mean_i [log p(x_i, y_i) - log p(x_i) - log p(y_i)] with Gaussian KDEs of the three densities.

    Each density (joint, X, Y) is a Gaussian KDE with kernel covariance h^2 S, S the sample
    covariance of that block (as in scipy's gaussian_kde), h from the bandwidth rule of that
    block's dimension D: Scott h = N^(-1/(D+4)); Silverman h = (N (D+2) / 4)^(-1/(D+4)); ``cv``
    maximises the leave-one-out log-likelihood over a grid of multipliers of Scott's h on a
    subsample of at most ``cv_samples`` points and rescales to N by (N / m)^(-1/(D+4)).

    Parameters:
        bandwidth: ``scott`` (default), ``silverman``, ``cv`` or a positive number h (used for all
            three densities).
        evaluation: ``loo`` (default; leave-one-out: point i is left out of its own density) or
            ``resubstitution`` (the point itself is included, which biases log-densities upwards,
            more in the joint space).
        cv_samples: subsample size for the cross-validation (default 1000).

    Assumptions: continuous data with smooth densities and an invertible covariance (constant
    columns are rejected); the Gaussian kernel with a rule-of-thumb bandwidth oversmooths
    strongly dependent or multimodal data, so the estimate is biased downwards there, and the
    curse of dimensionality makes it unreliable above a few dimensions. Cost O(N^2 (d_x + d_y))
    time (pairwise distances through matrix products, in row blocks of about 2M elements), O(N) memory
    """

    PARAMS = {
        "bandwidth": Param("scott", f"{', '.join(RULES)} or a positive number h", check=_check_bandwidth),
        "evaluation": Choice("loo", EVALUATIONS, "leave-one-out or resubstitution"),
        "cv_samples": Int(1000, "subsample size of the cross-validation", min=20),
    }

    def estimate_with_info(self, x, y):
        dims = _dims(x, y)
        x, y = validate_xy(x, y, min_samples=dims + 2, allow_constant=False, name="kde")
        x, y = power_of_two_scaled(x), power_of_two_scaled(y)  # exact; no overflow near 1e308
        loo = self.evaluation == "loo"
        lp, hs = {}, {}
        for label, a in (("xy", np.hstack([x, y])), ("x", x), ("y", y)):
            u = _whiten(a)
            h = self._bandwidth(u)
            hs[label] = h
            lp[label] = _log_density(u, [h], loo)[:, 0] - _log_det_chol(a)
        mi = float(np.mean(lp["xy"] - lp["x"] - lp["y"]))
        return mi, {"bandwidth_xy": hs["xy"], "bandwidth_x": hs["x"], "bandwidth_y": hs["y"]}

    def _bandwidth(self, u):
        n, d = u.shape
        if not isinstance(self.bandwidth, str):
            return float(self.bandwidth)
        if self.bandwidth == "scott":
            return n ** (-1.0 / (d + 4))
        if self.bandwidth == "silverman":
            return (n * (d + 2) / 4.0) ** (-1.0 / (d + 4))
        m = min(n, self.cv_samples)
        sub = u[np.random.default_rng(0).choice(n, m, replace=False)] if m < n else u
        grid = CV_GRID * m ** (-1.0 / (d + 4))
        score = _log_density(sub, grid, loo=True).mean(axis=0)
        return float(grid[int(np.argmax(score))] * (n / m) ** (-1.0 / (d + 4)))


def _dims(x, y):
    try:
        return int(np.shape(x)[1]) + int(np.shape(y)[1])
    except (IndexError, TypeError):
        return 0


def _chol(a):
    cov = np.atleast_2d(np.cov(a, rowvar=False))
    try:
        return np.linalg.cholesky(cov)
    except np.linalg.LinAlgError as exc:
        raise ValueError("kde: the sample covariance is singular (collinear columns)") from exc


def _whiten(a):
    return np.linalg.solve(_chol(a), (a - a.mean(axis=0)).T).T


def _log_det_chol(a):
    return float(np.sum(np.log(np.diag(_chol(a)))))


def _log_density(u, hs, loo):
    """log KDE (unit-covariance Gaussian kernel, bandwidths hs) of whitened u at its own points: (n, len(hs))."""
    n, d = u.shape
    hs = np.asarray(hs, dtype=float)
    sq = np.einsum("ij,ij->i", u, u)
    out = np.empty((n, len(hs)))
    step = max(1, BLOCK_ELEMENTS // n)
    for s in range(0, n, step):
        e = min(n, s + step)
        d2 = np.maximum(sq[s:e, None] + sq[None, :] - 2.0 * (u[s:e] @ u.T), 0.0)
        r = np.arange(e - s)
        d2[r, r + s] = np.inf if loo else 0.0
        dmin = d2.min(axis=1)
        d2 -= dmin[:, None]
        buf = np.empty_like(d2)
        for t, h in enumerate(hs):
            np.multiply(d2, -0.5 / (h * h), out=buf)
            np.exp(buf, out=buf)
            out[s:e, t] = np.log(buf.sum(axis=1)) - dmin / (2 * h * h)
    count = n - 1 if loo else n
    return out - math.log(count) - 0.5 * d * math.log(2 * math.pi) - d * np.log(hs)[None, :]
