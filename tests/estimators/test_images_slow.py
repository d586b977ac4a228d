"""Long accuracy checks of mienf (``pytest -m slow``): the acceptance targets of issue 7 at N = 10^4
with the default budget (images: the PCA flow, and the Glow flow as a known gap). Numbers measured
on this machine are in docs/images.md."""

import importlib.util
import pathlib

import pytest
import torch

import mibench

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


@pytest.mark.slow
@pytest.mark.parametrize("spec,task_id", [
    # the default image flow (flow=pca: closed-form PCA whitening + canonical rotation, 4 components,
    # RealNVP with bounded couplings; 4000 steps, lr 2e-3, width 32), about 2 CPU-minutes per fit;
    # measured in docs/images.md
    ("mienf", "image-gauss-16-1.0"),
    ("mienf", "image-gauss-16-5.0"),
    ("mienf:target=tridiag", "image-gauss-16-1.0"),
    ("mienf:target=tridiag", "image-gauss-16-5.0"),
    pytest.param("mienf:flow=glow,steps=800,batch_size=128", "image-gauss-16-5.0", marks=pytest.mark.xfail(
        strict=True, reason="known gap: the Glow flow on CPU budgets gave 2.06 (noise 0.01); see docs/images.md")),
])
def test_mienf_accuracy_images(spec, task_id):
    torch.set_num_threads(1)
    task = mibench.get_task(task_id)
    x, y = task.sample(10_000, 0)
    v = mibench.get_estimator(spec).estimate(x, y)
    truth = task.mutual_information
    assert abs(v - truth) <= 0.15 * truth, f"{spec} on {task_id}: {v:.4f} vs truth {truth} (tolerance 15 %)"
