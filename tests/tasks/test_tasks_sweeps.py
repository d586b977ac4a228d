"""Suite sweeps: dense multinormals at exact MI levels, truths by Monte Carlo and by the closed form."""

import math

import numpy as np
import pytest
from mibench.tasks import sweeps

import mibench
from mibench import MibenchError

from .helpers import assert_mc_agrees, gaussian_logpdf


def test_suite_lists_every_dimension_level_and_transform():
    tasks = mibench.list_tasks("sweeps")
    ids = [t.id for t in tasks]
    assert len(ids) == len(set(ids)) == len(sweeps.LEVELS) * (2 + 3 + 3)
    for d in sweeps.DIMS:
        for mi in sweeps.LEVELS:
            assert f"sweep-dense-{d}-{mi:g}" in ids and f"half_cube-sweep-dense-{d}-{mi:g}" in ids
            assert (f"spiral-sweep-dense-{d}-{mi:g}" in ids) == (d >= 3)
    assert {(t.dim_x, t.dim_y) for t in tasks} == {(d, d) for d in sweeps.DIMS}


@pytest.mark.parametrize("d", sweeps.DIMS)
def test_truth_is_the_target_level(d):
    """The task's truth (log-determinants of the covariance) hits every level; the covariance's
    eigenvalues give the same MI (a second derivation, from the spectrum)."""
    for mi in sweeps.LEVELS:
        task = mibench.get_task(f"sweep-dense-{d}-{mi:g}")
        assert task.mutual_information == pytest.approx(mi, abs=1e-6)
        rho = task.params["off_diag"]
        # joint: eigenvalues 1 - rho (2d - 1 times) and 1 + (2d - 1) rho; each side: 1 - rho (d - 1), 1 + (d - 1) rho
        logdet_joint = (2 * d - 1) * math.log1p(-rho) + math.log1p((2 * d - 1) * rho)
        logdet_side = (d - 1) * math.log1p(-rho) + math.log1p((d - 1) * rho)
        assert 0.5 * (2 * logdet_side - logdet_joint) == pytest.approx(mi, abs=1e-6)  # rho rounded to float
        assert mibench.get_task(f"half_cube-sweep-dense-{d}-{mi:g}").mutual_information == task.mutual_information


@pytest.mark.parametrize("task_id", ["sweep-dense-1-1", "sweep-dense-5-4", "sweep-dense-25-10"])
def test_truth_matches_monte_carlo(task_id):
    task = mibench.get_task(task_id)
    x, y = task.sample(50_000, seed=5)
    d = task.dim_x
    rho = task.params["off_diag"]
    cov = np.eye(2 * d) * (1 - rho) + rho
    z = np.hstack([x, y])
    pmi = gaussian_logpdf(z, cov) - gaussian_logpdf(x, cov[:d, :d]) - gaussian_logpdf(y, cov[d:, d:])
    assert_mc_agrees(pmi, task.mutual_information)


def test_transforms_keep_the_sampled_base():
    """half-cube and spiral act on the base's samples (same seed), so they keep its MI."""
    base = mibench.get_task("sweep-dense-5-2")
    x, y = base.sample(100, seed=3)
    hx, hy = mibench.get_task("half_cube-sweep-dense-5-2").sample(100, seed=3)
    np.testing.assert_allclose(hx, np.sign(x) * np.abs(x) ** 1.5, rtol=1e-12)
    np.testing.assert_allclose(hy, np.sign(y) * np.abs(y) ** 1.5, rtol=1e-12)
    sx, _ = mibench.get_task("spiral-sweep-dense-5-2").sample(100, seed=3)
    np.testing.assert_allclose(np.linalg.norm(sx, axis=1), np.linalg.norm(x, axis=1), rtol=1e-10)  # rotations


@pytest.mark.parametrize("d, mi, match", [(0, 1.0, "dimension"), (2, -0.1, "MI"), (2, float("nan"), "MI"),
                                          (1.5, 1.0, "dimension")])
def test_bad_levels_are_clear_errors(d, mi, match):
    with pytest.raises(MibenchError, match=match):
        sweeps.dense_correlation_for(d, mi)
