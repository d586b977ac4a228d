"""The neural variational estimators: one class per bound, one shared engine and set of presets."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch

from mibench import Estimator

from . import engine
from .critics import ACTIVATIONS, COMBINE, CRITICS, build_critic, parse_hidden

#: Named protocols; explicit parameters override them.
PRESETS: dict[str, dict[str, Any]] = {
    # BMI benchmark (Czyz et al. 2023, benchmark-mi 0.1.3): MLP critic on [x, y] with ReLU layers
    # 16-8, Adam lr 0.1, batch 256 drawn without replacement, at most 10,000 steps, inputs
    # standardised on all data, 50/50 split, the held-out bound (whole test split) every 250 steps,
    # early stopping after 2 evaluations without improvement, estimate = best held-out value.
    "bmi": {
        "critic": "concat", "hidden": "16-8", "embed": 16, "activation": "relu", "combine": "separable",
        "batch_size": 256, "steps": 10_000, "lr": 0.1, "train_fraction": 0.5, "standardize": True,
        "eval_every": 250, "early_stopping": True, "patience": 2, "readout": "best",
    },
    # Poole et al. 2019 / Song & Ermon 2020: separable critic, two ReLU layers of 256, embedding 32,
    # batch 64, Adam 5e-4, 4,000 steps (per MI level in the streaming staircase); on finite data the
    # estimate is the held-out bound after the last step.
    "staircase": {
        "critic": "separable", "hidden": "256-256", "embed": 32, "activation": "relu", "combine": "separable",
        "batch_size": 64, "steps": 4_000, "lr": 5e-4, "train_fraction": 0.5, "standardize": True,
        "eval_every": 500, "early_stopping": False, "patience": 2, "readout": "last",
    },
}
COMMON = ("preset", "critic", "hidden", "embed", "activation", "combine", "batch_size", "steps", "lr",
          "train_fraction", "standardize", "eval_every", "early_stopping", "patience", "readout", "device",
          "threads", "seed")
READOUT_CHOICES = ("best", "last")
#: default learning rate of conv critics, whatever the preset: with the default preset's 0.1 (BMI's
#: protocol, tuned for its small MLP) the conv critic collapsed to a constant within ~100 steps on the
#: 16 x 16 bump images in 4 of 4 runs (held-out bound -80, then 0 for good); with 2e-3 it learned in
#: 4 of 4 (0.5-0.6 nats at I = 1, 6.2-6.3 at I = 10 after 300 steps, n = 2000)
CONV_LR = 2e-3
DEVICES = ("auto", "cpu", "cuda")


def _posint(name: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
        raise ValueError(f"{name} must be a positive integer, got {v!r}")
    return int(v)


def _choice(name: str, v, choices) -> str:
    if v not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {v!r}")
    return v


def _bool(name: str, v) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"{name} must be true or false, got {v!r}")
    return v


def _float(name: str, v, lo: float, hi: float, lo_open=True, hi_open=True) -> float:
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise ValueError(f"{name} must be a number, got {v!r}")
    v = float(v)
    if not np.isfinite(v) or (v <= lo if lo_open else v < lo) or (v >= hi if hi_open else v > hi):
        raise ValueError(f"{name} must lie in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}, got {v!r}")
    return v


class NeuralEstimator(Estimator):
    """Variational MI estimator: a critic network trained to maximise a lower bound.

    Parameters (``None`` takes the value of ``preset``; the resolved values are stored, so
    ``get_params`` shows the complete configuration):
        preset: ``bmi`` (default) or ``staircase``, see ``PRESETS``.
        critic: ``concat`` | ``separable`` | ``bilinear`` | ``conv`` (images (n, c, s, s) only).
        hidden: hidden layer widths, e.g. ``256-256`` (a string), ``256`` or ``none``.
        embed: embedding size of the separable, bilinear and conv critics.
        activation: relu, leaky_relu, elu, gelu, silu, tanh or softplus.
        combine: for ``critic=conv``, ``separable`` (dot product of the embeddings) or ``concat``
            (an MLP with the ``hidden`` layers on the two embeddings).
        batch_size, steps, lr: mini-batch size, maximum number of Adam steps, learning rate
            (default from the preset; 2e-3 for ``critic=conv``, see CONV_LR).
        train_fraction: share of the samples used for training, in (0, 1); the rest is held out
            and the bound is evaluated on all held-out pairs.
        standardize: scale inputs to zero mean, unit variance (per column; for images one scale per
            variable) on all samples before the split, as BMI does.
        eval_every: steps between held-out evaluations (also the early-stopping clock).
        early_stopping: stop after ``patience`` evaluations without a new best held-out value.
        readout: ``best`` (the highest held-out value, BMI's protocol) or ``last``.
        device: ``auto`` (CUDA when available), ``cpu`` or ``cuda``.
        threads: torch CPU threads while this estimator runs (default 1: the harness already runs
            one cell per core, and these small networks gain nothing from intra-op threads; 0 keeps
            torch's setting). Restored afterwards.
        seed: seeds the split (NumPy), the initial weights and the mini-batches (a local
            torch.Generator); on CPU the same seed gives a bit-identical estimate.

    Assumptions: i.i.d. pairs; the estimate is a (stochastic, finite-sample) lower bound of the
    bound's family, so it can be negative or, through sampling noise, slightly above the truth.
    Complexity: O(steps x batch^2 x width) time for the concat critic (all pairs of the batch),
    O(steps x batch x width^2) for separable ones, plus O(n_test^2) per evaluation; memory
    O(n_test^2) floats for the held-out score matrix.
    Failures: a NaN/inf objective raises ``DivergedError`` "diverged at step S"; a batch larger
    than the training split, or too few samples for the split, raises ValueError before training.
    """

    bound: str = ""
    #: extra (bound-specific) parameter names; subclasses add them
    EXTRA: tuple[str, ...] = ()

    def __init__(self, preset: str = "bmi", critic: str | None = None, hidden=None, embed: int | None = None,
                 activation: str | None = None, combine: str | None = None, batch_size: int | None = None,
                 steps: int | None = None, lr: float | None = None, train_fraction: float | None = None,
                 standardize: bool | None = None, eval_every: int | None = None, early_stopping: bool | None = None,
                 patience: int | None = None, readout: str | None = None, device: str = "auto",
                 threads: int = 1, seed: int = 0) -> None:
        _choice("preset", preset, tuple(PRESETS))
        base = PRESETS[preset]
        given = dict(critic=critic, hidden=hidden, embed=embed, activation=activation, combine=combine,
                     batch_size=batch_size, steps=steps, lr=lr, train_fraction=train_fraction,
                     standardize=standardize, eval_every=eval_every, early_stopping=early_stopping,
                     patience=patience, readout=readout)
        cfg = {k: base[k] if v is None else v for k, v in given.items()}
        if lr is None and cfg["critic"] == "conv":
            cfg["lr"] = CONV_LR
        self.preset = preset
        self.critic = _choice("critic", cfg["critic"], CRITICS)
        self.hidden = "-".join(map(str, parse_hidden(cfg["hidden"]))) or "none"
        self.embed = _posint("embed", cfg["embed"])
        self.activation = _choice("activation", cfg["activation"], tuple(ACTIVATIONS))
        self.combine = _choice("combine", cfg["combine"], COMBINE)
        self.batch_size = _posint("batch_size", cfg["batch_size"])
        if self.batch_size < 2:
            raise ValueError(f"batch_size must be at least 2 (the bounds need negative pairs), got {self.batch_size}")
        self.steps = _posint("steps", cfg["steps"])
        self.lr = _float("lr", cfg["lr"], 0.0, float("inf"))
        self.train_fraction = _float("train_fraction", cfg["train_fraction"], 0.0, 1.0)
        self.standardize = _bool("standardize", cfg["standardize"])
        self.eval_every = _posint("eval_every", cfg["eval_every"])
        self.early_stopping = _bool("early_stopping", cfg["early_stopping"])
        self.patience = _posint("patience", cfg["patience"])
        self.readout = _choice("readout", cfg["readout"], READOUT_CHOICES)
        self.device = _choice("device", device, DEVICES)
        if isinstance(threads, bool) or not isinstance(threads, numbers.Integral) or threads < 0:
            raise ValueError(f"threads must be a non-negative integer (0: torch's default), got {threads!r}")
        self.threads = int(threads)
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.seed = int(seed)
        if self.critic == "concat" and self.hidden == "none":
            raise ValueError("critic=concat needs at least one hidden layer")
        if self.critic == "conv" and self.combine == "concat" and self.hidden == "none":
            raise ValueError("critic=conv with combine=concat needs at least one hidden layer")
        #: the harness passes images unflattened to estimators that accept them
        self.accepts_images = self.critic == "conv"

    def get_params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in (*self.EXTRA, *COMMON)}

    def config(self) -> dict[str, Any]:
        return self.get_params()

    def objective(self) -> engine.Objective:
        return engine.Objective(self.bound)

    def build_critic(self, shape_x, shape_y, generator: torch.Generator):
        return build_critic(self.critic, tuple(shape_x), tuple(shape_y), hidden=parse_hidden(self.hidden),
                            embed=self.embed, activation=self.activation, combine=self.combine,
                            generator=generator)

    def estimate_with_info(self, x, y) -> tuple[float, dict[str, Any]]:
        with engine.cpu_threads(self.threads):
            value, info = engine.fit_estimate(self, x, y)
        return value, {"bound": self.bound, "critic": self.critic, **info}

    def stream_estimates(self, draw, steps: int) -> tuple[np.ndarray, dict[str, Any]]:
        """Streaming training (``mibench staircase``): ``draw(step, batch_size) -> (x, y)`` gives a
        fresh batch each step; returns the per-step estimates (nats) and info."""
        with engine.cpu_threads(self.threads):
            return engine.fit_stream(self, draw, steps)


class InfoNCE(NeuralEstimator):
    __doc__ = """InfoNCE (van den Oord et al. 2018): low variance, but never above log(batch) in training and
    log(n_test) at read-out.

""" + (NeuralEstimator.__doc__ or "")

    bound = "infonce"


class DV(NeuralEstimator):
    __doc__ = """Donsker-Varadhan bound, trained with its plain (biased) mini-batch gradient.

""" + (NeuralEstimator.__doc__ or "")

    bound = "dv"


class NWJ(NeuralEstimator):
    __doc__ = """NWJ / f-divergence bound (Nguyen et al. 2010): unbiased but high-variance.

""" + (NeuralEstimator.__doc__ or "")

    bound = "nwj"


class JS(NeuralEstimator):
    __doc__ = """Critic trained with the Jensen-Shannon (f-GAN) objective; MI read out with NWJ at the critic
    + 1, mean s_ii + 1 - mean_{i != j} exp s_ij, a lower bound that is tight at the JS optimum
    (Poole et al. 2019).

""" + (NeuralEstimator.__doc__ or "")

    bound = "js"


class SMILE(NeuralEstimator):
    __doc__ = """SMILE (Song & Ermon 2020): JS-trained critic, read out with the DV bound whose partition
    term uses scores clipped to [-tau, tau] (extra parameter ``tau``, default 5).

""" + (NeuralEstimator.__doc__ or "")

    bound = "smile"
    EXTRA = ("tau",)

    def __init__(self, tau: float = 5.0, **params) -> None:
        self.tau = _float("tau", tau, 0.0, float("inf"))
        super().__init__(**params)

    def objective(self) -> engine.Objective:
        return engine.Objective("smile", tau=self.tau)


class MINE(NeuralEstimator):
    __doc__ = """MINE (Belghazi et al. 2018): the DV bound trained with the bias-corrected gradient whose
    partition term is an exponential moving average (extra parameter ``decay``, the weight of the
    past, default 0.9 as in BMI). Negatives are the off-diagonal pairs of the batch.

""" + (NeuralEstimator.__doc__ or "")

    bound = "mine"
    EXTRA = ("decay",)

    def __init__(self, decay: float = 0.9, **params) -> None:
        self.decay = _float("decay", decay, 0.0, 1.0, lo_open=False)
        super().__init__(**params)

    def objective(self) -> engine.Objective:
        return engine.Objective("mine", decay=self.decay)
