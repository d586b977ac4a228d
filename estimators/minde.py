"""MINDE: mutual information from the scores of a diffusion model (Franzese, Bounoua & Michiardi,
"MINDE: Mutual Information Neural Diffusion Estimation", ICLR 2024).

A variance-preserving SDE (beta(t) = beta_min + t (beta_max - beta_min), beta_min = 0.1,
beta_max = 20, T = 1) diffuses the data. One score network, conditioned on a time per variable
(t for a diffused variable, 0 for a clean conditioning variable, 1 -- input zeroed -- for a
marginalised one), learns by denoising score matching (it predicts the noise) every score that the
estimate needs. By Girsanov's theorem the KL divergence between two diffusions' path measures is
(1/2) int g(t)^2 E||s_1 - s_2||^2 dt, so

- ``variant=c`` (conditional): I(X; Y) = 1/2 int_0^T g^2 E||s_X(x_t) - s_{X|Y}(x_t | y)||^2 dt, the
  unconditional score of X against its score conditioned on the clean Y;
- ``variant=j`` (joint): I(X; Y) = 1/2 int_0^T g^2 E||s_{XY}(x_t, y_t) - [s_{X|Y}(x_t | y), s_{Y|X}(y_t | x)]||^2 dt,
  the joint score of the diffused pair against the two conditional scores.

The time integral is a Monte Carlo average over t drawn from the importance density
p(t) proportional to beta(t) / sigma_t^2 (Huang et al. 2021; uniform on [1e-5, 1] with
``importance_sampling=false``). Formulas, masks, network and defaults follow the authors' code
(github.com/MustaphaBounoua/minde, ``src/libs``); see docs/minde.md for what differs.
"""

from __future__ import annotations

import copy
import math
import time
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from mibench.estimators._ci import ci, tail_quantiles
from mibench.estimators._common import cpu_threads, resolve_device, validate_vectors_or_images
from torch import nn

from mibench import DEVICE, SEED, Bool, Choice, DivergedError, Estimator, Float, Int, standardize

VARIANTS = ("c", "j")
NETS = ("mlp", "conv")
READOUTS = ("score", "sigma")
MASK_DRAWS = ("stratified", "batch")
BETA_MIN, BETA_MAX, T_EPS, T_EPS_UNIFORM = 0.1, 20.0, 1e-3, 1e-5
#: per-variable codes of the score functions: 1 diffused, 0 clean (conditioning), -1 marginalised (zeroed)
#: (the authors' ``get_masks_training``, each repeated once per diffused variable as with
#: ``weight_s_functions=True``, so the joint score is drawn twice as often in variant j)
MASKS = {"c": ((1, -1), (1, 0)), "j": ((1, 1), (1, 1), (1, 0), (0, 1))}
GROUPS = 8  # GroupNorm groups (the authors' resnet_block_groups)
#: default budgets (about 1 CPU-minute per estimate at N = 10^4 on 10-d vectors; docs/minde.md)
BUDGETS = {"mlp": {"steps": 6000, "batch_size": 256}, "conv": {"steps": 1500, "batch_size": 64}}
EVAL_CHUNK = {"mlp": 4096, "conv": 256}  # held-out rows per forward pass (bounded memory)


# ----------------------------------------------------------------------------------------- the SDE


def _integral_beta(t):
    return 0.5 * t**2 * (BETA_MAX - BETA_MIN) + t * BETA_MIN


