"""Gaussian suite: ids as BMI names them, truths checked by Monte Carlo, deterministic sampling."""

import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

import mibench
from mibench import MibenchError

BMI_IDS = (
    ["1v1-normal-0.75"]
    + [f"multinormal-dense-{d}-{d}-0.5" for d in (2, 3, 5, 25, 50)]
    + [f"multinormal-sparse-{d}-{d}-2-2.0" for d in (2, 3, 5, 25)]
)


def test_suite_ids_match_bmi():
    assert [t.id for t in mibench.list_tasks("gaussian")] == BMI_IDS


@pytest.mark.parametrize("task_id", BMI_IDS)
def test_truth_matches_monte_carlo_log_density_ratio(task_id):
    """Monte-Carlo mean of log p(x,y) - log p(x) - log p(y) over the sampler's own draws, with
    scipy's densities for the constructed covariance; the truth comes from log-determinants."""
    task = mibench.get_task(task_id)
    x, y = task.sample(200_000, seed=123)
    z = np.hstack([x, y])
    cov = task._sampler.covariance
    dx = task.dim_x
    joint = stats.multivariate_normal(np.zeros(len(cov)), cov)
    px = stats.multivariate_normal(np.zeros(dx), cov[:dx, :dx])
    py = stats.multivariate_normal(np.zeros(len(cov) - dx), cov[dx:, dx:])
    pmi = joint.logpdf(z) - px.logpdf(x) - py.logpdf(y)
    se = pmi.std(ddof=1) / np.sqrt(len(pmi))
    assert abs(pmi.mean() - task.mutual_information) < 4 * se, (pmi.mean(), task.mutual_information, se)


def test_sparse_truth_second_derivation():
    """BMI's sparse task = two independent pairs with correlation lambda^2/(1+lambda^2) = 0.8."""
    for d in (2, 3, 5, 25):
        t = mibench.get_task(f"multinormal-sparse-{d}-{d}-2-2.0")
        assert t.mutual_information == pytest.approx(-np.log(1 - 0.8**2), abs=1e-12)
        x, y = t.sample(100_000, seed=1)
        for i in (0, 1):
            assert abs(np.corrcoef(x[:, i], y[:, i])[0, 1] - 0.8) < 0.005
        for i in range(2, d):
            assert abs(np.corrcoef(x[:, i], y[:, i])[0, 1]) < 0.015


def test_marginals_are_standard_normal():
    x, y = mibench.get_task("multinormal-dense-3-3-0.5").sample(20_000, seed=5)
    for col in np.hstack([x, y]).T:
        assert stats.kstest(col, "norm").pvalue > 1e-3
    c = np.corrcoef(np.hstack([x, y]), rowvar=False)
    assert np.abs(c[np.triu_indices(6, 1)] - 0.5).max() < 0.03


def test_samples_deterministic_shapes_and_no_global_rng():
    t = mibench.get_task("multinormal-dense-2-2-0.5")
    np.random.seed(0)
    a = t.sample(100, 42)
    np.random.seed(999)
    np.random.standard_normal(17)
    b = t.sample(100, 42)
    assert a[0].dtype == np.float64 and a[0].shape == (100, 2) and a[1].shape == (100, 2)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], t.sample(100, 43)[0])


def test_bit_identical_across_processes():
    code = (
        "import mibench, hashlib; x, y = mibench.get_task('multinormal-sparse-5-5-2-2.0').sample(1000, 9); "
        "e = mibench.get_estimator('ksg').estimate(x, y); "
        "print(hashlib.sha256(x.tobytes() + y.tobytes()).hexdigest(), repr(e))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    x, y = mibench.get_task("multinormal-sparse-5-5-2-2.0").sample(1000, 9)
    import hashlib

    assert out[0] == hashlib.sha256(x.tobytes() + y.tobytes()).hexdigest()
    assert float(out[1]) == mibench.get_estimator("ksg").estimate(x, y)


@pytest.mark.parametrize("n, seed", [(0, 0), (-5, 0), (10, -1), (2.5, 0), (10, 1.5), (True, 0)])
def test_bad_sample_requests(n, seed):
    with pytest.raises(MibenchError):
        mibench.get_task("1v1-normal-0.75").sample(n, seed)


def test_bad_task_parameters():
    from mibench.tasks import gaussian as g

    with pytest.raises(MibenchError, match=r"correlation must lie in \(-1, 1\)"):
        g.bivariate_normal(1.0)
    with pytest.raises(MibenchError, match="dimensions must be >= 1"):
        g.multinormal_dense(0, 2)
    with pytest.raises(MibenchError, match="not positive definite"):
        g.normal_task("bad", [[1.0, 2.0], [2.0, 1.0]], 1, name="bad")
    with pytest.raises(MibenchError, match="off-diagonal"):
        g.multinormal_dense(2, 2, -0.5)
