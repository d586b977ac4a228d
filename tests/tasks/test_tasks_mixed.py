"""Mixed discrete-continuous tasks: every truth checked by the Monte-Carlo mean of the pointwise MI
log p(x, y) / (p(x) p(y)), written here from each sampler's definition with scipy's distributions
(independent of the quadratures and sums in tasks/mixed.py); the quadrature also against adaptive
quadrature; atoms where they are claimed."""

import math

import numpy as np
import pytest
from mibench.tasks import mixed
from scipy import integrate, stats
from scipy.special import logsumexp

import mibench
from tests.tasks.helpers import assert_mc_agrees

N_MC = 200_000


def _pmi(task, x, y):
    """Pointwise MI of each pair from the task's definition (family by family)."""
    p = task.params
    fam = task.family
    if fam == "mixed-uniform":
        # p(y_j | x_j) = 1/2 on [x_j, x_j + 2]; p(y_j) = (1/K) sum_a 1/2 [a <= y_j <= a + 2]
        out = np.zeros(len(x))
        for j, k in enumerate(p["ks"]):
            a = np.arange(k)
            inside = (y[:, j : j + 1] >= a) & (y[:, j : j + 1] <= a + 2)
            out += np.log(0.5) - np.log(inside.sum(axis=1) / k * 0.5)
        return out
    if fam in ("mixed-categorical", "mixed-poisson"):
        s = p["sigma"]
        if fam == "mixed-categorical":
            atoms = np.arange(p["param"])
            w = np.full(len(atoms), 1.0 / len(atoms))
        else:
            atoms = np.arange(200)
            w = stats.poisson.pmf(atoms, p["param"])
            atoms, w = atoms[w > 1e-30], w[w > 1e-30]
        # the normal density's constant cancels in the ratio
        log_py = logsumexp(np.log(w)[None, :] - 0.5 * ((y[:, :1] - atoms[None, :]) / s) ** 2, axis=1)
        return -0.5 * ((y[:, 0] - x[:, 0]) / s) ** 2 - log_py
    if fam == "mixed-zip":
        q = p["p"]
        pois = stats.poisson.pmf(y[:, 0], x[:, 0])
        p_yx = np.where(y[:, 0] == 0, q, 0.0) + (1 - q) * pois
        # p(y) = int e^-x P(y; x) dx: by quadrature per distinct y (independent of the closed form)
        ys = np.unique(y[:, 0])
        marg = {v: integrate.quad(lambda t, v=v: math.exp(-t) * stats.poisson.pmf(v, t), 0, np.inf)[0] for v in ys}
        p_y = np.where(y[:, 0] == 0, q, 0.0) + (1 - q) * np.vectorize(marg.get)(y[:, 0])
        return np.log(p_yx) - np.log(p_y)
    if fam == "mixed-quantised":
        d, rho = p["delta"], p["rho"]
        j = y[:, 0]
        p_y = stats.norm.cdf((j + 1) * d) - stats.norm.cdf(j * d)
        if rho == 1:
            return -np.log(p_y)
        s = math.sqrt(1 - rho**2)
        p_yx = stats.norm.cdf(((j + 1) * d - rho * x[:, 0]) / s) - stats.norm.cdf((j * d - rho * x[:, 0]) / s)
        return np.log(p_yx) - np.log(p_y)
    if fam == "mixed-censored":
        rho = p["rho"]
        s = math.sqrt(1 - rho**2)
        at0 = y[:, 0] == 0
        atom = stats.norm.logcdf(-rho * x[:, 0] / s) - math.log(0.5)
        dens = stats.norm.logpdf(y[:, 0], rho * x[:, 0], s) - stats.norm.logpdf(y[:, 0])
        return np.where(at0, atom, dens)
    if fam == "mixed-gao":
        q, rho, flip = p["p"], p["rho"], p["flip"]
        binary = np.isin(x[:, 0], (-1.0, 1.0)) & np.isin(y[:, 0], (-1.0, 1.0))
        same = x[:, 0] == y[:, 0]
        disc = np.log(np.where(same, 1 - flip, flip) * 2)
        cov = np.array([[1, rho], [rho, 1]])
        cont = (stats.multivariate_normal(cov=cov).logpdf(np.column_stack([x[:, 0], y[:, 0]]))
                - stats.norm.logpdf(x[:, 0]) - stats.norm.logpdf(y[:, 0]) - math.log(1 - q))
        # discrete part: p(x, y) = q/2 P(y|x), p(x) = p(y) = q/2 (atoms) -> log(2 P(y|x) / q)
        return np.where(binary, disc - math.log(q), cont)
    if fam == "mixed-channel":
        k, eps = p["k"], p["eps"]
        return np.log(np.where(x[:, 0] == y[:, 0], 1 - eps, eps / (k - 1)) * k)
    raise AssertionError(f"no pointwise MI for {fam}")


