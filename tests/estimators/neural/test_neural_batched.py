"""Batched seeds (estimators/neural/batched.py): each seed of a batched fit gets the estimate of its
own unbatched fit, stops and fails on its own.

The comparisons run at lr 1e-3 for 40 steps: there the float32 rounding of batched vs unbatched
matrix products (the only difference between the two) stays below 1e-5 in the estimate. At the
bmi protocol's lr 0.1, Adam turns rounding differences in near-zero gradient components into
different steps within a few iterations, and the two trajectories then differ at the level of
seed noise, like any perturbation of training (docs/neural.md, "Speed").
"""

import numpy as np
import pytest
import torch
from mibench.estimators.neural import DivergedError, InfoNCE, batched

import mibench

SPEC = "kernel=eager,steps=40,eval_every=10,batch_size=64,lr=0.001"


def _samples(seeds, n=500, task="multinormal-dense-2-2-0.5"):
    t = mibench.get_task(task)
    data = [t.sample(n, s) for s in seeds]
    return [d[0] for d in data], [d[1] for d in data]


def _unbatched(bound, spec, seed, x, y):
    return mibench.get_estimator(f"{bound}:{spec},seed={seed}").estimate_with_info(x, y)


@pytest.mark.parametrize("bound", ["infonce", "mine", "dv", "js"])
def test_each_seed_equals_its_unbatched_fit(bound, one_torch_thread):
    seeds = [0, 1, 2]
    xs, ys = _samples(seeds)
    results = mibench.get_estimator(f"{bound}:{SPEC}").estimate_batch(xs, ys, seeds)
    for seed, x, y, (value, info) in zip(seeds, xs, ys, results):
        want, want_info = _unbatched(bound, SPEC, seed, x, y)
        assert abs(value - want) < 1e-4
        assert info["n_steps"] == want_info["n_steps"] and info["batched_seeds"] == 3
        assert info["bound"] == bound and info["kernel"] == "eager"


def test_seeds_stop_early_on_their_own(one_torch_thread):
    """With patience 1 the seeds stop at different evaluations; the batch is re-stacked without
    the seeds that stopped, and the others go on as they would alone."""
    seeds = [0, 1, 2, 3]
    xs, ys = _samples(seeds, n=300)
    spec = "kernel=eager,steps=60,eval_every=2,batch_size=64,lr=0.003,patience=1"
    results = mibench.get_estimator(f"nwj:{spec}").estimate_batch(xs, ys, seeds)
    steps = [info["n_steps"] for _, info in results]
    assert len(set(steps)) > 1 and min(steps) < 60  # the seeds left the batch at different steps
    for seed, x, y, (value, info) in zip(seeds, xs, ys, results):
        want, want_info = _unbatched("nwj", spec, seed, x, y)
        assert info["n_steps"] == want_info["n_steps"] and abs(value - want) < 1e-4


class _NaNCriticForSeedOne(InfoNCE):
    """InfoNCE whose critic starts with a NaN weight when built for seed 1 (its generator's seed)."""

    def build_critic(self, shape_x, shape_y, generator):
        critic = super().build_critic(shape_x, shape_y, generator)
        if generator.initial_seed() == 1:
            with torch.no_grad():
                critic.w_x[0, 0] = float("nan")
        return critic


def test_a_diverging_seed_fails_alone(one_torch_thread):
    seeds = [0, 1, 2]
    xs, ys = _samples(seeds)
    est = _NaNCriticForSeedOne(kernel="eager", steps=40, eval_every=10, batch_size=64, lr=0.001)
    results = est.estimate_batch(xs, ys, seeds)
    assert isinstance(results[1], DivergedError) and "diverged at step 1" in str(results[1])
    for k in (0, 2):
        want, _ = _unbatched("infonce", SPEC, seeds[k], xs[k], ys[k])
        assert abs(results[k][0] - want) < 1e-4


def test_bad_data_of_one_seed_fails_alone(one_torch_thread):
    seeds = [0, 1]
    xs, ys = _samples(seeds)
    xs[0] = xs[0].copy()
    xs[0][3, 0] = np.nan
    results = mibench.get_estimator(f"infonce:{SPEC}").estimate_batch(xs, ys, seeds)
    assert isinstance(results[0], ValueError) and "nan" in str(results[0]).lower()
    assert abs(results[1][0] - _unbatched("infonce", SPEC, 1, xs[1], ys[1])[0]) < 1e-4


def test_bad_arguments():
    est = mibench.get_estimator(f"infonce:{SPEC}")
    xs, ys = _samples([0, 1])
    with pytest.raises(ValueError, match="as many x and y samples as seeds"):
        est.estimate_batch(xs, ys, [0])
    with pytest.raises(ValueError, match="non-negative integers"):
        est.estimate_batch(xs, ys, [0, -1])
    x3, y3 = _samples([2], n=600)
    with pytest.raises(ValueError, match="one shape and size"):
        est.estimate_batch([xs[0], x3[0]], [ys[0], y3[0]], [0, 2])


def test_steps_per_second_of_batched_seeds(one_torch_thread):
    x, y = _samples([0])
    est = mibench.get_estimator("infonce:batch_size=64")
    for n_seeds in (1, 3):
        rate = batched.steps_per_second(est, x[0], y[0], n_seeds, steps=5, warmup=2)
        assert rate["n_seeds"] == n_seeds and rate["device"] == "cpu" and rate["batched_steps_per_second"] > 0
        assert rate["seed_steps_per_second"] == pytest.approx(n_seeds * rate["batched_steps_per_second"])
    rates = batched.seed_batching_rates(est, x[0], y[0], n_seeds=(1, 2), steps=3)
    assert [r["n_seeds"] for r in rates] == [1, 2, 1] and rates[-1]["unbatched_kernel"] == "fused"
    assert all(r["seed_steps_per_second"] > 0 for r in rates)
