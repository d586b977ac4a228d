"""Suite ``bmi``: ids, truths against BMI's own numbers, exact maps, injectivity, densities, laws."""

import math

import numpy as np
import pytest
from mibench.tasks import bmi as B
from mibench.tasks import transforms as tr
from mibench.tasks.gaussian import bivariate_normal, lvm_correlation, multinormal_dense, multinormal_sparse
from scipy import stats

from mibench import MibenchError
from tests.tasks.helpers import assert_mc_agrees, bmi_reference, gaussian_logpdf

ISSUE_IDS = """1v1-normal-0.75 normal_cdf-1v1-normal-0.75 1v1-additive-0.1 1v1-additive-0.75 1v1-bimodal-0.75
wiggly-1v1-normal-0.75 half_cube-1v1-normal-0.75 student-identity-1-1-1 asinh-student-identity-1-1-1
swissroll_x-normal_cdf-1v1-normal-0.75 multinormal-dense-2-2-0.5 multinormal-dense-3-3-0.5 multinormal-dense-5-5-0.5
multinormal-dense-25-25-0.5 multinormal-dense-50-50-0.5 multinormal-sparse-2-2-2-2.0 multinormal-sparse-3-3-2-2.0
multinormal-sparse-5-5-2-2.0 multinormal-sparse-25-25-2-2.0 student-identity-2-2-1 student-identity-2-2-2
student-identity-3-3-2 student-identity-3-3-3 student-identity-5-5-2 student-identity-5-5-3
normal_cdf-multinormal-sparse-3-3-2-2.0 normal_cdf-multinormal-sparse-5-5-2-2.0
normal_cdf-multinormal-sparse-25-25-2-2.0 half_cube-multinormal-sparse-3-3-2-2.0 half_cube-multinormal-sparse-5-5-2-2.0
half_cube-multinormal-sparse-25-25-2-2.0 spiral-multinormal-sparse-3-3-2-2.0 spiral-multinormal-sparse-5-5-2-2.0
spiral-multinormal-sparse-25-25-2-2.0 spiral-normal_cdf-multinormal-sparse-3-3-2-2.0
spiral-normal_cdf-multinormal-sparse-5-5-2-2.0 spiral-normal_cdf-multinormal-sparse-25-25-2-2.0
asinh-student-identity-2-2-1 asinh-student-identity-3-3-2 asinh-student-identity-5-5-2""".split()


@pytest.fixture(scope="module")
def suite():
    return {t.id: t for t in B.bmi_suite()}


@pytest.fixture(scope="module")
def ref():
    return bmi_reference()


def test_ids_and_order_are_bmis(suite, ref):
    assert list(suite) == ISSUE_IDS
    assert set(ref["truths"]) == set(ISSUE_IDS)


def test_truths_match_bmi_package(suite, ref):
    for task_id, truth in ref["truths"].items():
        # BMI computes the additive-noise truth in float32: 1e-6 covers it; the others agree to ~1e-14
        assert suite[task_id].mutual_information == pytest.approx(truth, abs=1e-6), task_id


def test_dims_and_shapes(suite):
    for t in suite.values():
        x, y = t.sample(7, 0)
        assert x.shape == (7, t.dim_x) and y.shape == (7, t.dim_y) and x.dtype == np.float64
    assert suite["swissroll_x-normal_cdf-1v1-normal-0.75"].dim_x == 2
    assert suite["multinormal-dense-50-50-0.5"].dim_y == 50


# ---- maps: exactly BMI's, injective and smooth ----------------------------------------------------

