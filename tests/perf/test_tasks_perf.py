"""Sampling speed of the non-image task families: 10^5 pairs (run with ``make perf``).

Target: well under a second per call for every non-image task. pytest-benchmark prints the
table; the rows are measured side by side in one run, so their ratios are meaningful.
"""

import numpy as np
import pytest

import mibench

CASES = [
    ("bmi", "multinormal-dense-50-50-0.5"),
    ("bmi", "1v1-bimodal-0.75"),
    ("bmi", "spiral-normal_cdf-multinormal-sparse-25-25-2-2.0"),
    ("bmi", "asinh-student-identity-5-5-2"),
    ("mixtures", "mult-sparse-w-inliers-25-25-2-2.0-0.2"),
    ("mixtures", "2v1-waves-12-5.0-3.0"),
    ("mixtures", "25v1-concentric_gaussians-5"),
    ("awgn", "awgn-uniform-16-0.358"),
    ("staircase", "staircase-cubic-20-10.0"),
    ("flows", "realnvp-multinormal-dense-25-25-0.5"),
    ("flows", "nsf-multinormal-dense-25-25-0.5"),
]


@pytest.mark.perf
def test_reference_numpy_normal_1e5x50(benchmark):
    """Yardstick row: 10^5 x 50 standard normals from NumPy (the cost floor of a 25 x 25 task)."""
    rng = np.random.default_rng(0)
    benchmark.pedantic(rng.standard_normal, args=((100_000, 50),), rounds=3, iterations=1)


@pytest.mark.perf
@pytest.mark.parametrize("suite,task_id", CASES, ids=[c[1] for c in CASES])
def test_sample_1e5(benchmark, suite, task_id):
    task = next(t for t in mibench.list_tasks(suite) if t.id == task_id)
    task.sample(10, 0)  # build lazy parts (flows) outside the timing
    x, y = benchmark.pedantic(task.sample, args=(100_000, 1), rounds=3, iterations=1)
    assert x.shape == (100_000, task.dim_x)
