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
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from mibench.estimators._common import resolve_device as _resolve_device

from mibench import DivergedError, standardize, validate_xy

from . import bounds, intervals


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


def _to_tensor(a: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(device)


def _check_finite(value: float, step: int, name: str, what: str) -> None:
    if not math.isfinite(value):
        raise DivergedError(f"{name}: diverged at step {step} ({what} is {value})")


def fit_estimate(est, x, y) -> tuple[float, dict[str, Any]]:
    """Train ``est``'s critic on a split of (x, y) and return (held-out estimate in nats, info)."""
    cfg, name = est.config(), est.bound
    images = cfg["critic"] == "conv"
    xs, ys = _prepare(cfg, x, y, name, images)
    n = len(xs)
    n_train, n_test = split_sizes(n, cfg, name)
    perm = np.random.default_rng(cfg["seed"]).permutation(n)
    tr, te = perm[:n_train], perm[n_train:]
    device = resolve_device(cfg["device"])
    x_tr, y_tr, x_te, y_te = (_to_tensor(a, device) for a in (xs[tr], ys[tr], xs[te], ys[te]))

    gen = torch.Generator().manual_seed(cfg["seed"])
    critic = est.build_critic(xs.shape[1:], ys.shape[1:], gen).to(device)
    optimizer = torch.optim.Adam(critic.parameters(), lr=cfg["lr"])
    objective = est.objective()

    steps, every, batch = cfg["steps"], cfg["eval_every"], cfg["batch_size"]
    train_curve: list[list[float]] = []
    test_curve: list[list[float]] = []
    window: list[torch.Tensor] = []
    best, best_step, since_best, stopped_early, step = -math.inf, 0, 0, False, 0
    keep_best = cfg["ci_reps"] > 0 and cfg["readout"] == "best"  # the interval needs the selected critic
    best_state = None
    t0 = time.perf_counter()
    for step in range(1, steps + 1):
        idx = torch.randperm(n_train, generator=gen)[:batch].to(device)
        value = objective(critic(x_tr[idx], y_tr[idx]))
        optimizer.zero_grad(set_to_none=True)
        (-value).backward()
        optimizer.step()
        window.append(value.detach())
        if step % every == 0 or step == steps:
            train_vals = torch.stack(window).cpu().numpy()
            window = []
            bad = np.flatnonzero(~np.isfinite(train_vals))
            if bad.size:
                _check_finite(float(train_vals[bad[0]]), step - len(train_vals) + 1 + int(bad[0]), name,
                              "the training objective")
            test_scores = score_matrix(critic, x_te, y_te)
            test = float(objective.readout(test_scores))
            _check_finite(test, step, name, "the held-out bound")
            train_curve.append([step, float(train_vals.mean())])
            test_curve.append([step, test])
            if test > best:
                best, best_step, since_best = test, step, 0
                best_state = copy.deepcopy(critic.state_dict()) if keep_best else None
            else:
                since_best += 1
            if cfg["early_stopping"] and since_best >= cfg["patience"]:
                stopped_early = True
                break
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - t0
    estimate = best if cfg["readout"] == "best" else test_curve[-1][1]
    ci = None
    if cfg["ci_reps"]:
        if keep_best and best_step != step:
            critic.load_state_dict(best_state)
            test_scores = score_matrix(critic, x_te, y_te)
        ci = intervals.heldout_bootstrap(objective, test_scores, cfg["ci_reps"], cfg["level"], cfg["seed"])
    info = {
        "device": str(device),
        "n_steps": step,
        "parameters": sum(p.numel() for p in critic.parameters() if p.requires_grad),
        "stopped_early": stopped_early,
        "best_step": best_step,
        "train_seconds": seconds,
        "steps_per_second": step / seconds if seconds > 0 else None,
        "n_train": n_train,
        "n_test": n_test,
        "readout": cfg["readout"],
        "train_curve": train_curve,
        "test_curve": test_curve,
    }
    if ci is not None:
        info.update(ci=ci, ci_method="heldout-bootstrap", ci_reps=cfg["ci_reps"])
    return float(estimate), info


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
            optimizer = torch.optim.Adam(critic.parameters(), lr=cfg["lr"])
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
    return out, {"device": str(device), "train_seconds": time.perf_counter() - t0, "n_steps": steps}