def test_maps_match_bmi_pointwise(ref):
    m = ref["maps"]
    z, u = np.array(m["inputs_normal"]), np.array(m["inputs_uniform"])
    np.testing.assert_allclose(tr.normal_cdf(z), m["normal_cdf"], atol=1e-12)
    np.testing.assert_allclose(tr.half_cube(z), m["half_cube"], atol=1e-12)
    np.testing.assert_allclose(tr.asinh(z), m["asinh"], atol=1e-12)
    np.testing.assert_allclose(tr.wiggly_x(z), m["wiggly_x"], atol=1e-12)
    np.testing.assert_allclose(tr.wiggly_y(z), m["wiggly_y"], atol=1e-12)
    np.testing.assert_allclose(tr.swissroll(u[:, None]), m["swissroll"], atol=1e-12)
    np.testing.assert_allclose(tr.GaussianMixtureQuantile([0.3, 0.7], [0.0, 5.0])(u), m["bimodal_x"], atol=1e-9)
    np.testing.assert_allclose(tr.GaussianMixtureQuantile([0.5, 0.5], [-1.0, 3.0])(u), m["bimodal_y"], atol=1e-9)
    for key, case in m["spiral"].items():
        d, i, j = map(int, key.split("-"))
        np.testing.assert_allclose(tr.Spiral(d, i, j, 1.0 / d)(np.array(case["inputs"])), case["outputs"], atol=1e-10)


ELEMENTWISE = [
    (tr.normal_cdf, "normal"), (tr.half_cube, "normal"), (tr.asinh, "student"), (tr.wiggly_x, "normal"),
    (tr.wiggly_y, "normal"), (tr.NormalToMixture([0.3, 0.7], [0.0, 5.0]), "normal"),
    (tr.NormalToMixture([0.5, 0.5], [-1.0, 3.0]), "normal"),
]


@pytest.mark.parametrize("f,law", ELEMENTWISE, ids=lambda v: getattr(v, "__name__", type(v).__name__))
def test_elementwise_maps_are_injective_and_smooth(f, law):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(20000) * 2 if law == "normal" else rng.standard_t(1, 20000)
    if law == "normal":
        # |x| <= 5: beyond, a float64 CDF (normal_cdf, the bimodal map) saturates near 1 and cannot be inverted
        x = np.concatenate([x[np.abs(x) <= 5], np.linspace(-5, 5, 2001)])
    y = f(x)
    back = tr.inverse_of(f)(y)
    np.testing.assert_allclose(back, x, rtol=1e-7, atol=1e-7)  # round trip: injective on the support
    # strictly increasing with a positive, finite derivative (smooth, non-singular Jacobian)
    xs = np.sort(x[np.abs(x) < 5])
    h = 1e-6
    deriv = (f(xs + h) - f(xs - h)) / (2 * h)
    assert np.all(deriv > 0) and np.all(np.isfinite(deriv))
    assert np.all(np.diff(f(xs)) >= 0)


def test_wiggly_derivative_bounds():
    x = np.linspace(-50, 50, 200001)
    assert tr.wiggly_x_derivative(x).min() > 0.16 and tr.wiggly_y_derivative(x).min() > 0.53
    h = 1e-6
    for f, df in ((tr.wiggly_x, tr.wiggly_x_derivative), (tr.wiggly_y, tr.wiggly_y_derivative)):
        np.testing.assert_allclose((f(x + h) - f(x - h)) / (2 * h), df(x), atol=1e-6)


@pytest.mark.parametrize("d,i,j", [(2, 0, 1), (3, 1, 2), (25, 0, 1)])
def test_spiral_is_a_diffeomorphism(d, i, j):
    sp = tr.Spiral(d, i, j, 1.0 / d)
    x = np.random.default_rng(2).standard_normal((5000, d)) * 2
    y = sp(x)
    np.testing.assert_allclose(sp.inverse(y), x, atol=1e-10)
    np.testing.assert_allclose(np.linalg.norm(y, axis=1), np.linalg.norm(x, axis=1), rtol=1e-12)
    # numerical Jacobian at a few points: non-singular (the spiral preserves volume: |det| = 1)
    h = 1e-6
    for p in x[:5]:
        jac = np.stack([(sp((p + h * e)[None]) - sp((p - h * e)[None]))[0] / (2 * h) for e in np.eye(d)], axis=1)
        assert abs(np.linalg.det(jac)) == pytest.approx(1.0, abs=1e-5)


def test_swissroll_is_injective_on_unit_interval():
    u = np.random.default_rng(3).uniform(0, 1, (10000, 1))
    v = tr.swissroll(u)
    np.testing.assert_allclose(tr.swissroll_inverse(v), u, atol=1e-12)
    h = 1e-7
    speed = np.linalg.norm((tr.swissroll(u + h) - tr.swissroll(u - h)) / (2 * h), axis=1)
    assert speed.min() > 0.5  # the embedding's Jacobian (a 2 x 1 matrix) has full rank


