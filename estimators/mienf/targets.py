"""MIENF's target densities with MI in closed form: a Gaussian over the heads, and its tridiagonal form."""

from __future__ import annotations

import math

import numpy as np
import torch
from mibench.estimators.gaussian import GaussianEstimator, plugin_mi_bias
from torch import nn

_LOG2PI = math.log(2 * math.pi)


def _std_normal_logpdf(z):
    return -0.5 * (z * z + _LOG2PI)


class GaussianTarget(nn.Module):
    """N(mu, L L^T) over the heads (h_x + h_y coordinates); other coordinates N(0, 1)."""

    def __init__(self, hx: int, hy: int) -> None:
        super().__init__()
        self.hx, self.hy = hx, hy
        d = hx + hy
        self.mu = nn.Parameter(torch.zeros(d))
        self.raw = nn.Parameter(torch.zeros(d, d))  # strict lower part + log-diagonal

    @torch.no_grad()
    def init_from(self, zx, zy):
        """Moment fit to the embeddings of the first batch (ML for a Gaussian)."""
        h = torch.cat([zx[:, : self.hx], zy[:, : self.hy]], dim=1).double()
        c = torch.cov(h.T) + 1e-4 * torch.eye(h.shape[1], dtype=h.dtype, device=h.device)
        L = torch.linalg.cholesky(c)
        self.mu.copy_(h.mean(0).float())
        self.raw.copy_((torch.tril(L, -1) + torch.diag(torch.log(torch.diagonal(L)))).float())

    def tril(self):
        return torch.tril(self.raw, -1) + torch.diag(torch.exp(torch.diagonal(self.raw)))

    def _rest(self, zx, zy):
        return _std_normal_logpdf(zx[:, self.hx:]).sum(1) + _std_normal_logpdf(zy[:, self.hy:]).sum(1)

    def log_prob(self, zx, zy):
        h = torch.cat([zx[:, : self.hx], zy[:, : self.hy]], dim=1)
        dist = torch.distributions.MultivariateNormal(self.mu, scale_tril=self.tril())
        return dist.log_prob(h) + self._rest(zx, zy)

    def _factors(self):
        """Cholesky factors of the joint and of both marginal covariances, in float64: at high MI the
        covariance L L^T is too ill-conditioned for float32 (sweep-dense-25-6: 1 - rho^2 = 6e-6), where
        forming it rounds it off the positive-definite cone. The joint's factor is L itself and the
        top-left block of L is the factor of the X marginal, so only the Y marginal is factorised."""
        L = self.tril().double()
        hx = self.hx
        ly = torch.linalg.cholesky(L[hx:] @ L[hx:].T)
        return L, L[:hx, :hx], ly

    def mi(self):
        L, lx, ly = self._factors()
        logdet = lambda f: 2 * torch.log(torch.diagonal(f)).sum()  # noqa: E731
        return (0.5 * (logdet(lx) + logdet(ly) - logdet(L))).to(self.raw.dtype)

    def log_ratio(self, zx, zy):
        h = torch.cat([zx[:, : self.hx], zy[:, : self.hy]], dim=1).double()
        (L, lx, ly), mu, hx = self._factors(), self.mu.double(), self.hx
        mvn = torch.distributions.MultivariateNormal
        joint = mvn(mu, scale_tril=L).log_prob(h)
        px = mvn(mu[:hx], scale_tril=lx).log_prob(h[:, :hx])
        py = mvn(mu[hx:], scale_tril=ly).log_prob(h[:, hx:])
        return (joint - px - py).to(zx.dtype)

    @staticmethod
    def refit_mi(zx, zy) -> float:
        """MI of the moment-fitted Gaussian: the plug-in ``gaussian`` estimator (canonical correlations)."""
        return GaussianEstimator().estimate(zx, zy)

    def refit_bias(self, n: int) -> float:
        """Expected excess of ``refit_mi`` over the MI on n Gaussian embeddings (Wishart log-dets)."""
        return plugin_mi_bias(n, self.hx, self.hy)


class TridiagTarget(nn.Module):
    """Standard normal marginals; z_X[j], z_Y[j] correlated with rho_j = tanh(a_j), j < min(h_x, h_y)."""

    def __init__(self, hx: int, hy: int) -> None:
        super().__init__()
        self.hx, self.hy = hx, hy
        self.k = min(hx, hy)
        self.a = nn.Parameter(torch.zeros(self.k))

    @torch.no_grad()
    def init_from(self, zx, zy):
        k = self.k
        u, v = zx[:, :k].double(), zy[:, :k].double()
        u, v = (u - u.mean(0)) / u.std(0), (v - v.mean(0)) / v.std(0)
        r = (u * v).mean(0).clamp(-0.99, 0.99)
        self.a.copy_(torch.atanh(r).float())

    def _pair_logratio(self, u, v):
        rho = torch.tanh(self.a)
        one = 1 - rho * rho
        return -0.5 * torch.log(one) - (rho * rho * (u * u + v * v) - 2 * rho * u * v) / (2 * one)

    def log_prob(self, zx, zy):
        k = self.k
        base = _std_normal_logpdf(zx).sum(1) + _std_normal_logpdf(zy).sum(1)
        return base + self._pair_logratio(zx[:, :k], zy[:, :k]).sum(1)

    def log_ratio(self, zx, zy):
        return self._pair_logratio(zx[:, : self.k], zy[:, : self.k]).sum(1)

    def mi(self):
        rho = torch.tanh(self.a)
        return -0.5 * torch.log1p(-rho * rho).sum()

    @staticmethod
    def refit_mi(zx, zy) -> float:
        k = min(zx.shape[1], zy.shape[1])
        r = np.array([np.corrcoef(zx[:, j], zy[:, j])[0, 1] for j in range(k)])
        return float(-0.5 * np.sum(np.log1p(-np.minimum(r * r, 1 - 1e-12))))

    def refit_bias(self, n: int) -> float:
        """Expected excess of ``refit_mi`` over the MI on n Gaussian embeddings: k 1+1-d pairs."""
        return self.k * plugin_mi_bias(n, 1, 1)