def marginal_coefficients(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean factor and standard deviation of p(x_t | x_0) = N(mean x_0, std^2 I)."""
    ib = _integral_beta(t)
    return torch.exp(-0.5 * ib), torch.sqrt(-torch.expm1(-ib))


def g_squared(t: torch.Tensor) -> torch.Tensor:
    return BETA_MIN + t * (BETA_MAX - BETA_MIN)


def _r(t: float) -> float:  # beta(t) / sigma_t^2, the unnormalised importance density
    return (BETA_MIN + t * (BETA_MAX - BETA_MIN)) / -math.expm1(-_integral_beta(t))


def _antiderivative(t: float) -> float:  # of r: log(exp(int beta) - 1)
    ib = _integral_beta(t)
    return math.log(-math.expm1(-ib)) + ib


#: normalising constant of the importance density on [0, 1] (constant r(T_EPS) below T_EPS)
IS_CONSTANT = _r(T_EPS) * T_EPS + _antiderivative(1.0) - _antiderivative(T_EPS)


def importance_times(u: torch.Tensor) -> torch.Tensor:
    """Inverse CDF of the truncated importance density at uniforms ``u`` (the authors' ``inv_Phi``)."""
    z, r_eps, a_eps = IS_CONSTANT, _r(T_EPS), _antiderivative(T_EPS)
    a, b = BETA_MAX - BETA_MIN, BETA_MIN
    low = z / r_eps * u
    high = (-b + torch.sqrt(b**2 + 2 * a * torch.log1p(torch.exp(z * u + a_eps - r_eps * T_EPS)))) / a
    return torch.where(u <= T_EPS * r_eps / z, low, high)


# ------------------------------------------------------------------------------- score networks


def _init_linear(layer: nn.Module, generator: torch.Generator, zero: bool = False) -> nn.Module:
    """torch's default uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) law, drawn from ``generator``."""
    with torch.no_grad():
        if zero:
            layer.weight.zero_()
            layer.bias.zero_()
        else:
            fan_in = layer.weight[0].numel()
            bound = 1.0 / math.sqrt(fan_in)
            for p in (layer.weight, layer.bias):
                p.copy_(torch.rand(p.shape, generator=generator) * (2 * bound) - bound)
    return layer


def _groups(width: int) -> int:
    return math.gcd(GROUPS, width)


class TimeEmbedding(nn.Module):
    """The per-variable times (n, 2) -> (n, width): Linear, GELU, Linear (the authors' time_mlp)."""

    def __init__(self, width: int, generator: torch.Generator) -> None:
        super().__init__()
        self.a = _init_linear(nn.Linear(2, width), generator)
        self.b = _init_linear(nn.Linear(width, width), generator)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.b(F.gelu(self.a(t)))


class ResBlock(nn.Module):
    """GroupNorm, SiLU, Linear, + time embedding, GroupNorm, SiLU, Linear, + skip (the authors' ResnetBlock)."""

    def __init__(self, width: int, generator: torch.Generator) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.GroupNorm(_groups(width), width), nn.GroupNorm(_groups(width), width)
        self.lin1 = _init_linear(nn.Linear(width, width), generator)
        self.lin2 = _init_linear(nn.Linear(width, width), generator)
        self.temb = _init_linear(nn.Linear(width, width), generator)

    def forward(self, h: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        z = self.lin1(F.silu(self.norm1(h))) + self.temb(F.silu(temb))
        return h + self.lin2(F.silu(self.norm2(z)))


class MLPScore(nn.Module):
    """Noise predictor for vectors [x, y] (n, d_x + d_y), conditioned on the two times (n, 2)."""

    def __init__(self, dim: int, width: int, blocks: int, generator: torch.Generator) -> None:
        super().__init__()
        self.inp = _init_linear(nn.Linear(dim, width), generator)
        self.time = TimeEmbedding(width, generator)
        self.blocks = nn.ModuleList(ResBlock(width, generator) for _ in range(blocks))
        self.norm = nn.GroupNorm(_groups(width), width)
        self.out = _init_linear(nn.Linear(width, dim), generator, zero=True)  # as the authors' proj

    def forward(self, z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        h, temb = self.inp(z), self.time(t)
        for block in self.blocks:
            h = block(h, temb)
        return self.out(F.silu(self.norm(h)))


class ConvBlock(nn.Module):
    """Residual block of 3x3 convolutions with a per-channel time shift."""

    def __init__(self, c_in: int, c_out: int, width: int, generator: torch.Generator) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.GroupNorm(_groups(c_in), c_in), nn.GroupNorm(_groups(c_out), c_out)
        self.conv1 = _init_linear(nn.Conv2d(c_in, c_out, 3, padding=1), generator)
        self.conv2 = _init_linear(nn.Conv2d(c_out, c_out, 3, padding=1), generator)
        self.temb = _init_linear(nn.Linear(width, c_out), generator)
        self.skip = _init_linear(nn.Conv2d(c_in, c_out, 1), generator) if c_in != c_out else nn.Identity()

    def forward(self, h: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        z = self.conv1(F.silu(self.norm1(h))) + self.temb(F.silu(temb))[:, :, None, None]
        return self.skip(h) + self.conv2(F.silu(self.norm2(z)))


class ConvScore(nn.Module):
    """Noise predictor for image pairs (x and y as 2 channels, (n, 2, h, w)): a small U-net,
    3x3 conv to ``channels``, a residual block at full resolution, a stride-2 convolution to
    2 x ``channels``, a residual block at half resolution, bilinear upsampling back to (h, w),
    concatenation with the full-resolution features, a residual block, and a zero-initialised 3x3
    convolution to the 2 noise channels. Each block is conditioned on the embedded times."""

    def __init__(self, channels: int, generator: torch.Generator) -> None:
        super().__init__()
        c, c2, width = channels, 2 * channels, 4 * channels
        self.time = TimeEmbedding(width, generator)
        self.inp = _init_linear(nn.Conv2d(2, c, 3, padding=1), generator)
        self.down_block = ConvBlock(c, c, width, generator)
        self.down = _init_linear(nn.Conv2d(c, c2, 3, stride=2, padding=1), generator)
        self.mid = ConvBlock(c2, c2, width, generator)
        self.up_block = ConvBlock(c + c2, c, width, generator)
        self.norm = nn.GroupNorm(_groups(c), c)
        self.out = _init_linear(nn.Conv2d(c, 2, 3, padding=1), generator, zero=True)

    def forward(self, z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        temb = self.time(t)
        h = self.down_block(self.inp(z), temb)
        m = self.mid(self.down(h), temb)
        m = F.interpolate(m, size=h.shape[-2:], mode="bilinear", align_corners=False)
        u = self.up_block(torch.cat([h, m], dim=1), temb)
        return self.out(F.silu(self.norm(u)))


# --------------------------------------------------------------------------------- the estimator


class MINDE(Estimator):
    """MINDE (Franzese et al., ICLR 2024): I(X; Y) in nats from the difference of the scores of a
    diffusion model, held out.

    Parameters:
        variant: ``c`` (default; conditional: unconditional score of X against the score of X given
            Y) or ``j`` (joint: the joint score of (X, Y) against the two conditional scores); one
            amortised network learns the needed scores in both cases.
        net: ``mlp`` (vectors (n, d): a residual MLP, the authors' ``UnetMLP_simple``) or ``conv``
            (images (n, 1, h, w) of equal shape for x and y: a small conv U-net, ``ConvScore``);
            with ``net=conv`` the estimator sets ``accepts_images`` and the harness passes images
            unflattened. Images with ``net=mlp``, or flat vectors with ``net=conv``, are a ValueError.
        width: MLP width (default None: the authors' rule, 64 for d_x + d_y <= 10, 128 up to 50, 256
            above) or the conv net's base channels (default None: 16).
        blocks: residual blocks of the MLP (default 2; the authors' net has one).
        steps, batch_size, lr: Adam steps (default 6000 for ``net=mlp``, 1500 for ``net=conv``),
            mini-batch size (default 256 / 64) and learning rate (default 2e-3; the authors use 1e-3
            with batch 128 for d <= 5, 2e-3 with 256 above, for far more steps).
        ema: decay of the exponential moving average of the weights used for the estimate (default
            0.995; the authors' ``--use_ema`` uses 0.999 over a much longer training; 0: the trained
            weights).
        mask_draw: ``stratified`` (default: each batch's rows are split among the score functions in
            the proportions of the authors' weighted mask list, so every step trains every score) or
            ``batch`` (the authors': one score function per batch, drawn from that list).
        importance_sampling: draw t from p(t) proportional to beta(t) / sigma_t^2 (default true, as
            the authors run it) instead of uniformly.
        mc: Monte Carlo draws of (t, noise) per held-out sample in the estimate (default 10, the
            authors' ``mc_iter``).
        readout: ``score`` (default: the difference of the two scores, the authors' ``mi``) or
            ``sigma`` (the difference of their two denoising errors against the score of a Gaussian
            of variance ``sigma``^2, the authors' ``mi_sigma``). Both are in ``info``.
        sigma: reference standard deviation of ``readout=sigma`` (default 1, the inputs being
            standardised).
        train_fraction: share of samples for training (default 0.75); the rest is held out.
        standardize: scale inputs to zero mean and unit variance before the split (default true;
            vectors per column, images one scale per variable).
        eval_every: steps between entries of the curves (default 500).
        level, ci_reps: ``info["ci"]`` at ``level`` (default 0.95): percentile interval of the
            estimate over ``ci_reps`` (default 200; 0: none) bootstrap resamples of the held-out
            samples' Monte Carlo terms at the trained network. It covers the evaluation noise only,
            not the training noise nor the estimator's bias.
        device: ``auto`` (CUDA when available), ``cpu`` or ``cuda``.
        threads: torch CPU threads while it runs (default 1; 0: torch's setting); restored afterwards.
        seed: seeds the split (NumPy ``default_rng``), the initial weights, mini-batches, times and
            noise (local ``torch.Generator``s); on CPU the same seed gives a bit-identical estimate.

    ``info``: ``mi_score``, ``mi_sigma`` (both read-outs), ``ci``, ``train_curve`` (mean training
    loss per ``eval_every`` window), ``test_curve`` (held-out estimate with one draw per sample, at
    each evaluation, EMA weights), ``test_loss_curve`` (held-out denoising loss), ``eval_steps``,
    ``n_steps``, ``train_seconds``, ``steps_per_second``, ``n_train``, ``n_test``, ``device``,
    ``parameters``. Failures: a NaN/inf training loss or estimate raises ``DivergedError`` naming
    the step; too few samples for the split or a batch larger than the training split is a
    ValueError. Cost: O(steps x batch_size x network) for training plus O(mc x n_test x network) for
    the estimate; about 1 CPU-minute at the defaults on a 10-d task (docs/minde.md).
    """

    PARAMS = {
        "variant": Choice("c", VARIANTS, "c: conditional score difference; j: joint against conditionals"),
        "net": Choice("mlp", NETS, "mlp (vectors) or conv (images (n, 1, h, w))"),
        "width": Int(None, "MLP width / conv base channels (default: 64, 128 or 256 by d; 16 channels)",
                     min=1, optional=True),
        "blocks": Int(2, "residual blocks of the MLP", min=1),
        "steps": Int(None, "Adam steps (default: 6000 for net=mlp, 1500 for net=conv)", min=1, optional=True),
        "batch_size": Int(None, "mini-batch size (default: 256 for net=mlp, 64 for net=conv)", min=1, optional=True),
        "lr": Float(2e-3, "Adam learning rate", min=0, min_open=True),
        "ema": Float(0.995, "decay of the weights' moving average used for the estimate (0: none)",
                     min=0, max=1, max_open=True),
        "mask_draw": Choice("stratified", MASK_DRAWS, "stratified: every batch trains every score; "
                            "batch: one score per batch (the authors')"),
        "importance_sampling": Bool(True, "t from p(t) ~ beta(t) / sigma_t^2 instead of uniform"),
        "mc": Int(10, "Monte Carlo draws of (t, noise) per held-out sample", min=1),
        "readout": Choice("score", READOUTS,
                          "score: score difference; sigma: difference of errors to a Gaussian score"),
        "sigma": Float(1.0, "reference std of readout=sigma", min=0, min_open=True),
        "train_fraction": Float(0.75, "share of samples for training", min=0, max=1, min_open=True, max_open=True),
        "standardize": Bool(True, "scale inputs before the split"),
        "eval_every": Int(500, "steps between entries of the curves", min=1),
        "level": Float(0.95, "nominal coverage of the interval ci", min=0, max=1, min_open=True, max_open=True),
        "ci_reps": Int(200, "bootstrap resamples of the held-out terms for ci (0: no interval)", min=0),
        "device": DEVICE,
        "threads": Int(1, "torch CPU threads while it runs (0: torch's setting)", min=0),
        "seed": SEED,
    }

    def _resolve(self, values: dict[str, Any]) -> dict[str, Any]:
        """steps and batch_size left at None take the network's default budget (BUDGETS)."""
        budget = BUDGETS.get(values["net"], BUDGETS["mlp"])
        return {k: budget[k] if v is None and k in budget else v for k, v in values.items()}

    @property
    def accepts_images(self) -> bool:
        return self.net == "conv"

    # ------------------------------------------------------------------ data

    def _prepare(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        xs, ys = validate_vectors_or_images(x, y, name="minde", min_samples=4)
        if self.net == "conv":
            for label, a in (("x", xs), ("y", ys)):
                if a.ndim != 4:
                    raise ValueError(f"minde: net=conv needs images of shape (n, 1, h, w); {label} has shape "
                                     f"{a.shape} (flat vectors need net=mlp)")
            if xs.shape[1:] != ys.shape[1:]:
                raise ValueError(f"minde: net=conv needs x and y images of the same shape, got {xs.shape[1:]} "
                                 f"and {ys.shape[1:]}")
            xs, ys = xs.astype(np.float64), ys.astype(np.float64)
            if self.standardize:  # one scale per variable, as the neural estimators do
                for label, a in (("x", xs), ("y", ys)):
                    if not a.std() > 0:
                        raise ValueError(f"minde: {label} is constant and cannot be standardised")
                xs, ys = (xs - xs.mean()) / xs.std(), (ys - ys.mean()) / ys.std()
            return xs, ys
        for label, a in (("x", xs), ("y", ys)):
            if a.ndim != 2:
                raise ValueError(f"minde: net=mlp needs flat vectors (n, d); {label} has shape {a.shape} "
                                 f"(images need net=conv)")
        if self.standardize:
            xs, ys = standardize(xs), standardize(ys)
        return xs, ys

    def _split(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        n_train = int(math.floor(self.train_fraction * n))
        if n_train < 2 or n - n_train < 2:
            raise ValueError(f"minde: too few samples for the split: {n} samples with train_fraction="
                             f"{self.train_fraction} give {n_train} for training and {n - n_train} held out "
                             f"(each needs at least 2)")
        if self.batch_size > n_train:
            raise ValueError(f"minde: batch_size={self.batch_size} is larger than the training split ({n_train} "
                             f"of {n} samples); lower batch_size or give more samples")
        perm = np.random.default_rng(self.seed).permutation(n)
        return perm[:n_train], perm[n_train:]

    # ------------------------------------------------------------------ the scores

    def _width(self, dim: int) -> int:
        if self.width is not None:
            return self.width
        if self.net == "conv":
            return 16
        return 64 if dim <= 10 else 128 if dim <= 50 else 256  # the authors' calculate_hidden_dim

    def _times(self, n: int, gen: torch.Generator) -> torch.Tensor:
        u = torch.rand(n, generator=gen, dtype=torch.float64)
        if self.importance_sampling:
            return importance_times(u).float()
        return ((1.0 - T_EPS_UNIFORM) * u + T_EPS_UNIFORM).float()

    def _inputs(self, x0, y0, code, t, nx, ny):
        """The network's input for the scores ``code`` at times t (n,): per variable 1 (diffused, time
        t), 0 (clean, time 0) or -1 (marginalised: zeroed, time 1); ``code`` is one pair for the
        whole batch or a pair of (n,) tensors, one code per row."""
        mean, std = marginal_coefficients(t)
        shape = (-1,) + (1,) * (x0.dim() - 1)
        mean, std = mean.view(shape), std.view(shape)
        parts, times = [], []
        for v0, noise, c in ((x0, nx, code[0]), (y0, ny, code[1])):
            c = torch.as_tensor(c, device=t.device).expand(len(t))
            cv = c.view(shape)
            parts.append(torch.where(cv == 1, mean * v0 + std * noise, torch.where(cv == 0, v0, torch.zeros_like(v0))))
            times.append(torch.where(c == 1, t, torch.where(c == 0, torch.zeros_like(t), torch.ones_like(t))))
        return torch.cat(parts, dim=1), torch.stack(times, dim=1)

    def _split_out(self, out, dx):
        return out[:, :dx], out[:, dx:]

    def _loss(self, net, x0, y0, code, t, nx, ny) -> torch.Tensor:
        """The authors' training loss: squared noise error on the diffused variables, divided by
        their size and weighted by 1 + (share of the other variables); ``code`` as in ``_inputs``."""
        z, tt = self._inputs(x0, y0, code, t, nx, ny)
        ex, ey = self._split_out(net(z, tt), x0.shape[1])
        dx, dy = x0[0].numel(), y0[0].numel()
        on_x = (torch.as_tensor(code[0], device=t.device) == 1).expand(len(t)).float()
        on_y = (torch.as_tensor(code[1], device=t.device) == 1).expand(len(t)).float()
        err = on_x * (ex - nx).square().flatten(1).sum(1) + on_y * (ey - ny).square().flatten(1).sum(1)
        n_diff = on_x * dx + on_y * dy
        weight = 1.0 + (dx + dy - n_diff) / (dx + dy)
        return (weight * err / n_diff).mean()

    def _batch_codes(self, n: int, gen: torch.Generator):
        """The scores trained on a batch of n rows: ``mask_draw=batch`` one code drawn for the batch
        (the authors' default), ``stratified`` the rows split among the codes of MASKS in their
        proportions (every step trains every score)."""
        masks = MASKS[self.variant]
        if self.mask_draw == "batch":
            return masks[int(torch.randint(len(masks), (1,), generator=gen))]
        table = torch.tensor(masks)
        rows = table[torch.arange(n) % len(masks)]
        return rows[:, 0], rows[:, 1]

    def _terms(self, net, x0, y0, gen: torch.Generator, chunk: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-sample Monte Carlo terms of the two read-outs (score, sigma) at one draw of (t, noise)."""
        out_s, out_g = [], []
        for start in range(0, len(x0), chunk):
            xb, yb = x0[start:start + chunk], y0[start:start + chunk]
            n = len(xb)
            t = self._times(n, gen).to(xb.device)
            nx = torch.randn(xb.shape, generator=gen).to(xb.device)
            ny = torch.randn(yb.shape, generator=gen).to(xb.device)
            s, g = self._draw_terms(net, xb, yb, t, nx, ny)
            out_s.append(s)
            out_g.append(g)
        return torch.cat(out_s), torch.cat(out_g)

    def _draw_terms(self, net, x0, y0, t, nx, ny):
        mean, std = marginal_coefficients(t)
        shape = (-1,) + (1,) * (x0.dim() - 1)
        mean_v, std_v = mean.view(shape), std.view(shape)
        dx = x0.shape[1]

        def eps(code):
            z, tt = self._inputs(x0, y0, code, t, nx, ny)
            return self._split_out(net(z, tt), dx)

        x_t, y_t = mean_v * x0 + std_v * nx, mean_v * y0 + std_v * ny
        # eps-predictions e: the score is -e / std; ref: std x the score of N(0, sigma^2) diffused
        chi = (mean_v**2 * self.sigma**2 + std_v**2)
        if self.variant == "c":
            e_marg, e_cond = eps((1, -1))[0], eps((1, 0))[0]
            a, b, ref = e_marg, e_cond, std_v * x_t / chi
        else:
            jx, jy = eps((1, 1))
            cx, cy = eps((1, 0))[0], eps((0, 1))[1]
            a = torch.cat([jx.flatten(1), jy.flatten(1)], 1)
            b = torch.cat([cx.flatten(1), cy.flatten(1)], 1)
            ref = torch.cat([(std_v * x_t / chi).flatten(1), (std_v * y_t / chi).flatten(1)], 1)
        a, b, ref = a.flatten(1), b.flatten(1), ref.flatten(1)
        # e = -std s and ref = -std s_ref, so ||s_1 - s_2||^2 = ||e_1 - e_2||^2 / std^2
        if self.importance_sampling:  # t ~ g^2 / sigma_t^2 / Z: g^2 / std^2 cancels against the density
            w = torch.full_like(t, IS_CONSTANT)
        else:
            w = g_squared(t) / std**2
        # a: the unconditional (c) / joint (j) prediction, b: the conditional one(s)
        score = 0.5 * w * (a - b).square().sum(1)
        sig = 0.5 * w * ((b - ref).square().sum(1) - (a - ref).square().sum(1))
        return score.double(), sig.double()

    # ------------------------------------------------------------------ fit

    def estimate_with_info(self, x, y) -> tuple[float, dict[str, Any]]:
        with cpu_threads(self.threads):
            return self._fit(x, y)

    def _fit(self, x, y) -> tuple[float, dict[str, Any]]:
        xs, ys = self._prepare(x, y)
        train, test = self._split(len(xs))
        device = torch.device(resolve_device(self.device))
        to = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(device)
        x_tr, y_tr, x_te, y_te = to(xs[train]), to(ys[train]), to(xs[test]), to(ys[test])
        gen = torch.Generator().manual_seed(self.seed)  # weights, then batches, masks, times, noise
        eval_seed = int(np.random.default_rng([self.seed, 1]).integers(2**62))
        dim = int(x_tr[0].numel() + y_tr[0].numel())
        if self.net == "conv":
            net = ConvScore(self._width(dim), gen)
        else:
            net = MLPScore(dim, self._width(dim), self.blocks, gen)
        net = net.to(device)
        avg = copy.deepcopy(net) if self.ema > 0 else net
        for p in avg.parameters():
            p.requires_grad_(False)
        opt = torch.optim.Adam(net.parameters(), lr=self.lr)
        chunk = EVAL_CHUNK[self.net]
        train_curve, test_curve, test_loss_curve, eval_steps, window = [], [], [], [], []
        t0 = time.perf_counter()
        for step in range(1, self.steps + 1):
            net.train()
            idx = torch.randperm(len(x_tr), generator=gen)[: self.batch_size].to(device)
            code = self._batch_codes(len(idx), gen)
            code = tuple(c.to(device) for c in code) if isinstance(code[0], torch.Tensor) else code
            xb, yb = x_tr[idx], y_tr[idx]
            t = self._times(len(idx), gen).to(device)
            nx = torch.randn(xb.shape, generator=gen).to(device)
            ny = torch.randn(yb.shape, generator=gen).to(device)
            loss = self._loss(net, xb, yb, code, t, nx, ny)
            value = float(loss.detach())
            if not math.isfinite(value):
                raise DivergedError(f"minde: diverged at step {step} (training loss is {value})")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if self.ema > 0:
                with torch.no_grad():
                    for pa, pn in zip(avg.parameters(), net.parameters()):
                        pa.lerp_(pn, 1.0 - self.ema)
            window.append(value)
            if step % self.eval_every == 0 or step == self.steps:
                train_curve.append(float(np.mean(window)))
                window = []
                mi, held_loss = self._evaluate(avg, x_te, y_te, eval_seed, chunk)
                if not math.isfinite(mi):
                    raise DivergedError(f"minde: diverged at step {step} (held-out estimate is {mi})")
                test_curve.append(mi)
                test_loss_curve.append(held_loss)
                eval_steps.append(step)
        train_seconds = time.perf_counter() - t0
        # the estimate: mc draws of (t, noise) per held-out sample, EMA weights
        avg.eval()
        egen = torch.Generator().manual_seed(eval_seed + 1)
        sums_s = torch.zeros(len(x_te), dtype=torch.float64, device=device)
        sums_g = torch.zeros_like(sums_s)
        with torch.no_grad():
            for _ in range(self.mc):
                s, g = self._terms(avg, x_te, y_te, egen, chunk)
                sums_s += s
                sums_g += g
        terms_s, terms_g = (sums_s / self.mc).cpu().numpy(), (sums_g / self.mc).cpu().numpy()
        terms = terms_s if self.readout == "score" else terms_g
        estimate = float(terms.mean())
        if not math.isfinite(estimate):
            raise DivergedError(f"minde: diverged at step {self.steps} (the estimate is {estimate})")
        info: dict[str, Any] = {
            "variant": self.variant, "net": self.net, "readout": self.readout,
            "mi_score": float(terms_s.mean()), "mi_sigma": float(terms_g.mean()),
            "stderr": float(terms.std(ddof=1) / math.sqrt(len(terms))),
            "device": str(device), "n_train": len(train), "n_test": len(test), "n_steps": self.steps,
            "train_seconds": train_seconds, "steps_per_second": self.steps / max(train_seconds, 1e-9),
            "parameters": sum(p.numel() for p in net.parameters()),
            "width": self._width(dim),
            "train_curve": train_curve, "test_curve": test_curve, "test_loss_curve": test_loss_curve,
            "eval_steps": eval_steps,
        }
        if self.ci_reps:
            values = bootstrap_means(terms, self.ci_reps, self.seed)
            low, high = tail_quantiles(values, self.level)
            info.update(ci=ci(low, high, self.level), ci_method="heldout-bootstrap", ci_reps=self.ci_reps)
        return estimate, info

    def _evaluate(self, net, x_te, y_te, seed: int, chunk: int) -> tuple[float, float]:
        """Held-out estimate (one draw of (t, noise) per sample) and held-out denoising loss (every
        mask, same draws), with the same seeded draws at every evaluation."""
        net.eval()
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            s, g = self._terms(net, x_te, y_te, gen, chunk)
            mi = float((s if self.readout == "score" else g).mean())
            losses = []
            for code in sorted(set(MASKS[self.variant])):
                total = 0.0
                for start in range(0, len(x_te), chunk):
                    xb, yb = x_te[start:start + chunk], y_te[start:start + chunk]
                    t = self._times(len(xb), gen).to(xb.device)
                    nx = torch.randn(xb.shape, generator=gen).to(xb.device)
                    ny = torch.randn(yb.shape, generator=gen).to(xb.device)
                    total += float(self._loss(net, xb, yb, code, t, nx, ny)) * len(xb)
                losses.append(total / len(x_te))
        return mi, float(np.mean(losses))


def bootstrap_means(terms: np.ndarray, reps: int, seed: int) -> np.ndarray:
    """Means of ``reps`` resamples with replacement of ``terms`` (multinomial multiplicities, seeded)."""
    n = len(terms)
    rng = np.random.default_rng([seed, 0x5EED])
    out = np.empty(reps)
    for r in range(reps):
        out[r] = np.bincount(rng.integers(0, n, n), minlength=n) @ terms / n
    return out