def test_transformed_task_samples_invert_to_base_samples(suite):
    base = suite["multinormal-sparse-5-5-2-2.0"]
    bx, by = base.sample(2000, 4)
    for name, inv in (("normal_cdf", tr.normal_cdf_inverse), ("half_cube", tr.half_cube_inverse)):
        x, y = suite[f"{name}-{base.id}"].sample(2000, 4)
        np.testing.assert_allclose(inv(x), bx, atol=1e-8)
        np.testing.assert_allclose(inv(y), by, atol=1e-8)
    x, y = suite[f"spiral-{base.id}"].sample(2000, 4)
    np.testing.assert_allclose(tr.Spiral(5, 0, 1, 0.2).inverse(x), bx, atol=1e-10)
    np.testing.assert_allclose(tr.Spiral(5, 1, 2, 0.2).inverse(y), by, atol=1e-10)


# ---- truths by Monte Carlo from the samplers' own samples --------------------------------------

@pytest.mark.parametrize("task_id", ["1v1-normal-0.75", "multinormal-dense-5-5-0.5", "multinormal-sparse-3-3-2-2.0",
                                     "multinormal-dense-25-25-0.5"])
def test_gaussian_truth_by_monte_carlo(suite, task_id):
    t = suite[task_id]
    x, y = t.sample(40000, 11)
    cov = t._sampler.covariance
    dx = t.dim_x
    pmi = (gaussian_logpdf(np.hstack([x, y]), cov) - gaussian_logpdf(x, cov[:dx, :dx])
           - gaussian_logpdf(y, cov[dx:, dx:]))
    assert_mc_agrees(pmi, t.mutual_information)


@pytest.mark.parametrize("dim,dof", [(1, 1), (2, 2), (3, 3), (5, 2)])
def test_student_truth_by_monte_carlo(suite, dim, dof):
    t = suite[f"student-identity-{dim}-{dim}-{dof}"]
    x, y = t.sample(40000, 12)
    lp = lambda a: stats.multivariate_t(loc=np.zeros(a.shape[1]), shape=np.eye(a.shape[1]), df=dof).logpdf(a)  # noqa
    pmi = lp(np.hstack([x, y])) - lp(x) - lp(y)
    assert_mc_agrees(pmi, t.mutual_information)


@pytest.mark.parametrize("eps", [0.1, 0.75])
def test_additive_truth_by_monte_carlo(eps):
    t = B.additive_uniform(eps)
    x, y = t.sample(200000, 13)
    py = (np.minimum(y + eps, 1) - np.maximum(y - eps, 0)) / (2 * eps)  # convolution of U(0,1) and U(-eps,eps)
    pmi = -np.log(2 * eps) - np.log(py[:, 0])
    assert_mc_agrees(pmi, t.mutual_information)


def test_student_correction_against_entropy_quadrature():
    """1-D Student-t entropy by quadrature and by the closed form agree (second derivation of c)."""
    nu = 3.0
    t1 = stats.t(nu)
    from scipy import integrate
    h1 = integrate.quad(lambda v: -t1.pdf(v) * t1.logpdf(v), -np.inf, np.inf, epsabs=1e-12)[0]
    assert h1 == pytest.approx(t1.entropy(), abs=1e-9)
    # c(nu, 1, 1) = 2 h(t_1) - h(t_2); bivariate entropy by MC-free quadrature in polar coordinates
    logc = stats.multivariate_t(np.zeros(2), np.eye(2), df=nu).logpdf
    h2 = integrate.quad(lambda r: -2 * np.pi * r * np.exp(logc([r, 0.0])) * logc([r, 0.0]), 0, np.inf,
                        epsabs=1e-12)[0]
    assert B.student_mi_correction(nu, 1, 1) == pytest.approx(2 * h1 - h2, abs=1e-8)


# ---- laws of the marginals ----------------------------------------------------------------------

