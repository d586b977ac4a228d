"""The training engine shared by every neural estimator.

``fit_estimate`` (finite data): validate -> standardise -> seeded train/test split -> train the
critic with Adam on mini-batches drawn without replacement from the training split -> read the
bound out on the held-out split every ``eval_every`` steps (optionally stopping early) -> the
estimate is the best (BMI's protocol) or the last held-out value.

``fit_stream`` (streaming): a fresh batch every step from a caller's ``draw(step, batch_size)``;
the per-step estimate is the bound's value on that batch (Poole et al. 2019, Song & Ermon 2020).

Everything runs in float32. Randomness comes only from the estimator's seed: NumPy
``default_rng(seed)`` for the split, a local ``torch.Generator`` seeded with it for the critic's
initial weights and the mini-batches, so on CPU the same seed gives a bit-identical estimate.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from mibench.estimators._common import resolve_device as _resolve_device

from mibench import DivergedError, standardize, validate_xy

from . import bounds, intervals
from .critics import ConcatCritic

#: ``kernel`` choices: ``auto`` runs the fused CPU kernels (module ``fused``) wherever they apply,
#: that is for a concat MLP (the concat critic, or the conv critic's concat head) with ReLU
#: layers, in float32 on CPU, and eager torch everywhere else (other critics and activations, CUDA);
#: ``fused`` insists on them (ValueError where they do not apply); ``eager`` never uses them
KERNELS = ("auto", "fused", "eager")


def resolve_device(device: str) -> torch.device:
    return torch.device(_resolve_device(device))


class Objective:
    """The training objective of one bound, with MINE's moving-average state."""

    def __init__(self, bound: str, tau: float | None = None, decay: float | None = None) -> None:
        self.bound, self.tau, self.decay = bound, tau, decay
        self.log_denominator = -math.inf

    def __call__(self, scores: torch.Tensor) -> torch.Tensor:
        """A tensor whose value is the bound's MI value on this batch and whose gradient trains the critic."""
        if self.bound == "mine":
            self.log_denominator = bounds.mine_log_denominator(self.log_denominator, scores, self.decay)
            return bounds.mine_objective(scores, self.log_denominator)
        if self.bound == "smile":
            return bounds.smile_objective(scores, self.tau)
        if self.bound == "js":
            return bounds.js_objective(scores)
        return bounds.READOUTS[self.bound](scores)

    def readout(self, scores: torch.Tensor) -> torch.Tensor:
        if self.bound == "smile":
            return bounds.smile(scores, self.tau)
        return bounds.READOUTS[self.bound](scores)


def _prepare(cfg: dict[str, Any], x, y, name: str, images: bool) -> tuple[np.ndarray, np.ndarray]:
    """Validated float64 arrays; images keep their (n, c, h, w) shape, vectors are (n, d)."""
    if images:
        xs, ys = np.asarray(x), np.asarray(y)
        for label, a in (("x", xs), ("y", ys)):
            if a.ndim != 4:
                raise ValueError(
                    f"{name}: critic=conv needs images of shape (n, channels, height, width); {label} has shape "
                    f"{a.shape} (flat vectors need critic=concat, separable or bilinear)")
        shape_x, shape_y = xs.shape[1:], ys.shape[1:]
        fx, fy = validate_xy(xs.reshape(len(xs), -1), ys.reshape(len(ys), -1), name=name)
        xs, ys = fx.reshape(-1, *shape_x), fy.reshape(-1, *shape_y)
        if cfg["standardize"]:  # one scale per variable: per-pixel scaling would blow up constant borders
            for label, a in (("x", xs), ("y", ys)):
                if a.std() == 0:
                    raise ValueError(f"{name}: {label} is constant and cannot be standardised")
            xs, ys = (xs - xs.mean()) / xs.std(), (ys - ys.mean()) / ys.std()
        return xs, ys
    xs, ys = validate_xy(x, y, allow_constant=not cfg["standardize"], name=name)
    if cfg["standardize"]:
        xs, ys = standardize(xs), standardize(ys)
    return xs, ys


def split_sizes(n: int, cfg: dict[str, Any], name: str) -> tuple[int, int]:
    n_train = int(math.floor(cfg["train_fraction"] * n))
    n_test = n - n_train
    if n_train < 2 or n_test < 2:
        raise ValueError(
            f"{name}: too few samples for the split: {n} samples with train_fraction={cfg['train_fraction']} "
            f"give {n_train} for training and {n_test} held out (each needs at least 2)")
    if cfg["batch_size"] > n_train:
        raise ValueError(
            f"{name}: batch_size={cfg['batch_size']} is larger than the training split ({n_train} of {n} samples "
            f"with train_fraction={cfg['train_fraction']}); lower batch_size or give more samples")
    return n_train, n_test


