"""The stochastic classifier of the information-plane experiment (Butakov et al., ICLR 2024).

Additive Gaussian noise at the input of every layer, kept on at evaluation, makes each layer a
noisy channel of the input, so I(X; L) is finite and data processing holds along the layers
(X -> L_1 -> L_2 -> ...). Every random draw (initialisation, noise, dropout, minibatches) comes from
generators seeded by the experiment's seed; the global torch and NumPy RNG states are never touched.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

NOISE_MODES = ("relative", "absolute")


class NoisyNet(nn.Module):
    """A classifier whose ``forward`` returns every probed layer (``layer_names``), the last being the
    log-probabilities. ``noise(x)`` adds the Gaussian noise (std ``sigma * |x|`` for ``relative``, as in
    the paper's code, or ``sigma`` for ``absolute``) and ``drop(x)`` applies dropout (training only)."""

    layer_names: tuple[str, ...] = ()

    def __init__(self, sigma: float, mode: str, dropout: float, generator: torch.Generator) -> None:
        super().__init__()
        self.sigma, self.mode, self.p, self.generator = float(sigma), mode, float(dropout), generator

    def noise(self, x: torch.Tensor) -> torch.Tensor:
        if self.sigma == 0:
            return x
        eps = torch.randn(x.shape, generator=self.generator, dtype=x.dtype)
        return x + eps * (self.sigma * x.abs() if self.mode == "relative" else self.sigma)

    def drop(self, x: torch.Tensor) -> torch.Tensor:
        # torch.nn.Dropout draws from the global RNG; this one draws from the experiment's generator
        if not self.training or self.p == 0:
            return x
        keep = torch.rand(x.shape, generator=self.generator, dtype=x.dtype) >= self.p
        return x * keep / (1.0 - self.p)


class NoisyCNN(NoisyNet):
    """The paper's MNIST classifier for small images (n, 1, h, w), h and w >= 8: three blocks
    conv 3x3 ('same' padding) - max-pool 2 - LeakyReLU with 8, 16, 32 channels, then dense 32 and the
    output layer (log-softmax). Dropout and noise before every conv block; noise before the dense layers."""

    layer_names = ("conv1", "conv2", "conv3", "dense1", "output")

    def __init__(self, shape: tuple[int, int, int], n_classes: int, sigma: float, mode: str, dropout: float,
                 generator: torch.Generator) -> None:
        super().__init__(sigma, mode, dropout, generator)
        c, h, w = shape
        self.convs = nn.ModuleList([nn.Conv2d(a, b, 3, padding="same") for a, b in ((c, 8), (8, 16), (16, 32))])
        self.dense1 = nn.Linear(32 * (h // 8) * (w // 8), 32)
        self.out = nn.Linear(32, n_classes)
        self.act = nn.LeakyReLU()

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        layers = []
        for conv in self.convs:
            x = self.act(nn.functional.max_pool2d(conv(self.noise(self.drop(x))), 2))
            layers.append(x)
        x = self.act(self.dense1(self.noise(x.flatten(1))))
        layers.append(x)
        layers.append(torch.log_softmax(self.out(self.noise(x)), dim=-1))
        return layers


class NoisyMLP(NoisyNet):
    """Dense layers ``widths`` with LeakyReLU, then the output layer (log-softmax); dropout and noise at
    the input of every hidden layer, noise at the input of the output layer."""

    def __init__(self, d_in: int, n_classes: int, widths: tuple[int, ...], sigma: float, mode: str, dropout: float,
                 generator: torch.Generator) -> None:
        super().__init__(sigma, mode, dropout, generator)
        sizes = (d_in, *widths)
        self.hidden = nn.ModuleList([nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])
        self.out = nn.Linear(sizes[-1], n_classes)
        self.act = nn.LeakyReLU()
        self.layer_names = (*(f"dense{i + 1}" for i in range(len(widths))), "output")

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        layers = []
        x = x.flatten(1)
        for lin in self.hidden:
            x = self.act(lin(self.noise(self.drop(x))))
            layers.append(x)
        layers.append(torch.log_softmax(self.out(self.noise(x)), dim=-1))
        return layers


def build_network(architecture: str, shape: tuple[int, ...], n_classes: int, *, sigma: float, mode: str,
                  dropout: float, widths: tuple[int, ...], seed: int) -> NoisyNet:
    """The seeded network (initialised inside a forked RNG, so the global torch state is untouched)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if architecture == "cnn":
            return NoisyCNN(shape, n_classes, sigma, mode, dropout, generator)
        return NoisyMLP(int(np.prod(shape)), n_classes, widths, sigma, mode, dropout, generator)


def train_epoch(net: NoisyNet, opt: torch.optim.Optimizer, x: torch.Tensor, labels: torch.Tensor, batch_size: int,
                rng: np.random.Generator) -> float:
    """One pass over the training rows in a seeded random order; returns the mean NLL loss."""
    net.train()
    order = torch.from_numpy(rng.permutation(len(x)))
    total = 0.0
    for s in range(0, len(x), batch_size):
        idx = order[s : s + batch_size]
        loss = nn.functional.nll_loss(net(x[idx])[-1], labels[idx])
        if not torch.isfinite(loss):
            raise FloatingPointError("infoplane: the classifier's training loss became non-finite")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += float(loss.detach()) * len(idx)
    return total / len(x)


@torch.no_grad()
def probe(net: NoisyNet, x: torch.Tensor, batch_size: int = 1024) -> list[np.ndarray]:
    """Every probed layer's output (flattened, float64) for the rows of ``x``, with the noise on and
    dropout off (evaluation mode, as the paper measures)."""
    net.eval()
    parts: list[list[np.ndarray]] = [[] for _ in net.layer_names]
    for s in range(0, len(x), batch_size):
        for store, out in zip(parts, net(x[s : s + batch_size])):
            store.append(out.flatten(1).double().numpy())
    return [np.concatenate(p) for p in parts]