def test_marginal_laws_ks(suite):
    n, seed = 20000, 21
    x, y = suite["normal_cdf-1v1-normal-0.75"].sample(n, seed)
    assert stats.kstest(x[:, 0], "uniform").pvalue > 1e-3 and stats.kstest(y[:, 0], "uniform").pvalue > 1e-3
    x, y = suite["1v1-normal-0.75"].sample(n, seed)
    assert stats.kstest(x[:, 0], "norm").pvalue > 1e-3
    assert np.corrcoef(x[:, 0], y[:, 0])[0, 1] == pytest.approx(0.75, abs=0.02)
    x, y = suite["student-identity-3-3-3"].sample(n, seed)
    for j in range(3):
        assert stats.kstest(x[:, j], stats.t(3).cdf).pvalue > 1e-3
    x, y = suite["1v1-bimodal-0.75"].sample(n, seed)
    fx = tr.GaussianMixtureQuantile([0.3, 0.7], [0.0, 5.0]).cdf
    fy = tr.GaussianMixtureQuantile([0.5, 0.5], [-1.0, 3.0]).cdf
    assert stats.kstest(x[:, 0], fx).pvalue > 1e-3 and stats.kstest(y[:, 0], fy).pvalue > 1e-3
    x, y = suite["1v1-additive-0.75"].sample(n, seed)
    assert stats.kstest(x[:, 0], "uniform").pvalue > 1e-3
    assert stats.kstest(y[:, 0] - x[:, 0], stats.uniform(-0.75, 1.5).cdf).pvalue > 1e-3
    x, y = suite["swissroll_x-normal_cdf-1v1-normal-0.75"].sample(n, seed)
    assert stats.kstest(tr.swissroll_inverse(x)[:, 0], "uniform").pvalue > 1e-3


def test_sparse_covariance_moments(suite):
    t = suite["multinormal-sparse-5-5-2-2.0"]
    x, y = t.sample(50000, 5)
    emp = np.cov(np.hstack([x, y]).T)
    np.testing.assert_allclose(emp, lvm_correlation(5, 5, 2, lambd=2.0, eta=2.0), atol=0.03)


# ---- limits and bad parameters ------------------------------------------------------------------

def test_limits():
    assert bivariate_normal(0.0).mutual_information == pytest.approx(0.0, abs=1e-15)
    assert bivariate_normal(1e-6).mutual_information == pytest.approx(5e-13, rel=1e-3)
    assert B.student_mi_correction(1e7, 3, 3) == pytest.approx(0.0, abs=1e-6)
    assert B.student_mi_correction(1.0, 3, 3) > B.student_mi_correction(5.0, 3, 3) > 0
    assert B.additive_uniform_mi(1e6) == pytest.approx(0.0, abs=1e-6)
    # the two branches of the additive-noise truth meet continuously at eps = 1/2
    assert B.additive_uniform_mi(0.5 - 1e-12) == pytest.approx(B.additive_uniform_mi(0.5), abs=1e-9)


@pytest.mark.parametrize("make,match", [
    (lambda: bivariate_normal(1.0), "correlation"),
    (lambda: bivariate_normal(-1.2), "correlation"),
    (lambda: B.student_task(2, 2, 0), "degrees of freedom"),
    (lambda: B.student_task(2, 2, -1.5), "degrees of freedom"),
    (lambda: B.student_task(0, 2, 1), "dimensions"),
    (lambda: B.additive_uniform(0.0), "epsilon"),
    (lambda: multinormal_dense(0, 3), "dimensions"),
    (lambda: multinormal_sparse(2, 2, 3), "n_interacting"),
    (lambda: B.student_task(1, 1, 2, dispersion=[[1, 2], [2, 1]]), "positive definite"),
    (lambda: B.spiral_task(bivariate_normal(0.5)), "spiral"),
    (lambda: tr.Spiral(3, 2, 1), "spiral"),
])
def test_bad_parameters_fail_at_construction(make, match):
    with pytest.raises(MibenchError, match=match):
        make()


def test_composition_is_public_and_keeps_truth():
    base = B.student_task(2, 2, 3)
    t = base.transformed(tr.asinh, tr.half_cube, id="my-composed")
    assert t.mutual_information == base.mutual_information
    x, y = t.sample(100, 0)
    bx, by = base.sample(100, 0)
    np.testing.assert_allclose(x, np.arcsinh(bx)) and np.testing.assert_allclose(y, tr.half_cube(by))
    assert math.isfinite(t.mutual_information)