@pytest.mark.parametrize("task", mibench.list_tasks("mixed"), ids=lambda t: t.id)
def test_truth_by_monte_carlo(task):
    x, y = task.sample(N_MC, 2026)
    assert x.dtype == y.dtype == np.float64
    assert_mc_agrees(_pmi(task, x, y), task.mutual_information)


def test_suite_contents():
    tasks = mibench.list_tasks("mixed")
    assert len(tasks) == 18 and len({t.id for t in tasks}) == 18
    fams = {t.family for t in tasks}
    assert fams == {"mixed-uniform", "mixed-categorical", "mixed-poisson", "mixed-zip", "mixed-quantised",
                    "mixed-censored", "mixed-gao", "mixed-channel"}
    assert mibench.get_task("mixed-uniform-2-3-5").dim_x == 3


def _adaptive_discrete_plus_noise(kind, param, sigma):
    """h(X + sigma Z) - h(sigma Z) by scipy's adaptive quadrature of -p log p over y (density from scipy)."""
    atoms, w = (np.arange(param), np.full(param, 1 / param)) if kind == "categorical" else (
        np.arange(200), stats.poisson.pmf(np.arange(200), param))

    def minus_plogp(t):
        lp = logsumexp(np.log(w) + stats.norm.logpdf(t, atoms, sigma))
        return -math.exp(lp) * lp

    lo, hi = -12 * sigma, atoms[w > 1e-18].max() + 12 * sigma
    pts = np.arange(math.floor(lo), math.ceil(hi) + 1, 0.5)
    h = sum(integrate.quad(minus_plogp, a, b, epsabs=1e-13, epsrel=1e-12, limit=200)[0]
            for a, b in zip(pts[:-1], pts[1:]))
    return h - 0.5 * math.log(2 * math.pi * math.e * sigma**2)


@pytest.mark.parametrize("kind,param,sigma", [("categorical", 4, 0.25), ("poisson", 2.0, 0.3)])
def test_gauss_legendre_truth_matches_adaptive_quadrature(kind, param, sigma):
    assert mixed.discrete_plus_noise_mi(kind, param, sigma) == pytest.approx(
        _adaptive_discrete_plus_noise(kind, param, sigma), abs=1e-9)


def test_zip_truth_at_zero_inflation_is_bmis_closed_form():
    """p = 0: BMI's 2 log 2 - gamma - sum_k log k 2^-k (a different derivation); for p > 0 BMI's
    (1 - p) x that value is larger than the truth (checked by Monte Carlo above)."""
    k = np.arange(1, 200)
    bmi = 2 * math.log(2) - np.euler_gamma - np.sum(np.log(k) * 2.0**-k)
    assert mixed.zip_mi(0.0) == pytest.approx(bmi, abs=1e-12)
    assert mixed.zip_mi(0.15) < 0.85 * bmi - 0.02


def test_closed_forms_at_limits():
    # uniform mixture with K = 1 carries nothing; the channel with eps = 1 - 1/K is independent
    assert mixed.uniform_mixture_mi(1) == 0.0
    assert mixed.channel_entropy(4, 0.75) == pytest.approx(math.log(4), abs=1e-12)
    # quantisation of a standard normal with a huge bin: one bin, no information
    assert mixed.quantised_mi(1000.0, 1.0) == pytest.approx(math.log(2), abs=1e-12)  # bins [-1000, 0), [0, 1000)


def test_atoms_where_claimed():
    """The channel and Gao tasks have exact joint duplicates (KSG's zero radius), the noise tasks not."""
    def max_copies(t):
        x, y = t.sample(2000, 0)
        return np.unique(np.hstack([x, y]), axis=0, return_counts=True)[1].max()

    assert max_copies(mibench.get_task("mixed-channel-4-0.1")) > 50
    assert max_copies(mibench.get_task("mixed-gao-0.5")) > 50
    assert max_copies(mibench.get_task("mixed-poisson-2.0-0.3")) == 1
    x, y = mibench.get_task("mixed-censored-0.5").sample(2000, 0)
    assert 0.45 < np.mean(y == 0) < 0.55


def test_deterministic_and_bad_parameters():
    t = mibench.get_task("mixed-zip-0.15")
    a, b = t.sample(100, 4), t.sample(100, 4)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    for bad in (lambda: mixed.zero_inflated_poisson(1.0), lambda: mixed.censored(1.0),
                lambda: mixed.discrete_plus_noise("binomial", 3, 1.0), lambda: mixed.discrete_channel(1, 0.1),
                lambda: mixed.quantised(0.0, 0.5), lambda: mixed.gao_mixture(0.0), lambda: mixed.uniform_mixture()):
        with pytest.raises(mibench.MibenchError):
            bad()
