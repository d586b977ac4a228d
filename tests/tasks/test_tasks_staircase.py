"""Suite ``staircase``: truths by Monte Carlo, rho <-> MI, cubic map, schedule, bad parameters."""

import math

import numpy as np
import pytest
from mibench.tasks.staircase import LEVELS, rho_for_mi, staircase_suite, staircase_task
from scipy import stats

from mibench import MibenchError
from tests.tasks.helpers import assert_mc_agrees


def test_suite():
    tasks = staircase_suite()
    assert len(tasks) == 10
    assert sorted({t.mutual_information for t in tasks}) == pytest.approx(list(LEVELS))
    assert {t.family for t in tasks} == {"staircase", "staircase-cubic"}
    assert all(t.dim_x == t.dim_y == 20 for t in tasks)


@pytest.mark.parametrize("mi,cubic", [(2.0, False), (6.0, False), (10.0, True)])
def test_truth_by_monte_carlo(mi, cubic):
    t = staircase_task(mi, 20, cubic)
    x, y = t.sample(20000, 4)
    if cubic:
        y = np.cbrt(y)  # invert the (injective) cube
    rho = rho_for_mi(mi, 20)
    s = math.sqrt(1 - rho**2)
    pmi = (stats.norm(0, s).logpdf(y - rho * x) - stats.norm.logpdf(y)).sum(axis=1)
    assert_mc_agrees(pmi, t.mutual_information)


def test_correlation_and_laws():
    t = staircase_task(4.0, 20)
    x, y = t.sample(20000, 5)
    rho = rho_for_mi(4.0, 20)
    assert np.corrcoef(x[:, 3], y[:, 3])[0, 1] == pytest.approx(rho, abs=0.02)
    assert abs(np.corrcoef(x[:, 3], y[:, 4])[0, 1]) < 0.03
    assert stats.kstest(y[:, 0], "norm").pvalue > 1e-3
    _, yc = staircase_task(4.0, 20, cubic=True).sample(20000, 5)
    np.testing.assert_allclose(np.cbrt(yc), y, atol=1e-12)  # cubic = same draw, y -> y^3


def test_rho_for_mi_limits():
    assert rho_for_mi(0.0, 20) == 0.0
    assert staircase_task(0.0).mutual_information == 0.0
    assert rho_for_mi(1e-8, 1) == pytest.approx(math.sqrt(2e-8), rel=1e-6)
    assert 0 < rho_for_mi(10.0, 20) < 1


@pytest.mark.parametrize("make,match", [
    (lambda: rho_for_mi(-1.0, 20), ">= 0"),
    (lambda: rho_for_mi(1.0, 0), ">= 1"),
])
def test_bad_parameters(make, match):
    with pytest.raises(MibenchError, match=match):
        make()
