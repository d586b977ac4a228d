"""Critic networks f(x, y) -> score, evaluated on all pairs of a batch at once.

Every critic maps (x of shape (n, ...), y of shape (m, ...)) to the (n, m) score matrix
``scores[i, j] = f(x_i, y_j)``. Parameters are initialised from an explicit ``torch.Generator``
(the same uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) law as ``torch.nn.Linear``), never from the
global RNG.

- ``concat``: an MLP on the concatenation [x, y]. Its first layer is split, W [x; y] = W_x x + W_y y,
  so the n x m pairs cost one (n + m)-row matrix product plus a broadcast add (BMI's MLP critic).
- ``separable``: g(x)^T h(y), two MLPs ending in an ``embed``-dimensional embedding.
- ``bilinear``: g(x)^T W h(y) with a learned square W (g, h as in ``separable``; with no hidden
  layers g and h are the identity and the critic is x^T W y).
- ``conv``: for images (n, c, h, w): a small conv net per variable (two stride-2 3x3 convolutions,
  16 and 32 channels, then a linear map to ``embed``), combined separably or by an MLP on the
  concatenated embeddings (``combine``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from . import fused

ACTIVATIONS = {
    "relu": F.relu,
    "leaky_relu": F.leaky_relu,
    "elu": F.elu,
    "gelu": F.gelu,
    "silu": F.silu,
    "tanh": torch.tanh,
    "softplus": F.softplus,
}
CRITICS = ("concat", "separable", "bilinear", "conv")
COMBINE = ("separable", "concat")


def parse_hidden(hidden) -> tuple[int, ...]:
    """Hidden layer widths from ``"256-256"``, ``256``, ``(256, 256)`` or ``""``/``"none"``/0 (no hidden layer)."""
    if isinstance(hidden, bool):
        raise ValueError(f"hidden must be layer widths such as 256-256, got {hidden!r}")
    if isinstance(hidden, int):
        parts = [hidden] if hidden != 0 else []
    elif isinstance(hidden, str):
        text = hidden.strip().lower()
        parts = [] if text in ("", "none", "0") else text.split("-")
        try:
            parts = [int(p) for p in parts]
        except ValueError:
            raise ValueError(f"hidden must be layer widths separated by '-', e.g. 256-256, got {hidden!r}") from None
    elif isinstance(hidden, (list, tuple)):
        parts = list(hidden)
    else:
        raise ValueError(f"hidden must be layer widths such as 256-256, got {hidden!r}")
    if any(isinstance(p, bool) or not isinstance(p, int) or p < 1 for p in parts):
        raise ValueError(f"hidden layer widths must be positive integers, got {hidden!r}")
    return tuple(parts)


def _uniform(shape, fan_in: int, generator: torch.Generator) -> nn.Parameter:
    bound = 1.0 / math.sqrt(fan_in)
    return nn.Parameter(torch.rand(shape, generator=generator, dtype=torch.float32) * (2 * bound) - bound)


class Dense(nn.Module):
    def __init__(self, d_in: int, d_out: int, generator: torch.Generator) -> None:
        super().__init__()
        self.weight = _uniform((d_out, d_in), d_in, generator)
        self.bias = _uniform((d_out,), d_in, generator)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return F.linear(z, self.weight, self.bias)


class MLP(nn.Module):
    """d_in -> hidden... -> d_out, activation between layers, none after the last."""

    def __init__(self, d_in: int, hidden: tuple[int, ...], d_out: int, act, generator: torch.Generator) -> None:
        super().__init__()
        dims = [d_in, *hidden, d_out]
        self.layers = nn.ModuleList(Dense(a, b, generator) for a, b in zip(dims, dims[1:]))
        self.act = act

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        for layer in self.layers[:-1]:
            z = self.act(layer(z))
        return self.layers[-1](z)


class ConcatCritic(nn.Module):
    def __init__(self, d_x: int, d_y: int, hidden: tuple[int, ...], act, generator: torch.Generator) -> None:
        super().__init__()
        if not hidden:
            raise ValueError("the concat critic needs at least one hidden layer (a linear critic on [x, y] "
                             "is additive in x and y and cannot see dependence)")
        first = Dense(d_x + d_y, hidden[0], generator)
        self.w_x = nn.Parameter(first.weight.data[:, :d_x].clone())
        self.w_y = nn.Parameter(first.weight.data[:, d_x:].clone())
        self.b = nn.Parameter(first.bias.data.clone())
        self.rest = MLP(hidden[0], hidden[1:], 1, act, generator)
        self.act = act

    #: activations per row block; blocks of ~512 KiB stay in cache (about 20% faster on CPU than one block)
    BLOCK = 2**17
    #: score the pairs with the fused CPU kernels (module ``fused``) instead of eager torch; the
    #: engine turns it on (its ``kernel`` choice) where ``fused_unsupported`` is None
    fused_kernels = False

    def fused_unsupported(self, device: torch.device) -> str | None:
        """None when the fused kernels can run this critic on ``device``, else the reason they cannot."""
        name = next((k for k, f in ACTIVATIONS.items() if f is self.act), repr(self.act))
        widths = (self.b.numel(), *(layer.weight.shape[0] for layer in self.rest.layers[:-1]))
        return fused.unsupported(name, widths, device, self.b.dtype)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        a = F.linear(x, self.w_x, self.b)  # (n, h)
        if self.fused_kernels:
            return fused.pair_scores(a, F.linear(y, self.w_y), self.rest.layers)
        b = F.linear(y, self.w_y).unsqueeze(0)  # (1, m, h)
        rows = max(1, self.BLOCK // (b.shape[1] * b.shape[2])) if a.device.type == "cpu" else len(a)
        if rows >= len(a):
            return self.rest(self.act(a.unsqueeze(1) + b)).squeeze(-1)  # (n, m, h) -> (n, m)
        return torch.cat([self.rest(self.act(a[i : i + rows].unsqueeze(1) + b)).squeeze(-1)
                          for i in range(0, len(a), rows)])

    def pairwise(self, x: torch.Tensor, y: torch.Tensor, max_elements: int) -> torch.Tensor:
        """The same matrix as ``forward``, computed in row blocks of at most ``max_elements`` activations
        (the fused kernels hold one row's activations at a time: one call, 2.4x faster than blocks
        of 10 rows at m = 50,000, and the same scores bit for bit, since each row is computed alone)."""
        if self.fused_kernels:
            return self(x, y)
        width = max([self.b.numel()] + [layer.weight.shape[0] for layer in self.rest.layers])
        rows = max(1, max_elements // max(1, len(y) * width))
        return torch.cat([self(x[i : i + rows], y) for i in range(0, len(x), rows)])


class SeparableCritic(nn.Module):
    def __init__(self, d_x: int, d_y: int, hidden: tuple[int, ...], embed: int, act, generator) -> None:
        super().__init__()
        self.g = MLP(d_x, hidden, embed, act, generator)
        self.h = MLP(d_y, hidden, embed, act, generator)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.g(x) @ self.h(y).T


class BilinearCritic(nn.Module):
    def __init__(self, d_x: int, d_y: int, hidden: tuple[int, ...], embed: int, act, generator) -> None:
        super().__init__()
        if hidden:
            self.g, self.h = MLP(d_x, hidden, embed, act, generator), MLP(d_y, hidden, embed, act, generator)
            e_x = e_y = embed
        else:
            self.g = self.h = nn.Identity()
            e_x, e_y = d_x, d_y
        self.w = _uniform((e_x, e_y), e_y, generator)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.g(x) @ self.w @ self.h(y).T


class ConvTower(nn.Module):
    """(n, c, h, w) -> (n, embed): conv3x3/2 (16) -> act -> conv3x3/2 (32) -> act -> flatten -> linear."""

    CHANNELS = (16, 32)

    def __init__(self, shape: tuple[int, ...], embed: int, act, generator: torch.Generator) -> None:
        super().__init__()
        c, h, w = shape
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for c_out in self.CHANNELS:
            self.weights.append(_uniform((c_out, c, 3, 3), c * 9, generator))
            self.biases.append(_uniform((c_out,), c * 9, generator))
            c, h, w = c_out, (h + 1) // 2, (w + 1) // 2
        self.out = Dense(c * h * w, embed, generator)
        self.act = act

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        for w, b in zip(self.weights, self.biases):
            z = self.act(F.conv2d(z, w, b, stride=2, padding=1))
        return self.out(z.flatten(1))


class ConvCritic(nn.Module):
    def __init__(self, shape_x, shape_y, hidden: tuple[int, ...], embed: int, combine: str, act, generator) -> None:
        super().__init__()
        self.g = ConvTower(shape_x, embed, act, generator)
        self.h = ConvTower(shape_y, embed, act, generator)
        self.head = ConcatCritic(embed, embed, hidden, act, generator) if combine == "concat" else None

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        gx, hy = self.g(x), self.h(y)
        return gx @ hy.T if self.head is None else self.head(gx, hy)

    def pairwise(self, x: torch.Tensor, y: torch.Tensor, max_elements: int) -> torch.Tensor:
        gx = torch.cat([self.g(x[i : i + 256]) for i in range(0, len(x), 256)])
        hy = torch.cat([self.h(y[i : i + 256]) for i in range(0, len(y), 256)])
        return gx @ hy.T if self.head is None else self.head.pairwise(gx, hy, max_elements)


def build_critic(kind: str, shape_x: tuple[int, ...], shape_y: tuple[int, ...], *, hidden: tuple[int, ...],
                 embed: int, activation: str, combine: str, generator: torch.Generator) -> nn.Module:
    """A critic for samples of shape ``shape_x`` / ``shape_y`` (one sample, without the batch axis)."""
    act = ACTIVATIONS[activation]
    if kind == "conv":
        return ConvCritic(shape_x, shape_y, hidden, embed, combine, act, generator)
    d_x, d_y = shape_x[0], shape_y[0]
    if kind == "concat":
        return ConcatCritic(d_x, d_y, hidden, act, generator)
    if kind == "separable":
        return SeparableCritic(d_x, d_y, hidden, embed, act, generator)
    if kind == "bilinear":
        return BilinearCritic(d_x, d_y, hidden, embed, act, generator)
    raise ValueError(f"critic must be one of {', '.join(CRITICS)}, got {kind!r}")
