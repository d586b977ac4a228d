"""Rational-quadratic spline with linear tails (Durkan et al. 2019), evaluated by a numba kernel.

The same function as normflows' ``unconstrained_rational_quadratic_spline`` (tails="linear"),
values only (no log-determinant): normflows' version is written for training (autograd, padded
(n, f, bins) tensors) and spends ~5 s on 10^5 x 25 samples of a two-layer flow; this kernel does
one pass per element. tests/test_tasks_flows.py checks it against normflows to 1e-12.
"""

from __future__ import annotations

import math

import numba
import numpy as np

# normflows' defaults (normflows.utils.splines)
MIN_BIN_WIDTH = 1e-3
MIN_BIN_HEIGHT = 1e-3
MIN_DERIVATIVE = 1e-3


@numba.njit(cache=True, inline="always")
def _knots(expo, off, k, out, lo, minimum):
    """Softmax from the exponentials expo[off:off + k], floored at ``minimum``, cumulated onto
    [lo, -lo]; out has k + 1 entries."""
    s = 0.0
    for j in range(k):
        s += expo[off + j]
    mult = (1.0 - minimum * k) / s
    acc = 0.0
    out[0] = lo
    for j in range(k):
        acc += minimum + expo[off + j] * mult
        out[j + 1] = -2.0 * lo * acc + lo
    out[k] = -lo


@numba.njit(cache=True, inline="always")
def _slope(r, e):
    """min_derivative + softplus(r), given e = exp(r); softplus as torch computes it (linear above 20)."""
    return MIN_DERIVATIVE + (r if r > 20.0 else math.log1p(e))


@numba.njit(cache=True, nogil=True, fastmath=True)
def _rq_spline(inputs, expo, raw, k, inverse, tail_bound):
    """The spline given the conditioner output ``raw`` and its (scaled) exponentials ``expo``."""
    n, f = inputs.shape
    width = 3 * k - 1
    out = np.empty_like(inputs)
    cw = np.empty(k + 1)
    ch = np.empty(k + 1)
    for i in range(n):
        e_row = expo[i]
        r_row = raw[i]
        for c in range(f):
            v = inputs[i, c]
            if v < -tail_bound or v > tail_bound:
                out[i, c] = v
                continue
            off = c * width
            _knots(e_row, off, k, cw, -tail_bound, MIN_BIN_WIDTH)
            _knots(e_row, off + k, k, ch, -tail_bound, MIN_BIN_HEIGHT)
            knots = ch if inverse else cw
            b = 0
            for j in range(1, k):
                if v >= knots[j]:
                    b = j
            w = cw[b + 1] - cw[b]
            h = ch[b + 1] - ch[b]
            delta = h / w
            # slopes at the knots: 1 at the ends (linear tails), min_derivative + softplus inside
            d0 = 1.0 if b == 0 else _slope(r_row[off + 2 * k + b - 1], e_row[off + 2 * k + b - 1])
            d1 = 1.0 if b + 1 == k else _slope(r_row[off + 2 * k + b], e_row[off + 2 * k + b])
            if inverse:
                dv = v - ch[b]
                a_ = dv * (d0 + d1 - 2 * delta) + h * (delta - d0)
                b_ = h * d0 - dv * (d0 + d1 - 2 * delta)
                c_ = -delta * dv
                root = (2 * c_) / (-b_ - math.sqrt(b_ * b_ - 4 * a_ * c_))
                out[i, c] = root * w + cw[b]
            else:
                theta = (v - cw[b]) / w
                tt = theta * (1 - theta)
                num = h * (delta * theta * theta + d0 * tt)
                den = delta + (d0 + d1 - 2 * delta) * tt
                out[i, c] = ch[b] + num / den
    return out


def rq_spline(inputs, raw, inverse: bool, tail_bound: float, scale: float) -> np.ndarray:
    """The spline on inputs (n, f) (NumPy), identity outside [-tail_bound, tail_bound]. ``raw`` is
    the conditioner output, a float64 torch tensor (n, f * (3K - 1)): per feature (row-major, as
    normflows reshapes it) K unnormalised widths, K heights (both divided by ``scale``; normflows
    uses sqrt(hidden features)) and K - 1 inner derivatives. The softmax exponentials are taken
    by torch in one vectorised call (SIMD; several times cheaper than scalar exp in the kernel);
    softmax is shift-invariant and the logits are O(1), so normflows' max shift is not needed."""
    import torch

    n, f = inputs.shape
    if raw.shape[0] != n or raw.shape[1] % f or (raw.shape[1] // f + 1) % 3:
        raise ValueError(f"spline parameters of shape {tuple(raw.shape)} do not fit inputs of shape {inputs.shape}")
    k = (raw.shape[1] // f + 1) // 3
    # exp(widths / scale), exp(heights / scale), exp(derivatives) for every feature, in one call
    factors = np.concatenate([np.full(2 * k, 1.0 / scale), np.ones(k - 1)])
    expo = (raw * torch.from_numpy(np.tile(factors, f))).exp_().numpy()
    return _rq_spline(np.ascontiguousarray(inputs), expo, raw.numpy(), k, inverse, tail_bound)
