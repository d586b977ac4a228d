"""Suite ``awgn``: quadrature truth vs Monte Carlo, closed form, limits, bounds, bad parameters."""

import math

import numpy as np
import pytest
from mibench.tasks import awgn as A
from scipy import stats

from mibench import MibenchError
from tests.tasks.helpers import assert_mc_agrees


def test_suite_covers_range():
    tasks = A.awgn_suite()
    assert len(tasks) == 30
    mis = [t.mutual_information for t in tasks]
    assert min(mis) == pytest.approx(0.1, abs=0.01) and max(mis) == pytest.approx(10, abs=0.05)
    assert {t.dim_x for t in tasks} == {1, 4, 16}


@pytest.mark.slow
def test_stored_sigmas_are_reproduced():
    for (inp, d, target), sigma in A.SIGMAS.items():
        assert A._suite_sigma(inp, d, target) == sigma


@pytest.mark.parametrize("inp,d,sigma", [("gaussian", 1, 0.763), ("gaussian", 4, 0.299), ("uniform", 1, 0.435),
                                         ("uniform", 4, 0.16), ("uniform", 16, 1.08), ("uniform", 1, 0.00327)])
def test_truth_by_monte_carlo(inp, d, sigma):
    t = A.awgn_task(inp, d, sigma)
    x, y = t.sample(40000, 9)
    log_cond = stats.norm(0, sigma).logpdf(y - x).sum(axis=1)
    if inp == "gaussian":
        log_y = stats.norm(0, math.sqrt(1 + sigma**2)).logpdf(y).sum(axis=1)
    else:
        # density of U(-1,1) + sigma N(0,1) written directly (independent of the stable log form)
        log_y = np.log((stats.norm.cdf((y + 1) / sigma) - stats.norm.cdf((y - 1) / sigma)) / 2).sum(axis=1)
    assert_mc_agrees(log_cond - log_y, t.mutual_information)


def test_uniform_entropy_matches_numerical_integration_on_a_grid():
    for sigma in (0.05, 0.5, 3.0):
        ys = np.linspace(-1 - 40 * sigma, 1 + 40 * sigma, 400001)
        p = np.exp(A.uniform_noisy_logpdf(ys, sigma))
        h = -np.trapezoid(p * np.log(np.maximum(p, 1e-300)), ys)
        assert A._entropy_uniform_plus_noise(sigma) == pytest.approx(h, abs=1e-7)
        assert np.trapezoid(p, ys) == pytest.approx(1.0, abs=1e-9)


def test_limits_and_bounds():
    assert A.awgn_mi("gaussian", 4, 1e5) == pytest.approx(0.0, abs=1e-9)
    assert A.awgn_mi("uniform", 4, 1e3) == pytest.approx(0.0, abs=1e-6)
    # high SNR: I -> d (log 2 - 1/2 log(2 pi e sigma^2)) (entropy of the box minus noise entropy)
    s = 1e-4
    assert A.awgn_mi("uniform", 3, s) == pytest.approx(3 * (math.log(2) - 0.5 * math.log(2 * math.pi * math.e * s**2)),
                                                       abs=1e-3)
    # low SNR: I ~ d var(X) / (2 sigma^2); and the Gaussian with the same variance maximises MI
    s = 50.0
    assert A.awgn_mi("uniform", 2, s) == pytest.approx(2 * (1 / 3) / (2 * s**2), rel=1e-3)
    for s in (0.1, 0.5, 1, 2):
        assert A.awgn_mi("uniform", 1, s) < 0.5 * math.log1p(1 / (3 * s**2))
    sig = np.geomspace(1e-3, 1e2, 30)
    assert np.all(np.diff([A.awgn_mi("uniform", 1, s) for s in sig]) < 0)


def test_sigma_for_mi_inverts():
    for inp in A.INPUTS:
        s = A.sigma_for_mi(inp, 4, 2.5)
        assert A.awgn_mi(inp, 4, s) == pytest.approx(2.5, abs=1e-8)


def test_laws():
    t = A.awgn_task("uniform", 4, 0.5)
    x, y = t.sample(20000, 1)
    assert stats.kstest(x[:, 2], stats.uniform(-1, 2).cdf).pvalue > 1e-3
    assert stats.kstest((y - x)[:, 1] / 0.5, "norm").pvalue > 1e-3
    x, y = A.awgn_task("gaussian", 1, 2.0).sample(20000, 1)
    assert stats.kstest(y[:, 0] / math.sqrt(5), "norm").pvalue > 1e-3


@pytest.mark.parametrize("args,match", [(("gaussian", 2, 0.0), "sigma"), (("uniform", 2, -1.0), "sigma"),
                                        (("gaussian", 0, 1.0), "dimension"), (("laplace", 2, 1.0), "input"),
                                        (("uniform", 2, float("inf")), "sigma")])
def test_bad_parameters(args, match):
    with pytest.raises(MibenchError, match=match):
        A.awgn_task(*args)
    with pytest.raises(MibenchError, match="> 0"):
        A.sigma_for_mi("gaussian", 2, -1.0)


def test_uniform_entropy_to_1e9_against_mpmath():
    """h(U(-1, 1) + sigma Z) with 30-digit arithmetic (mpmath) vs the float64 adaptive quadrature."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 30
    for sigma in (0.02, 0.7):
        s = mpmath.mpf(sigma)
        def f(y, s=s):
            p = (mpmath.ncdf((y + 1) / s) - mpmath.ncdf((y - 1) / s)) / 2
            return -p * mpmath.log(p) if p > 0 else mpmath.mpf(0)

        w = 40 * s
        h = 2 * mpmath.quad(f, [-1 - w, -1 - s, -1, -1 + s, min(-1 + w, 0)])
        if -1 + w < 0:
            h += 2 * (1 - w) * mpmath.log(2) / 2
        assert A._entropy_uniform_plus_noise(sigma) == pytest.approx(float(h), abs=1e-9)
