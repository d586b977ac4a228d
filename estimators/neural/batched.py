"""Several seeds of one neural estimator trained as one batched model (for GPUs).

The cells of one (task, estimator, n) that differ only by seed train the same network on data of
the same shape. On a GPU such tiny critics are bound by kernel launches, so ``fit_estimate_batched``
stacks the seeds' critics (``torch.func.stack_module_state``) and runs them as one model
(``torch.func.vmap`` over ``functional_call``): one launch per operator for all seeds instead of
one per seed. Each seed keeps everything it has when trained alone, drawn from its own seed: its
split, initial weights, mini-batches, bound state (MINE's moving average), evaluation schedule,
early stopping, estimate and failure. The summed objective of the batch has, for each seed's
slice of the stacked weights, exactly that seed's gradient, and Adam is elementwise, so each
seed follows its own training; a seed that stops (early stopping, divergence) leaves the batch,
which is re-stacked without it, so a diverging seed fails alone.

The batched model always runs eager torch (``kernel=eager``; vmap cannot enter the fused CPU
kernels). On CPU it is slower than training the seeds one by one with the fused kernels
(stacking 10 seeds of the bmi critic cost 17x one seed in eager torch, memory-bound on (10, 256,
256, 16) temporaries), so the harness should use it on CUDA only. With the same seeds it gives
each seed the estimate of an unbatched eager fit up to float32 rounding (tests/test_neural_batched.py).
"""

from __future__ import annotations

import copy
import numbers
import time
from typing import Any

import torch
from torch.func import functional_call, stack_module_state, vmap

from mibench import DivergedError

from . import engine


class _Seed(engine.Fit):
    """One seed's part of a batched fit: its own data split, initial critic, mini-batches (the
    ``Fit`` of that seed alone, in eager torch) and evaluation schedule."""

    def __init__(self, index: int, est, x, y, seed: int) -> None:
        super().__init__(est, x, y, seed=seed, kernel="eager")
        self.index = index
        self.tracker = engine.Tracker(self.cfg, self.name)


class BatchedFit:
    """The batched training of ``est`` on (xs[k], ys[k]) with seeds[k]; ``results[k]`` is
    (estimate, info) or the exception of seed k once it has finished."""

    def __init__(self, est, xs, ys, seeds) -> None:
        cfg, self.name = est.config(), est.bound
        seeds = list(seeds)
        if not (len(xs) == len(ys) == len(seeds)) or not seeds:
            raise ValueError(f"{self.name}: estimate_batch needs as many x and y samples as seeds, and at least "
                             f"one; got {len(xs)}, {len(ys)} and {len(seeds)}")
        for s in seeds:
            if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0:
                raise ValueError(f"{self.name}: seeds must be non-negative integers, got {s!r}")
        self.cfg, self.device = cfg, engine.resolve_device(cfg["device"])
        self.results: list[Any] = [None] * len(seeds)
        self.active: list[_Seed] = []
        for k, (x, y, seed) in enumerate(zip(xs, ys, seeds)):
            try:
                self.active.append(_Seed(k, est, x, y, int(seed)))
            except Exception as exc:  # this seed's data or set-up fails, the others go on
                self.results[k] = exc
        shapes = {(s.data.n_train, tuple(s.data.shape_x), tuple(s.data.shape_y)) for s in self.active}
        if len(shapes) > 1:
            raise ValueError(f"{self.name}: estimate_batch needs samples of one shape and size (one task and n), "
                             f"got training splits of {sorted(shapes)}")
        self.n_seeds, self.step_count = len(seeds), 0
        self.t0 = time.perf_counter()
        if self.active:
            base = copy.deepcopy(self.active[0].critic).to("meta")  # structure only; weights come stacked
            self._scores = vmap(lambda p, b, x, y: functional_call(base, (p, b), (x, y)))
            params, self.buffers = stack_module_state([s.critic for s in self.active])
            self.params = list(params.items())
            self.optimizer = torch.optim.Adam([p for _, p in self.params], lr=cfg["lr"])
            self._stack_data()

    def _stack_data(self) -> None:
        self.x_tr = torch.stack([s.data.x_tr for s in self.active])
        self.y_tr = torch.stack([s.data.y_tr for s in self.active])

    @property
    def done(self) -> bool:
        return not self.active or self.step_count >= self.cfg["steps"]

    def step(self) -> list[torch.Tensor]:
        """One Adam step of every active seed on its own next mini-batch; their bound values."""
        self.step_count += 1
        batch = self.cfg["batch_size"]
        idx = torch.stack([torch.randperm(s.data.n_train, generator=s.gen)[:batch] for s in self.active])
        idx = idx.to(self.device)
        rows = torch.arange(len(self.active), device=self.device)[:, None]
        scores = self._scores(dict(self.params), self.buffers, self.x_tr[rows, idx], self.y_tr[rows, idx])
        values = [s.objective(scores[k]) for k, s in enumerate(self.active)]
        self.optimizer.zero_grad(set_to_none=True)
        (-torch.stack(values).sum()).backward()
        self.optimizer.step()
        values = [v.detach() for v in values]
        for s, v in zip(self.active, values):
            s.tracker.window.append(v)
        return values

    def evaluate(self) -> None:
        """At an evaluation step: each active seed's held-out bound; seeds that stop leave the batch."""
        step, keep = self.step_count, []
        with torch.no_grad():
            for k, s in enumerate(self.active):
                for name, p in s.critic.named_parameters():
                    p.copy_(dict(self.params)[name][k])
        for k, s in enumerate(self.active):
            try:
                stop = s.tracker.evaluate(step, s.held_out)
            except DivergedError as exc:
                self.results[s.index] = exc
                continue
            if stop:
                self._finish(s)
            else:
                keep.append(k)
        if len(keep) < len(self.active):
            self._restack(keep)

    def _finish(self, s: _Seed) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        estimate, info = s.tracker.result(self.step_count, time.perf_counter() - self.t0)
        self.results[s.index] = (estimate, {"device": str(self.device), "kernel": "eager",
                                            "batched_seeds": self.n_seeds, "n_train": s.data.n_train,
                                            "n_test": s.data.n_test, **info})

    def _restack(self, keep: list[int]) -> None:
        """Drop the finished seeds from the stacked weights, Adam's state and the data."""
        self.active = [self.active[k] for k in keep]
        if not self.active:
            return
        rows = torch.tensor(keep, device=self.device)
        old = self.optimizer
        self.params = [(name, p.detach()[rows].clone().requires_grad_(True)) for name, p in self.params]
        self.buffers = {name: b[rows] for name, b in self.buffers.items()}
        self.optimizer = torch.optim.Adam([p for _, p in self.params], lr=self.cfg["lr"])
        for old_p, (_, new_p) in zip(old.param_groups[0]["params"], self.params):
            state = old.state.get(old_p)
            if state:  # Adam's per-element moments follow their seeds; the step count is shared
                self.optimizer.state[new_p] = {key: v if key == "step" else v[rows].clone()
                                               for key, v in state.items()}
        self._stack_data()

    def run(self) -> list[Any]:
        while not self.done:
            self.step()
            if self.active[0].tracker.due(self.step_count):
                self.evaluate()
        return self.results


