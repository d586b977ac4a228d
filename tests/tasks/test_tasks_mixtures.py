"""Suite ``mixtures``: stored Monte-Carlo truths checked by fresh draws, densities, maps, BMI's numbers."""

import numpy as np
import pytest
from mibench.tasks import mixtures as M
from scipy import stats

from mibench import MibenchError
from tests.tasks.helpers import assert_mc_agrees, bmi_reference


@pytest.fixture(scope="module")
def suite():
    return {t.id: t for t in M.mixtures_suite()}


def test_suite_ids_and_stored_truths(suite):
    assert list(suite) == list(M.SPECS)
    assert len(suite) == 13
    for t in suite.values():
        assert t.mi_stderr is not None and 0 < t.mi_stderr <= 0.005
        assert t.mutual_information == M.MC_TRUTHS[t.id][0]


@pytest.mark.parametrize("task_id", list(M.SPECS))
def test_fresh_monte_carlo_agrees_with_stored_truth(suite, task_id):
    """Draw from the task's own sampler, undo the map on X, evaluate the pointwise MI."""
    t = suite[task_id]
    mix, fx = M.mixture_parts(task_id)
    x, y = t.sample(20000, 777)
    if fx is not None:
        x = fx.inverse(x)
    assert_mc_agrees(mix.pmi(x, y), t.mutual_information, t.mi_stderr)


def test_truths_agree_with_bmi_monte_carlo(suite):
    """BMI's own estimate (JAX/TFP densities, 10^6 draws) agrees with the stored truths."""
    ref = bmi_reference()["mixtures_mc"]
    for task_id, r in ref.items():
        t = suite[task_id]
        se = np.hypot(t.mi_stderr, max(r["stderr"], 1e-3 / np.sqrt(5)))
        assert abs(t.mutual_information - r["mi"]) <= 5 * se, (task_id, t.mutual_information, r)


def test_logpdf_matches_scipy():
    mix = M.ai_mixture()
    pts = np.random.default_rng(0).standard_normal((50, 2))
    ref = np.log(sum(w * stats.multivariate_normal(m, c).pdf(pts)
                     for w, m, c in zip(mix.weights, mix.means, mix.covariances)))
    np.testing.assert_allclose(mix.logpdf(pts[:, :1], pts[:, 1:]), ref, rtol=1e-10)
    ref_x = np.log(sum(w * stats.norm(m[0], np.sqrt(c[0, 0])).pdf(pts[:, 0])
                       for w, m, c in zip(mix.weights, mix.means, mix.covariances)))
    np.testing.assert_allclose(mix.logpdf_x(pts[:, :1]), ref_x, rtol=1e-10)


def test_marginal_laws(suite):
    # X task: both components have standard normal marginals, so X and Y are exactly N(0, 1)
    x, y = suite["1v1-X-0.9"].sample(20000, 3)
    assert stats.kstest(x[:, 0], "norm").pvalue > 1e-3 and stats.kstest(y[:, 0], "norm").pvalue > 1e-3
    assert abs(np.corrcoef(x[:, 0], y[:, 0])[0, 1]) < 0.03  # uncorrelated yet dependent
    # concentric: Y is i + 0.01 N(0, 1), i uniform in {1..5}
    x, y = suite["3v1-concentric_gaussians-5"].sample(20000, 3)
    labels = np.rint(y[:, 0])
    assert set(np.unique(labels)) == {1, 2, 3, 4, 5}
    assert stats.kstest((y[:, 0] - labels) / 0.01, "norm").pvalue > 1e-3
    # inliers: a fraction f of points comes from the product of marginals; marginals are N(0, 1)
    x, y = suite["mult-sparse-w-inliers-5-5-2-2.0-0.5"].sample(20000, 3)
    assert stats.kstest(x[:, 0], "norm").pvalue > 1e-3
    assert np.corrcoef(x[:, 0], y[:, 0])[0, 1] == pytest.approx(0.5 * 0.8, abs=0.03)


def test_maps_are_bijections():
    for f in (M.WavesMap(5.0, 3.0), M.Spiral(2, 0, 1, 0.5)):
        x = np.random.default_rng(1).standard_normal((5000, 2)) * 3
        np.testing.assert_allclose(f.inverse(f(x)), x, atol=1e-10)


def test_mc_truth_is_reproducible_and_more_points_shrink_error():
    mix = M.x_mixture(0.9)
    a = mix.mc_mutual_information(20000, 5)
    assert a == mix.mc_mutual_information(20000, 5)
    assert mix.mc_mutual_information(80000, 6)[1] < a[1]


@pytest.mark.parametrize("make,match", [
    (lambda: M.x_mixture(1.0), "correlation"),
    (lambda: M.inliers_mixture(5, 5, inlier_fraction=1.5), "inlier_fraction"),
    (lambda: M.concentric_mixture(0), ">= 1"),
    (lambda: M.GaussianMixture([0.5, 0.6], np.zeros((2, 2)), [np.eye(2)] * 2, 1), "sum to 1"),
    (lambda: M.GaussianMixture([1.0], np.zeros((1, 2)), [np.array([[1, 2], [2, 1.0]])], 1), "positive definite"),
    (lambda: M.mixture_parts("nope"), "unknown"),
])
def test_bad_parameters(make, match):
    with pytest.raises(MibenchError, match=match):
        make()
