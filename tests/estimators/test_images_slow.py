"""Long accuracy checks of mienf (``pytest -m slow``): the acceptance targets of issue 7 at N = 10^4
with the default budget, and issue 16's image table at the levels 1, 5 and 10 (bumps: the PCA flow;
rectangles: flow=ae), with the Glow flow as a known gap. Numbers measured on this machine are in
docs/images.md and results/mienf-images."""

import importlib.util
import pathlib

import pytest
import torch
from threadpoolctl import threadpool_limits

import mibench
from mibench.execution.rows_csv import read_rows_csv

_spec = importlib.util.spec_from_file_location(
    "mienf_accuracy", pathlib.Path(__file__).parents[2] / "tools" / "mienf_accuracy.py")
acc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(acc)


@pytest.mark.slow
@pytest.mark.parametrize("spec", ["mienf", "mienf:target=tridiag"])
@pytest.mark.parametrize("task_id,atol", [
    ("multinormal-sparse-5-5-2-2.0", None),
    ("sparse5-transformed", None),
    ("realnvp-multinormal-sparse-5-5-2-2.0", None),  # flows suite, measured in docs/images.md
    ("nsf-multinormal-sparse-5-5-2-2.0", None),  # the closest to its tolerance (0.151)
    ("multinormal-dense-25-25-0.5", 0.1),  # measured 1.249 / 1.224 vs 1.292
])
def test_mienf_accuracy_vectors(spec, task_id, atol):
    torch.set_num_threads(1)
    task = acc.get(task_id)
    x, y = task.sample(10_000, 0)
    v = mibench.get_estimator(spec).estimate(x, y)
    truth = task.mutual_information
    tol = atol if atol is not None else 0.1 + 0.05 * truth
    assert abs(v - truth) <= tol, f"{spec} on {task_id}: {v:.4f} vs truth {truth:.4f} (tolerance {tol:.3f})"


MIENF_IMAGES = pathlib.Path(__file__).parents[2] / "results" / "mienf-images" / "rows.csv"
#: levels of the mienf-images table (results/mienf-images, README) out of the issue's tolerance on CPU
#: (the README says by how much and why): their seed-0 row must still reproduce, and must still be
#: out of tolerance, so that a fix shows up here and the README's table gets updated
OUT_OF_REACH = {("mienf", "image-gauss-16-10.0"), ("mienf:flow=ae", "image-rect-16-1.0"),
                ("mienf:flow=ae", "image-rect-16-5.0"), ("mienf:flow=ae", "image-rect-16-10.0")}


@pytest.mark.slow
@pytest.mark.parametrize("spec,task_id", [

    # the default image flow (flow=pca: PCA whitening + canonical rotation, 4 components, affine
    # marginals, RealNVP with bounded couplings; 4000 steps), 2.2-2.7 CPU-minutes per fit on the AMD EPYC
    # that made the 16 x 16 rows, 0.65 on the Intel Xeon that made the 32 x 32 ones
    ("mienf", "image-gauss-16-1.0"), ("mienf", "image-gauss-16-5.0"), ("mienf", "image-gauss-16-10.0"),
    # flow=ae: a conv autoencoder per variable to a 4-d code, then the vector flow; about 3.7 CPU-minutes
    ("mienf:flow=ae", "image-rect-16-1.0"), ("mienf:flow=ae", "image-rect-16-5.0"),
    ("mienf:flow=ae", "image-rect-16-10.0"),
    # 32 x 32 bumps with the same default flow (about 0.6 CPU-minutes per fit on the Xeon that made them)
    ("mienf", "image-gauss-32-1.0"), ("mienf", "image-gauss-32-5.0"), ("mienf", "image-gauss-32-10.0"),
])
def test_mienf_images_reproduce_the_committed_table_and_meet_the_tolerance(spec, task_id):
    """Seed 0 of the committed mienf-images table, recomputed as the harness's worker does (one thread,
    BLAS and torch on one thread, the task's sample of seed 0): equal to the committed row
    (bit-identical on the machine that made it; with 2 BLAS threads the PCA / CCA rotation rounds
    differently and the estimate moved by 0.0015, and float32 training on another CPU may differ by
    a little seed noise, hence 0.05 nats), then
    within the issue's tolerance 0.1 + 0.1 * truth (or, for a documented gap, still outside it)."""
    rows = read_rows_csv(MIENF_IMAGES)
    row = rows[(rows.task_id == task_id) & (rows.estimator == spec) & (rows.seed == 0) & (rows.n == 10_000)]
    assert len(row) == 1 and row.status.iloc[0] == "ok", f"no committed ok row for {spec} on {task_id}"
    torch.set_num_threads(1)
    task = mibench.get_task(task_id)
    x, y = task.sample(10_000, 0)
    with threadpool_limits(limits=1):  # as the harness's workers of a 2-core machine (BLAS in PCA / CCA)
        v = mibench.get_estimator(spec).estimate(x, y)
    committed = row.estimate.iloc[0]
    assert abs(v - committed) <= 0.05, f"{spec} on {task_id}: {v:.4f} vs committed {committed:.4f}"
    truth = task.mutual_information
    tol = 0.1 + 0.1 * truth
    if (spec, task_id) in OUT_OF_REACH:
        assert abs(v - truth) > tol, f"{spec} on {task_id}: {v:.4f} is now within {tol:.2f} of {truth}: update README"
    else:
        assert abs(v - truth) <= tol, f"{spec} on {task_id}: {v:.4f} vs truth {truth} (tolerance {tol:.2f})"


@pytest.mark.slow
@pytest.mark.parametrize("spec,task_id", [
    ("mienf:target=tridiag", "image-gauss-16-1.0"),
    ("mienf:target=tridiag", "image-gauss-16-5.0"),
    pytest.param("mienf:flow=glow,steps=800,batch_size=128", "image-gauss-16-5.0", marks=pytest.mark.xfail(
        strict=True, reason="known gap: the Glow flow on CPU budgets gave 2.06 (noise 0.01); see docs/images.md")),
])
def test_mienf_accuracy_images_other_targets_and_flows(spec, task_id):
    torch.set_num_threads(1)
    task = mibench.get_task(task_id)
    x, y = task.sample(10_000, 0)
    v = mibench.get_estimator(spec).estimate(x, y)
    truth = task.mutual_information
    tol = 0.1 + 0.1 * truth
    assert abs(v - truth) <= tol, f"{spec} on {task_id}: {v:.4f} vs truth {truth} (tolerance {tol:.2f})"