def fit_estimate_batched(est, xs, ys, seeds) -> list[tuple[float, dict[str, Any]] | Exception]:
    """Train ``est`` (its configuration; its own seed is replaced) on (xs[k], ys[k]) with seed
    seeds[k], all seeds as one batched model; returns, per seed, (held-out estimate in nats,
    info) or the exception that seed failed with (``DivergedError``, ValueError for bad data)."""
    return BatchedFit(est, xs, ys, seeds).run()


def steps_per_second(est, x, y, n_seeds: int, steps: int = 100, warmup: int = 10) -> dict[str, Any]:
    """Training speed of ``n_seeds`` batched copies of ``est`` on (x, y) (seeds 0 .. n_seeds - 1,
    the same data), on ``est``'s device: batched steps per second (each advances every seed) and
    seed-steps per second, training steps only (CUDA-synchronised; no held-out evaluation)."""
    total = warmup + steps
    timed = type(est)(**{**est.get_params(), "steps": total, "eval_every": total, "early_stopping": False})
    fit = BatchedFit(timed, [x] * n_seeds, [y] * n_seeds, range(n_seeds))
    for _ in range(warmup):
        fit.step()
    sync = torch.cuda.synchronize if fit.device.type == "cuda" else (lambda *a: None)
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        fit.step()
    sync()
    seconds = time.perf_counter() - t0
    return {"device": str(fit.device), "n_seeds": n_seeds, "steps": steps, "seconds": seconds,
            "batched_steps_per_second": steps / seconds, "seed_steps_per_second": n_seeds * steps / seconds}


def seed_batching_rates(est, x, y, n_seeds=(1, 10), steps: int = 100) -> list[dict[str, Any]]:
    """``steps_per_second`` for each batch size in ``n_seeds``, and the unbatched step cost of
    ``est`` itself (its own kernel choice) for reference: what the GPU check records."""
    rates = [steps_per_second(est, x, y, k, steps=steps) for k in n_seeds]
    single = engine.step_cost(est, x, y, steps=steps)
    rates.append({"device": single["device"], "n_seeds": 1, "unbatched_kernel": single["kernel"],
                  "steps": steps, "seed_steps_per_second": 1000 / single["wall_ms_per_step"]})
    return rates
