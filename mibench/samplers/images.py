"""Images with known mutual information: Gaussian latents rendered as bumps or rectangles.

Construction (one (X, Y) pair of images per sample):

1. **Latents.** A d-dimensional Gaussian latent per image (d = 2 for Gaussian bumps, d = 4 for
   rectangles). The pair (U_j, V_j), j = 1..d, are independent standard bivariate normals with
   correlation rho_j = sqrt(1 - exp(-2 I / d)), so I(U; V) = -d/2 log(1 - rho^2) = I nats (split
   evenly over the d pairs). Each block is then rotated by a fixed orthogonal matrix drawn from a
   seed derived from the task id (Z_X = Q_X U, Z_Y = Q_Y V): identity marginals, same MI.
2. **To the unit cube.** T = Phi(Z) coordinate-wise (standard normal CDF): a diffeomorphism of
   R^d onto (0, 1)^d.
3. **Rendering** (an injective smooth map of (0, 1)^d into pixel space, so MI(images) = MI(latents)):
   - ``gauss``: image(g) = exp(-|g - mu|^2 / (2 sigma^2)), sigma = 0.2, on the grid
     linspace(0, 1, s) x linspace(0, 1, s); mu = (T_1, T_2) = (column/x, row/y) centre.
   - ``rect``: (T_1, T_2) give the x-edges and (T_3, T_4) the y-edges. The map
     t = 0.8 sqrt(u_1), a = t (1 - u_2), b = a + 0.2 + t u_2 is a diffeomorphism of (0, 1)^2 onto the
     interior of {(a, b): 0 <= a, b <= 1, b - a >= 0.2} that sends the uniform law to the uniform
     law on that triangle (t = a + (b - a - 0.2) has density proportional to t). Pixel (r, c) is
     the fraction of its area [c/s, (c+1)/s] x [r/s, (r+1)/s] that the rectangle covers, so the
     edges are recoverable to sub-pixel precision from the partly covered border pixels.

Samples are float32 arrays of shape (n, 1, s, s) in [0, 1]; the rendering is separable (an outer
product of a row and a column profile), so N = 10^5 at 32 x 32 takes about a second and 400 MB
per variable. ``ImageSampler.render`` draws images of any points of (0, 1)^d, for samplers that
bring their own latents.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr
from scipy.stats import ortho_group

from mibench.core.errors import MibenchError
from mibench.core.reference import correlated_pairs, rho_for_mi

SIGMA = 0.2  #: width of the Gaussian bump, in image units
MIN_SIDE = 0.2  #: minimum side of a rectangle, in image units
SHAPES = {"gauss": 2, "rect": 4}  # shape -> latent dimension d
_CHUNK = 8192  # rows rendered at a time (bounds temporaries)


class ImageSampler:
    """Picklable sampler: Gaussian latents -> unit cube -> images. ``latents`` exposes step 1 for tests."""

    def __init__(self, shape: str, size: int, mi: float, rotation_seed: int) -> None:
        if shape not in SHAPES:
            raise MibenchError(f"image shape must be one of {sorted(SHAPES)}, got {shape!r}")
        self.shape, self.size, self.mi = shape, int(size), float(mi)
        self.d = SHAPES[shape]
        self.rho = rho_for_mi(self.mi, self.d)
        rs = np.random.default_rng(rotation_seed)
        self.qx = ortho_group.rvs(self.d, random_state=rs) if self.d > 1 else np.eye(1)
        self.qy = ortho_group.rvs(self.d, random_state=rs) if self.d > 1 else np.eye(1)

    def latents(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Gaussian latents (Z_X, Z_Y), each (n, d), identity marginals, canonical correlations rho."""
        u, v = correlated_pairs(n, self.rho, self.d, rng)
        return u @ self.qx.T, v @ self.qy.T

    def __call__(self, n: int, rng: np.random.Generator):
        zx, zy = self.latents(n, rng)
        return self.render(ndtr(zx)), self.render(ndtr(zy))

    def render(self, t: np.ndarray) -> np.ndarray:
        """Images (n, 1, s, s) float32 from points t of (0, 1)^d."""
        n = len(t)
        out = np.empty((n, 1, self.size, self.size), dtype=np.float32)
        for s in range(0, n, _CHUNK):
            block = t[s : s + _CHUNK]
            if self.shape == "gauss":
                cols, rows = bump_profile(block[:, 0], self.size), bump_profile(block[:, 1], self.size)
            else:
                cols = coverage_profile(*rect_edges(block[:, 0], block[:, 1]), self.size)
                rows = coverage_profile(*rect_edges(block[:, 2], block[:, 3]), self.size)
            np.multiply(rows[:, :, None], cols[:, None, :], out=out[s : s + _CHUNK, 0])
        return out


def bump_profile(mu: np.ndarray, size: int) -> np.ndarray:
    """exp(-(g - mu)^2 / (2 sigma^2)) on g = linspace(0, 1, size): (n, size) float32."""
    g = np.linspace(0.0, 1.0, size)
    return np.exp(-((g[None, :] - mu[:, None]) ** 2) / (2 * SIGMA**2)).astype(np.float32)


def rect_edges(u1: np.ndarray, u2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ordered edge pair (a, b), b - a >= MIN_SIDE, uniform on such pairs for uniform (u1, u2)."""
    t = (1.0 - MIN_SIDE) * np.sqrt(u1)
    a = t * (1.0 - u2)
    return a, a + MIN_SIDE + t * u2


def coverage_profile(a: np.ndarray, b: np.ndarray, size: int) -> np.ndarray:
    """Fraction of pixel [i/s, (i+1)/s] inside [a, b]: (n, size) float32."""
    lo = np.arange(size) / size
    hi = (np.arange(size) + 1) / size
    cov = np.minimum(b[:, None], hi[None, :]) - np.maximum(a[:, None], lo[None, :])
    return np.clip(cov * size, 0.0, 1.0).astype(np.float32)
