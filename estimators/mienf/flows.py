"""MIENF's flows: RealNVP / neural-spline couplings for vectors, Glow for images, the PCA whitening layer."""

from __future__ import annotations

import math

import normflows as nf
import numpy as np
import torch
from torch import nn


class VectorFlow(nn.Module):
    """Data (n, d) -> latent (n, d) and log|det J|; every coordinate enters the target (head = d).

    ``bound`` (RealNVP only): couplings with exp log-scale whose shift and log-scale are
    bound * tanh(out / bound), instead of the default sigmoid scale (unbounded expansion)."""

    def __init__(self, d: int, depth: int, width: int, kind: str, bound: float | None = None) -> None:
        super().__init__()
        self.head = d
        layers: list[nn.Module] = [nf.flows.ActNorm((d,))]
        for i in range(depth):
            if kind == "realnvp" and bound is None:
                # affine coupling: an MLP of the first ceil(d/2) coordinates gives shift and
                # (sigmoid-bounded, Glow-style) scale of the others; the linear map below mixes them
                net = nf.nets.MLP([(d + 1) // 2, width, width, 2 * (d // 2)], init_zeros=True)
                layers.append(nf.flows.AffineCouplingBlock(net, scale=True, scale_map="sigmoid", split_mode="channel"))
            elif kind == "realnvp":
                # the same with shift and log-scale bounded by +-bound (bound * tanh(out / bound)):
                # the sigmoid map divides by a scale in (0, 1), an unbounded expansion that a thin
                # sheet of data (the PCA flows' image manifold) drives to overflow
                net = nf.nets.MLP([(d + 1) // 2, width, width, 2 * (d // 2)], init_zeros=True,
                                  output_fn="tanh", score_scale=1 / bound, output_scale=bound)
                layers.append(nf.flows.AffineCouplingBlock(net, scale=True, scale_map="exp", split_mode="channel"))
            else:
                layers.append(nf.flows.CoupledRationalQuadraticSpline(
                    d, num_blocks=2, num_hidden_channels=width, num_bins=8, tail_bound=4.0,
                    reverse_mask=bool(i % 2)))
            layers.append(nf.flows.ActNorm((d,)))
            layers.append(nf.flows.InvertibleAffine(d, use_lu=True))  # learned linear mixing (LU)
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        log_det = torch.zeros(len(x), dtype=x.dtype, device=x.device)
        for layer in self.layers:
            x, ld = layer(x)
            log_det = log_det + ld
        return x, log_det


class GlowFlow(nn.Module):
    """Multiscale Glow for (n, 1, s, s) images (s a power of two >= 2): returns (n, s*s) latents whose
    first ``head`` coordinates enter the target, and log|det J|."""

    def __init__(self, size: int, depth: int, width: int, head: int) -> None:
        super().__init__()
        if size < 2 or size & (size - 1):
            raise ValueError(f"mienf: flow=glow needs square images whose side is a power of two, got {size}")
        self.levels = int(round(math.log2(size)))
        ch = 1
        self.blocks = nn.ModuleList()
        self.keep = []
        for level in range(self.levels):
            ch *= 4  # squeeze
            self.blocks.append(nn.ModuleList([nf.flows.GlowBlock(ch, width, split_mode="channel", scale=True)
                                              for _ in range(depth)]))
            last = level == self.levels - 1
            keep = ch if last else ch // 2
            self.keep.append(keep)
            ch = keep
        if head > ch:
            raise ValueError(f"mienf: head_dim={head} exceeds the {ch} channels of the final Glow scale "
                             f"for {size}x{size} images")
        self.head = head

    def forward(self, x):
        log_det = torch.zeros(len(x), dtype=x.dtype, device=x.device)
        out = []
        for blocks, keep in zip(self.blocks, self.keep):
            x = torch.nn.functional.pixel_unshuffle(x, 2)
            for block in blocks:
                x, ld = block(x)
                log_det = log_det + ld
            out.append(x[:, keep:].flatten(1))
            x = x[:, :keep]
        final = x.flatten(1)
        return torch.cat([final] + out[::-1], dim=1), log_det


class PCAWhiten(nn.Module):
    """Fixed invertible affine map z = diag(1/s) V^T (x - m) of R^D, fitted in closed form.

    m is the training mean, V the orthonormal eigenvectors of the training covariance (eigenvalues
    lambda_1 >= ... >= lambda_D), s_j = sqrt(max(lambda_j, floor)) with
    floor = rel_floor * mean(lambda) (so directions without variance, e.g. images on a manifold
    without added noise, still get a finite scale and the map stays invertible). Its log|det J| is
    the constant -sum_j log s_j, so it is a diffeomorphism and I(z_X; z_Y) = I(X; Y).
    ``forward`` maps (n, D) to (n, D) with the log-determinant, ``inverse`` undoes it;
    ``transform_numpy`` returns the first ``keep`` coordinates (all when None) in float64.
    """

    def __init__(self, mean: torch.Tensor, vecs: torch.Tensor, scale: torch.Tensor, keep: int | None = None) -> None:
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("vecs", vecs)
        self.register_buffer("scale", scale)
        self.keep = len(scale) if keep is None else keep

    @classmethod
    def fit(cls, a: np.ndarray, rel_floor: float = 1e-6, keep: int | None = None) -> PCAWhiten:
        a = np.asarray(a, dtype=np.float64)
        if a.ndim != 2 or len(a) < 2:
            raise ValueError(f"PCAWhiten.fit needs a 2-d array with at least 2 rows, got shape {a.shape}")
        if not rel_floor > 0:
            raise ValueError(f"PCAWhiten.fit: rel_floor must be > 0, got {rel_floor!r}")
        if keep is not None and not 1 <= keep <= a.shape[1]:
            raise ValueError(f"PCAWhiten.fit: keep must be in [1, {a.shape[1]}], got {keep!r}")
        mean = a.mean(0)
        c = np.atleast_2d(np.cov(a - mean, rowvar=False))
        w, v = np.linalg.eigh(c)
        w, v = w[::-1], v[:, ::-1]
        floor = max(rel_floor * float(np.mean(np.maximum(w, 0.0))), 1e-300)
        scale = np.sqrt(np.maximum(w, floor))
        t = lambda u: torch.from_numpy(np.ascontiguousarray(u))
        return cls(t(mean), t(v), t(scale), keep)

    def matrix(self) -> torch.Tensor:
        """The linear part diag(1/s) V^T (D x D)."""
        return self.vecs.T / self.scale[:, None]

    def transform_numpy(self, a: np.ndarray) -> np.ndarray:
        k = self.keep
        centred = np.asarray(a, dtype=np.float64) - self.mean.numpy()
        return (centred @ self.vecs.numpy()[:, :k]) / self.scale.numpy()[:k]

    def log_det(self) -> torch.Tensor:
        return -torch.log(self.scale).sum()

    def forward(self, x):
        z = ((x - self.mean.to(x.dtype)) @ self.vecs.to(x.dtype)) / self.scale.to(x.dtype)
        return z, self.log_det().to(x.dtype).expand(len(x))

    def inverse(self, z):
        x = (z * self.scale.to(z.dtype)) @ self.vecs.to(z.dtype).T + self.mean.to(z.dtype)
        return x, -self.log_det().to(z.dtype).expand(len(z))


def cca_rotate(a: np.ndarray, b: np.ndarray, train: np.ndarray):
    """Rotate whitened (a, b) by the canonical directions of their training cross-covariance
    (orthogonal maps, one per variable, so the MI is unchanged), in descending canonical correlation."""
    at, bt = a[train] - a[train].mean(0), b[train] - b[train].mean(0)
    u, _, vt = np.linalg.svd(at.T @ bt / len(train))  # full square u, vt: both maps are rotations
    return a @ u, b @ vt.T
