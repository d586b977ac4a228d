"""The neural variational estimators: one class per bound, one shared engine and set of protocols."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from mibench.estimators._common import cpu_threads

from mibench import DEVICE, SEED, Bool, Choice, Estimator, Float, Int, Param

from . import batched, engine
from .critics import ACTIVATIONS, COMBINE, CRITICS, build_critic, parse_hidden

#: Named protocols (training recipes of the literature); explicit parameters override them.
PROTOCOLS: dict[str, dict[str, Any]] = {
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
READOUT_CHOICES = ("best", "last")
#: default learning rate of conv critics, whatever the protocol: with the default protocol's 0.1 (BMI's,
#: tuned for its small MLP) the conv critic collapsed to a constant within ~100 steps on the
#: 16 x 16 bump images in 4 of 4 runs (held-out bound -80, then 0 for good); with 2e-3 it learned in
#: 4 of 4 (0.5-0.6 nats at I = 1, 6.2-6.3 at I = 10 after 300 steps, n = 2000)
CONV_LR = 2e-3


def _hidden(name: str, value) -> str:
    """Hidden widths as the canonical string ``256-256`` (or ``none``)."""
    try:
        return "-".join(map(str, parse_hidden(value))) or "none"
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


#: ``None`` (optional) means: the protocol's value
_FROM_PROTOCOL = "default: the protocol's"
COMMON: dict[str, Param] = {
    "protocol": Choice("bmi", tuple(PROTOCOLS), "training recipe: bmi (BMI benchmark) or staircase (Poole et al.)"),
    "critic": Choice(None, CRITICS, _FROM_PROTOCOL, optional=True),
    "hidden": Param(None, "hidden widths, e.g. 256-256 or none; " + _FROM_PROTOCOL, optional=True, check=_hidden),
    "embed": Int(None, "embedding size of separable, bilinear and conv critics", min=1, optional=True),
    "activation": Choice(None, tuple(ACTIVATIONS), _FROM_PROTOCOL, optional=True),
    "combine": Choice(None, COMBINE, "conv critic: separable or concat", optional=True),
    "batch_size": Int(None, "mini-batch size (>= 2: the bounds need negative pairs)", min=2, optional=True),
    "steps": Int(None, "maximum number of Adam steps", min=1, optional=True),
    "lr": Float(None, "Adam learning rate", min=0, min_open=True, optional=True),
    "train_fraction": Float(None, "share of samples for training", min=0, max=1, min_open=True, max_open=True,
                            optional=True),
    "standardize": Bool(None, "scale inputs before the split", optional=True),
    "eval_every": Int(None, "steps between held-out evaluations", min=1, optional=True),
    "early_stopping": Bool(None, "stop after patience evaluations without a new best", optional=True),
    "patience": Int(None, "evaluations without improvement before stopping", min=1, optional=True),
    "readout": Choice(None, READOUT_CHOICES, "best or last held-out value", optional=True),
    "level": Float(0.95, "nominal coverage of the interval ci", min=0, max=1, min_open=True, max_open=True),
    "ci_reps": Int(100, "held-out bootstrap resamples of the interval ci (0: no interval)", min=0),
    "device": DEVICE,
    "kernel": Choice("auto", engine.KERNELS, "auto: the fused CPU kernels for concat MLPs with ReLU, else eager torch; "
                     "fused: insist on them; eager: never"),
    "threads": Int(1, "torch CPU threads while training (0: torch's setting)", min=0),
    "seed": SEED,
}


class NeuralEstimator(Estimator):
    """Variational MI estimator: a critic network trained to maximise a lower bound.

    Parameters (``None`` takes the value of ``protocol``; the resolved values are stored, so
    ``get_params`` shows the complete configuration):
        protocol: ``bmi`` (default) or ``staircase``, see ``PROTOCOLS``.
        critic: ``concat`` | ``separable`` | ``bilinear`` | ``conv`` (images (n, c, s, s) only).
        hidden: hidden layer widths, e.g. ``256-256`` (a string), ``256`` or ``none``.
        embed: embedding size of the separable, bilinear and conv critics.
        activation: relu, leaky_relu, elu, gelu, silu, tanh or softplus.
        combine: for ``critic=conv``, ``separable`` (dot product of the embeddings) or ``concat``
            (an MLP with the ``hidden`` layers on the two embeddings).
        batch_size, steps, lr: mini-batch size, maximum number of Adam steps, learning rate
            (default from the protocol; 2e-3 for ``critic=conv``, see CONV_LR).
        train_fraction: share of the samples used for training, in (0, 1); the rest is held out
            and the bound is evaluated on all held-out pairs.
        standardize: scale inputs to zero mean, unit variance (per column; for images one scale per
            variable) on all samples before the split, as BMI does.
        eval_every: steps between held-out evaluations (also the early-stopping clock).
        early_stopping: stop after ``patience`` evaluations without a new best held-out value.
        readout: ``best`` (the highest held-out value, BMI's protocol) or ``last``.
        level, ci_reps: the info's interval ``ci`` at ``level`` (default 0.95): percentile interval of
            the read-out over ``ci_reps`` (default 100; 0: no interval) weighted bootstrap resamples of
            the held-out pairs at the selected critic (``intervals.py``; covers the evaluation noise
            only, not the training noise nor the bound's gap). About 1 CPU second at n_test = 5000,
            a fifth of a BMI-protocol fit.
        device: ``auto`` (CUDA when available), ``cpu`` or ``cuda``.
        kernel: ``auto`` (default: the fused CPU kernels of ``fused.py`` for concat MLPs with ReLU
            on CPU, eager torch elsewhere), ``fused`` (an error where they do not apply) or ``eager``.
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

    PARAMS = COMMON

    def _resolve(self, values: dict[str, Any]) -> dict[str, Any]:
        """Parameters left at None take the protocol's value (conv critics: CONV_LR for lr)."""
        base = PROTOCOLS.get(values["protocol"], {})
        out = {k: base[k] if v is None and k in base else v for k, v in values.items()}
        if values.get("lr") is None and out.get("critic") == "conv":
            out["lr"] = CONV_LR
        return out

    def _check(self, values: dict[str, Any]) -> None:
        if values["critic"] == "concat" and values["hidden"] == "none":
            raise ValueError("critic=concat needs at least one hidden layer")
        if values["critic"] == "conv" and values["combine"] == "concat" and values["hidden"] == "none":
            raise ValueError("critic=conv with combine=concat needs at least one hidden layer")

    @property
    def batch_pays(self) -> bool:
        """Whether the harness should train this estimator's seeds as one batched model
        (``estimate_batch``): on CUDA, where tiny critics are launch-bound; on CPU the fused one-seed
        kernels are faster (batched.py)."""
        return engine.resolve_device(self.device).type == "cuda"

    @property
    def accepts_images(self) -> bool:
        """The harness passes images unflattened to the conv critic."""
        return self.critic == "conv"

    def config(self) -> dict[str, Any]:
        return self.get_params()

    def objective(self) -> engine.Objective:
        return engine.Objective(self.bound)

    def build_critic(self, shape_x, shape_y, generator: torch.Generator):
        return build_critic(self.critic, tuple(shape_x), tuple(shape_y), hidden=parse_hidden(self.hidden),
                            embed=self.embed, activation=self.activation, combine=self.combine,
                            generator=generator)

    def estimate_with_info(self, x, y) -> tuple[float, dict[str, Any]]:
        with cpu_threads(self.threads):
            value, info = engine.fit_estimate(self, x, y)
        return value, {"bound": self.bound, "critic": self.critic, **info}

    def estimate_batch(self, xs, ys, seeds) -> list[tuple[float, dict[str, Any]] | Exception]:
        """Several seeds of this configuration at once: seed ``seeds[k]`` (in place of ``seed``) on
        samples (xs[k], ys[k]), all trained as one batched model (``batched.py``; it pays on CUDA,
        not on CPU). Per seed: (estimate, info), or the exception that seed alone failed with."""
        with cpu_threads(self.threads):
            results = batched.fit_estimate_batched(self, xs, ys, seeds)
        return [r if isinstance(r, Exception) else (r[0], {"bound": self.bound, "critic": self.critic, **r[1]})
                for r in results]

    def stream_estimates(self, draw, steps: int) -> tuple[np.ndarray, dict[str, Any]]:
        """Streaming training (``mibench staircase``): ``draw(step, batch_size) -> (x, y)`` gives a
        fresh batch each step; returns the per-step estimates (nats) and info."""
        with cpu_threads(self.threads):
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
    PARAMS = {"tau": Float(5.0, "clipping of the partition term's scores", min=0, min_open=True), **COMMON}

    def objective(self) -> engine.Objective:
        return engine.Objective("smile", tau=self.tau)


class MINE(NeuralEstimator):
    __doc__ = """MINE (Belghazi et al. 2018): the DV bound trained with the bias-corrected gradient whose
    partition term is an exponential moving average (extra parameter ``decay``, the weight of the
    past, default 0.9 as in BMI). Negatives are the off-diagonal pairs of the batch.

""" + (NeuralEstimator.__doc__ or "")

    bound = "mine"
    PARAMS = {"decay": Float(0.9, "weight of the past in the moving average", min=0, max=1, max_open=True), **COMMON}

    def objective(self) -> engine.Objective:
        return engine.Objective("mine", decay=self.decay)
