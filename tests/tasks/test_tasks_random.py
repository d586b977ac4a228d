"""The generated suite ``random:K``: lazy listing, ids that resolve on demand, determinism, params for
grouping, and the truth of a sample of tasks checked independently (the invariance maps are undone on
the sample to give back the Gaussian base, whose MI is estimated from a large sample)."""

import collections
import json
import multiprocessing as mp
import subprocess
import sys

import numpy as np
import pytest
from mibench.tasks.random_tasks import CanonicalGaussianSampler, random_task

import mibench
from mibench.core import registry


def test_listing_is_lazy_and_fast():
    """In a fresh interpreter: random:1000 lists within 1 s of CPU time (``import mibench`` excluded)
    and builds no flow network, so neither torch nor numba is imported."""
    code = ("import time, sys, mibench\n"
            "c = time.process_time()\n"
            "tasks = mibench.list_tasks(suite='random:1000')\n"
            "print(time.process_time() - c, len(tasks), 'torch' in sys.modules, 'numba' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert float(out[0]) < 1.0 and out[1:] == ["1000", "False", "False"], out


def test_nothing_is_built_until_sampled():
    tasks = mibench.list_tasks("random:300")
    maps = [m for t in tasks for f in (t._sampler.fx, t._sampler.fy) if f is not None for m in f.maps]
    kinds = collections.Counter(type(m).__name__ for m in maps)
    assert kinds["FlowMap"] > 20 and kinds["Rotation"] > 100
    assert all(m._flow is None for m in maps if type(m).__name__ == "FlowMap")
    assert all(m._q is None for m in maps if type(m).__name__ == "Rotation")


def test_cli_lists_random_1000():
    out = subprocess.run([sys.executable, "-m", "mibench", "list", "tasks", "--suite", "random:1000"],
                         capture_output=True, text=True, check=True).stdout
    ids = [ln.split()[0] for ln in out.splitlines() if ln.startswith("random-")]
    assert ids == [f"random-{i}" for i in range(1000)]


def test_ids_resolve_without_listing(monkeypatch):
    def no_listing(*a, **k):
        raise AssertionError("get_task listed the suites")

    monkeypatch.setattr(registry, "list_tasks", no_listing)
    t = mibench.get_task("random-123456")
    assert t.id == "random-123456" and t.params["seed"] == 123456
    assert t.params == random_task(123456).params


def test_stream_prefixes_and_determinism():
    ten = mibench.list_tasks("random:10")
    thousand = mibench.list_tasks("random:1000")
    assert [t.id for t in ten] == [t.id for t in thousand[:10]]
    assert [t.params for t in ten] == [t.params for t in thousand[:10]]
    assert len(mibench.list_tasks("random")) == 100
    for t in ten[:5]:
        a, b = t.sample(200, 3), random_task(t.params["seed"]).sample(200, 3)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def _sample(task_id):
    return mibench.get_task(task_id).sample(150, 8)


def test_deterministic_across_processes():
    """Rotations are drawn from their seeds in each process (flows: tests/test_tasks_flows.py)."""
    tasks = mibench.list_tasks("random:40")
    ids = [t.id for t in tasks if "flow" not in t.params["transform_x"] + t.params["transform_y"]
           and "rotation" in t.params["transform_x"] + t.params["transform_y"]][:3]
    here = [_sample(i) for i in ids]
    with mp.get_context("spawn").Pool(1) as pool:
        there = pool.map(_sample, ids)
    for (a, b), (c, d) in zip(here, there):
        assert np.array_equal(a, c) and np.array_equal(b, d)


def test_params_cover_the_space_and_are_json():
    tasks = mibench.list_tasks("random:1000")
    for t in tasks:
        p = t.params
        json.dumps(p)
        assert {"generator", "seed", "dim_x", "dim_y", "mi", "structure", "pair_mi", "transform_x",
                "transform_y"} <= set(p)
        assert (t.dim_x, t.dim_y) == (p["dim_x"], p["dim_y"]) and 1 <= t.dim_x <= 32 and 1 <= t.dim_y <= 32
        assert 0 <= t.mutual_information <= 10 and abs(sum(p["pair_mi"]) - p["mi"]) < 1e-9
        assert len(p["pair_mi"]) == min(t.dim_x, t.dim_y)
    dims = {t.dim_x for t in tasks}
    assert {1, 2, 32} <= dims
    assert {t.params["structure"] for t in tasks} == {"dense", "sparse", "latent", "staircase"}
    transforms = {t.params["transform_x"] for t in tasks}
    assert {"none", "rotation", "monotone", "rotation+monotone", "flow-realnvp", "flow-nsf",
            "rotation+flow-nsf"} <= transforms
    mis = np.array([t.mutual_information for t in tasks])
    assert (mis == 0).sum() > 20 and (mis > 9).sum() > 50


def test_structures_give_their_spectra():
    by = collections.defaultdict(list)
    for t in mibench.list_tasks("random:400"):
        k = min(t.dim_x, t.dim_y)
        if t.mutual_information > 0 and k >= 4:
            by[t.params["structure"]].append(np.array(t.params["pair_mi"]))
    assert all(np.allclose(s, s[0]) for s in by["dense"])
    assert all(1 <= np.count_nonzero(s) <= 2 for s in by["sparse"])
    assert all(1 <= np.count_nonzero(s) <= 4 for s in by["latent"])
    assert all(np.all(np.diff(s) < 0) and np.allclose(s[1:] / s[:-1], s[1] / s[0]) for s in by["staircase"])


def _canonical_mi(x, y):
    """Gaussian MI from the sample canonical correlations (whitening by eigen-decompositions), written
    here independently of the task's rho formula and of the estimators."""
    def whiten(a):
        a = a - a.mean(0)
        w, v = np.linalg.eigh(np.cov(a, rowvar=False).reshape(a.shape[1], a.shape[1]))
        return a @ v / np.sqrt(w)

    wx, wy = whiten(x), whiten(y)
    r = np.linalg.svd(wx.T @ wy / (len(x) - 1), compute_uv=False)
    return -0.5 * np.sum(np.log1p(-np.minimum(r, 1 - 1e-15) ** 2)), r


# a sample of the stream covering every structure and invariance, dimensions up to 32 and MI up to 10
SAMPLE = [0, 3, 5, 8, 11, 15, 16, 17, 21, 29, 33, 46]


@pytest.mark.parametrize("seed", SAMPLE)
def test_truth_is_the_gaussian_mi_of_the_base(seed, one_torch_thread):
    task = mibench.get_task(f"random-{seed}")
    n = 100_000
    x, y = task.sample(n, 5)
    sampler = task._sampler
    # 1. the invariance maps are bijections on the sample: undoing them gives back the base sample
    bx, by = sampler.base(n, np.random.default_rng(5))
    assert isinstance(sampler.base, CanonicalGaussianSampler)
    for out, base, f in ((x, bx, sampler.fx), (y, by, sampler.fy)):
        back = out if f is None else f.inverse(out)
        assert np.max(np.abs(back - base)) < 1e-6
        assert f is None or not np.allclose(out, base)  # a map was applied
    # 2. the base's MI from its sample canonical correlations (plug-in bias ~ d_x d_y / (2n) <= 0.005)
    mi, r = _canonical_mi(bx, by)
    tol = 0.01 + 0.01 * task.mutual_information
    assert abs(mi - task.mutual_information) < tol, (mi, task.mutual_information)
    # 3. and the spectrum: the canonical correlations are those of the structure
    k = min(task.dim_x, task.dim_y)
    expected = np.sort(np.sqrt(-np.expm1(-2 * np.array(task.params["pair_mi"]))))[::-1]
    # atol: spurious sample canonical correlations are ~ (sqrt d_x + sqrt d_y) / sqrt n <= 0.03
    np.testing.assert_allclose(r[:k], expected, atol=0.04)


def test_sampled_structures_cover_the_sample():
    tasks = [random_task(s) for s in SAMPLE]
    assert {t.params["structure"] for t in tasks} == {"dense", "sparse", "latent", "staircase"}
    labels = {t.params["transform_x"] for t in tasks} | {t.params["transform_y"] for t in tasks}
    assert any("flow-nsf" in t for t in labels) and any("flow-realnvp" in t for t in labels)
    assert "monotone" in " ".join(labels) and "rotation" in " ".join(labels)
    assert max(t.dim_x + t.dim_y for t in tasks) >= 40 and max(t.mutual_information for t in tasks) > 9


def test_bad_suite_arguments_and_ids():
    for bad in ("random:0", "random:abc", "random:-3"):
        with pytest.raises(mibench.MibenchError, match="positive integer"):
            mibench.list_tasks(bad)
    with pytest.raises(mibench.MibenchError, match="takes no argument"):
        mibench.list_tasks("gaussian:3")
    with pytest.raises(mibench.MibenchError, match="unknown task"):
        mibench.get_task("random-01")  # not a canonical id
    with pytest.raises(mibench.MibenchError, match="unknown suite"):
        mibench.list_tasks("nosuch:3")