def score_matrix(critic, x: torch.Tensor, y: torch.Tensor, max_elements: int = 2**23) -> torch.Tensor:
    """All-pairs scores without gradient, in row blocks so that memory stays bounded."""
    with torch.no_grad():
        if hasattr(critic, "pairwise"):
            return critic.pairwise(x, y, max_elements)
        return critic(x, y)


#: held-out score matrices up to this many entries (1 GiB of float32: n_test <= 16,384) are computed
#: once per evaluation and kept for the interval (every committed row at N <= 3 * 10^4); larger held-out sets
#: (N = 10^5 with a 50/50 split: 10 GB) are streamed in row blocks instead (``StreamedScores``)
HELDOUT_MATRIX_ELEMENTS = 2**28


class StreamedScores:
    """The held-out score matrix ``critic(x_i, y_j)`` of a fixed critic, never held whole: each pass
    over ``blocks`` recomputes its row blocks (n^2 critic calls), so memory stays O(n).
    The critic must not change while the object is in use (the engine reads it out, and takes
    the interval, at the critic it was made for)."""

    #: scores per row block (float64 in the read-out: 64 MiB)
    BLOCK_ELEMENTS = 2**23

    def __init__(self, critic, x: torch.Tensor, y: torch.Tensor) -> None:
        self.critic, self.x, self.y = critic, x, y
        self.shape, self.device = (len(x), len(y)), x.device

    def blocks(self):
        """(start, scores[start:start + rows]) for consecutive row blocks of BLOCK_ELEMENTS scores."""
        rows = max(1, self.BLOCK_ELEMENTS // self.shape[1])
        for start in range(0, self.shape[0], rows):
            yield start, score_matrix(self.critic, self.x[start:start + rows], self.y)


def select_kernel(critic: torch.nn.Module, kernel: str, device: torch.device, name: str) -> str:
    """Switch the critic's concat MLPs to the fused CPU kernels as ``kernel`` asks (see KERNELS);
    returns the kernel that runs, ``fused`` or ``eager``."""
    if kernel not in KERNELS:
        raise ValueError(f"{name}: kernel must be one of {', '.join(KERNELS)}, got {kernel!r}")
    mlps = [m for m in critic.modules() if isinstance(m, ConcatCritic)]
    reasons = [r for r in (m.fused_unsupported(device) for m in mlps) if r]
    if not mlps:
        reasons.append(f"critic {type(critic).__name__} has no concat MLP")
    use = kernel != "eager" and not reasons
    if kernel == "fused" and not use:
        raise ValueError(f"{name}: kernel=fused does not apply here: {'; '.join(reasons)} (use kernel=auto or eager)")
    for m in mlps:
        m.fused_kernels = use
    return "fused" if use else "eager"


def make_optimizer(critic: torch.nn.Module, lr: float, kernel: str) -> torch.optim.Optimizer:
    """Adam; with the fused kernels also its fused CPU implementation (one pass over each parameter
    instead of ~10 operators: 0.1 instead of 0.4 ms per step for the bmi critic), which computes the
    same update up to float32 rounding."""
    return torch.optim.Adam(critic.parameters(), lr=lr, fused=kernel == "fused" or None)


def _to_tensor(a: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(device)


def _check_finite(value: float, step: int, name: str, what: str) -> None:
    if not math.isfinite(value):
        raise DivergedError(f"{name}: diverged at step {step} ({what} is {value})")


@dataclasses.dataclass
class SplitData:
    """One fit's validated, standardised data split into training and held-out tensors."""

    x_tr: torch.Tensor
    y_tr: torch.Tensor
    x_te: torch.Tensor
    y_te: torch.Tensor
    shape_x: tuple[int, ...]
    shape_y: tuple[int, ...]

    @property
    def n_train(self) -> int:
        return len(self.x_tr)

    @property
    def n_test(self) -> int:
        return len(self.x_te)


def split_data(cfg: dict[str, Any], x, y, name: str, device: torch.device) -> SplitData:
    """validate -> standardise -> the split drawn with NumPy ``default_rng(cfg["seed"])``."""
    xs, ys = _prepare(cfg, x, y, name, cfg["critic"] == "conv")
    n = len(xs)
    n_train, _ = split_sizes(n, cfg, name)
    perm = np.random.default_rng(cfg["seed"]).permutation(n)
    tr, te = perm[:n_train], perm[n_train:]
    x_tr, y_tr, x_te, y_te = (_to_tensor(a, device) for a in (xs[tr], ys[tr], xs[te], ys[te]))
    return SplitData(x_tr, y_tr, x_te, y_te, xs.shape[1:], ys.shape[1:])


def train_step(critic, objective: Objective, optimizer: torch.optim.Optimizer, x: torch.Tensor,
               y: torch.Tensor) -> torch.Tensor:
    """One Adam step on the batch (x, y); returns the bound's (detached) value on it."""
    value = objective(critic(x, y))
    optimizer.zero_grad(set_to_none=True)
    (-value).backward()
    optimizer.step()
    return value.detach()


class Tracker:
    """The evaluation schedule of one fit: training values per window, the held-out curve, the
    best held-out value, early stopping, divergence checks and the estimate."""

    def __init__(self, cfg: dict[str, Any], name: str) -> None:
        self.cfg, self.name = cfg, name
        self.train_curve: list[list[float]] = []
        self.test_curve: list[list[float]] = []
        self.window: list[torch.Tensor] = []
        self.best, self.best_step, self.since_best, self.stopped_early = -math.inf, 0, 0, False

    def due(self, step: int) -> bool:
        return step % self.cfg["eval_every"] == 0 or step == self.cfg["steps"]

    def evaluate(self, step: int, held_out: Callable[[], torch.Tensor]) -> bool:
        """Close the window at ``step``: check it, read the held-out bound; True when training stops."""
        train_vals = torch.stack(self.window).cpu().numpy()
        self.window = []
        bad = np.flatnonzero(~np.isfinite(train_vals))
        if bad.size:
            _check_finite(float(train_vals[bad[0]]), step - len(train_vals) + 1 + int(bad[0]), self.name,
                          "the training objective")
        test = float(held_out())
        _check_finite(test, step, self.name, "the held-out bound")
        self.train_curve.append([step, float(train_vals.mean())])
        self.test_curve.append([step, test])
        if test > self.best:
            self.best, self.best_step, self.since_best = test, step, 0
        else:
            self.since_best += 1
        if self.cfg["early_stopping"] and self.since_best >= self.cfg["patience"]:
            self.stopped_early = True
        return self.stopped_early or step == self.cfg["steps"]

    def result(self, step: int, seconds: float) -> tuple[float, dict[str, Any]]:
        estimate = self.best if self.cfg["readout"] == "best" else self.test_curve[-1][1]
        return float(estimate), {
            "n_steps": step,
            "stopped_early": self.stopped_early,
            "best_step": self.best_step,
            "train_seconds": seconds,
            "steps_per_second": step / seconds if seconds > 0 else None,
            "readout": self.cfg["readout"],
            "train_curve": self.train_curve,
            "test_curve": self.test_curve,
        }


class Fit:
    """One estimator's training run on (x, y): data split, critic, kernel choice, Adam, objective
    (``overrides`` replace entries of the estimator's configuration, e.g. its seed)."""

    def __init__(self, est, x, y, **overrides) -> None:
        self.cfg, self.name = {**est.config(), **overrides}, est.bound
        self.device = resolve_device(self.cfg["device"])
        self.data = split_data(self.cfg, x, y, self.name, self.device)
        self.gen = torch.Generator().manual_seed(self.cfg["seed"])  # initial weights, then mini-batches
        self.critic = est.build_critic(self.data.shape_x, self.data.shape_y, self.gen).to(self.device)
        self.kernel = select_kernel(self.critic, self.cfg.get("kernel", "auto"), self.device, self.name)
        self.optimizer = make_optimizer(self.critic, self.cfg["lr"], self.kernel)
        self.objective = est.objective()

    def step(self) -> torch.Tensor:
        """One Adam step on the next mini-batch (drawn without replacement); the bound's value on it."""
        idx = torch.randperm(self.data.n_train, generator=self.gen)[: self.cfg["batch_size"]].to(self.device)
        return train_step(self.critic, self.objective, self.optimizer, self.data.x_tr[idx], self.data.y_tr[idx])

    def held_out(self) -> torch.Tensor | float:
        """The bound on the held-out pairs (their score matrix, or above HELDOUT_MATRIX_ELEMENTS
        its streamed form, is kept for the interval)."""
        x, y = self.data.x_te, self.data.y_te
        if len(x) * len(y) <= HELDOUT_MATRIX_ELEMENTS:
            self.test_scores = score_matrix(self.critic, x, y)
            return self.objective.readout(self.test_scores)
        self.test_scores = StreamedScores(self.critic, x, y)
        return intervals.streamed_bound(self.objective.bound, self.test_scores.blocks(), len(x), self.objective.tau)


def fit_estimate(est, x, y) -> tuple[float, dict[str, Any]]:
    """Train ``est``'s critic on a split of (x, y) and return (held-out estimate in nats, info)."""
    fit = Fit(est, x, y)
    tracker = Tracker(fit.cfg, fit.name)
    keep_best = fit.cfg["ci_reps"] > 0 and fit.cfg["readout"] == "best"  # the interval needs the selected critic
    best_state = None
    step = 0
    t0 = time.perf_counter()
    for step in range(1, fit.cfg["steps"] + 1):
        tracker.window.append(fit.step())
        if tracker.due(step):
            stop = tracker.evaluate(step, fit.held_out)
            if keep_best and tracker.best_step == step:
                best_state = copy.deepcopy(fit.critic.state_dict())
            if stop:
                break
    if fit.device.type == "cuda":
        torch.cuda.synchronize(fit.device)
    estimate, info = tracker.result(step, time.perf_counter() - t0)
    info = {"device": str(fit.device), "kernel": fit.kernel, "n_train": fit.data.n_train, "n_test": fit.data.n_test,
            "parameters": sum(p.numel() for p in fit.critic.parameters() if p.requires_grad), **info}
    if fit.cfg["ci_reps"]:
        if keep_best and tracker.best_step != step:
            fit.critic.load_state_dict(best_state)
            fit.held_out()
        info.update(ci=intervals.heldout_bootstrap(fit.objective, fit.test_scores, fit.cfg["ci_reps"],
                                                   fit.cfg["level"], fit.cfg["seed"]),
                    ci_method="heldout-bootstrap", ci_reps=fit.cfg["ci_reps"])
    return estimate, info


def step_cost(est, x, y, steps: int = 200, warmup: int = 20) -> dict[str, Any]:
    """Cost of ``est``'s training steps on (x, y) (after ``warmup`` untimed ones; no held-out
    evaluation): milliseconds per step of wall time (CUDA-synchronised) and of this process's
    CPU time, which a shared machine's other jobs disturb less than wall time."""
    fit = Fit(est, x, y)
    for _ in range(warmup):
        fit.step()
    sync = (lambda: torch.cuda.synchronize(fit.device)) if fit.device.type == "cuda" else (lambda: None)
    sync()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        fit.step()
    sync()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"kernel": fit.kernel, "device": str(fit.device), "steps": steps,
            "wall_ms_per_step": 1000 * wall / steps, "cpu_ms_per_step": 1000 * cpu / steps}


def fit_stream(est, draw: Callable[[int, int], tuple[np.ndarray, np.ndarray]], steps: int) -> tuple[np.ndarray, dict]:
    """Train on a fresh batch each step: ``draw(step, batch_size) -> (x, y)`` (step counts from 0).

    Returns the per-step estimates (the bound on each step's batch, before that step's update)
    and info (device, wall time). Inputs are used as drawn (no standardisation: the stream's law
    changes over time, so there is no fixed scale to estimate).
    """
    cfg, name = est.config(), est.bound
    if steps < 1:
        raise ValueError(f"{name}: steps must be >= 1, got {steps}")
    device = resolve_device(cfg["device"])
    gen = torch.Generator().manual_seed(cfg["seed"])
    batch = cfg["batch_size"]
    critic = objective = optimizer = None
    values = torch.empty(steps, dtype=torch.float32, device=device)
    t0 = time.perf_counter()
    for step in range(steps):
        x, y = draw(step, batch)
        if critic is None:
            critic = est.build_critic(np.shape(x)[1:], np.shape(y)[1:], gen).to(device)
            kernel = select_kernel(critic, cfg.get("kernel", "auto"), device, name)
            optimizer = make_optimizer(critic, cfg["lr"], kernel)
            objective = est.objective()
        value = objective(critic(_to_tensor(x, device), _to_tensor(y, device)))
        optimizer.zero_grad(set_to_none=True)
        (-value).backward()
        optimizer.step()
        values[step] = value.detach()
        if (step + 1) % 500 == 0 or step + 1 == steps:
            chunk = values[: step + 1].cpu().numpy()
            bad = np.flatnonzero(~np.isfinite(chunk))
            if bad.size:
                _check_finite(float(chunk[bad[0]]), int(bad[0]) + 1, name, "the training objective")
    out = values.cpu().numpy().astype(np.float64)
    return out, {"device": str(device), "kernel": kernel, "train_seconds": time.perf_counter() - t0, "n_steps": steps}
