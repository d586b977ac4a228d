"""gaussian/cca, histogram, kde, kl, wkl: conformance, independent checks, accuracy on easy tasks."""

import math

import numpy as np
import pytest
from mibench.estimators.histogram import Histogram
from mibench.estimators.kde import KDE
from mibench.estimators.kl import KozachenkoLeonenko, WeightedKozachenkoLeonenko, wkl_weights
from scipy.special import gamma
from scipy.stats import gaussian_kde

import mibench
from mibench.core.testing import check_estimator

# (spec, tolerance in nats at N = 5000 on the easy tasks). Histogram and KDE are biased
# downwards on the 4-d task (coarse cells, oversmoothing); the tolerances state that.
ACCURACY = {
    "gaussian": {"1v1-normal-0.75": 0.02, "multinormal-dense-2-2-0.5": 0.03},
    "histogram": {"1v1-normal-0.75": 0.03, "multinormal-dense-2-2-0.5": 0.08},
    "kde": {"1v1-normal-0.75": 0.03, "multinormal-dense-2-2-0.5": 0.05},
    "kl": {"1v1-normal-0.75": 0.03, "multinormal-dense-2-2-0.5": 0.05},
    "wkl": {"1v1-normal-0.75": 0.03, "multinormal-dense-2-2-0.5": 0.05},
}


@pytest.fixture(scope="module")
def task_samples():
    out = {}
    for task_id in ("1v1-normal-0.75", "multinormal-dense-2-2-0.5"):
        task = mibench.get_task(task_id)
        out[task_id] = (task, *task.sample(5000, seed=3))
    return out


@pytest.mark.parametrize("spec", sorted(ACCURACY))
def test_accuracy_and_independence(spec, task_samples):
    est = mibench.get_estimator(spec)
    for task_id, tol in ACCURACY[spec].items():
        task, x, y = task_samples[task_id]
        v = est.estimate(x, y)
        assert abs(v - task.mutual_information) <= tol, (task_id, v, task.mutual_information)
        rng = np.random.default_rng(9)
        m = 2000 if spec == "kde" else 5000  # kde is O(N^2)
        vi = est.estimate(rng.standard_normal((m, x.shape[1])), rng.standard_normal((m, y.shape[1])))
        assert abs(vi) <= 0.05, (task_id, vi)


@pytest.mark.parametrize("spec,n,atol", [
    ("gaussian", 2000, 0.15), ("cca", 2000, 0.15), ("kde", 800, 0.15), ("kde:bandwidth=cv,cv_samples=200", 600, 0.15),
    ("kl", 2000, 0.15), ("wkl", 2000, 0.15),
    # 4-d data at N = 2000 get 3 bins per coordinate: the discretisation loses ~0.4 of 1.02 nats
    ("histogram", 2000, 0.45), ("histogram:strategy=equal-width", 2000, 0.7),
])
def test_conformance(spec, n, atol):
    check_estimator(spec, n=n, atol_gaussian=atol)


def test_gaussian_canonical_correlations_match_population():
    """Population canonical correlations from the eigenvalues of Sxx^-1 Sxy Syy^-1 Syx."""
    task = mibench.get_task("multinormal-dense-2-2-0.5")
    cov = np.eye(4) * 0.5 + 0.5
    sxx, syy, sxy = cov[:2, :2], cov[2:, 2:], cov[:2, 2:]
    rho2 = np.sort(np.linalg.eigvals(np.linalg.solve(sxx, sxy) @ np.linalg.solve(syy, sxy.T)).real)[::-1]
    x, y = task.sample(200_000, seed=0)
    v, info = mibench.get_estimator("cca").estimate_with_info(x, y)
    assert np.allclose(info["canonical_correlations"], np.sqrt(np.clip(rho2, 0, None)), atol=0.01)
    assert v == pytest.approx(-0.5 * np.sum(np.log(1 - rho2)), abs=0.01)
    # invariant under invertible affine maps of each block
    a = np.array([[2.0, 1.0], [0.0, 3.0]])
    assert mibench.get_estimator("gaussian").estimate(x @ a + 5, y) == pytest.approx(v, abs=1e-9)


def test_plugin_gaussian_mi_bias_matches_monte_carlo():
    """The Wishart-derived bias of the plug-in Gaussian MI against 4000 simulated small samples."""
    from mibench.estimators.gaussian import plugin_mi_bias

    rng = np.random.default_rng(0)
    n, dx, dy, rho = 30, 3, 2, 0.6
    truth = -0.5 * 2 * math.log(1 - rho**2)  # two correlated pairs, one independent x coordinate
    est = mibench.get_estimator("gaussian")
    vals = []
    for _ in range(4000):
        u = rng.standard_normal((n, 2))
        x = np.column_stack([u, rng.standard_normal(n)])
        y = rho * u + math.sqrt(1 - rho**2) * rng.standard_normal((n, 2))
        vals.append(est.estimate(x, y))
    bias, se = np.mean(vals) - truth, np.std(vals) / math.sqrt(len(vals))
    assert abs(bias - plugin_mi_bias(n, dx, dy)) < 4 * se
    assert bias > 10 * se  # a real effect at this n: the correction is not ~0
    assert plugin_mi_bias(100_000, 25, 25) == pytest.approx(25 * 25 / (2 * 100_000), rel=0.01)
    with pytest.raises(ValueError, match="n > d_x"):
        plugin_mi_bias(5, 3, 2)


def test_histogram_exact_on_a_known_table():
    """Two binary variables with counts [[40, 10], [10, 40]]: MI by hand from the table."""
    x = np.repeat([0.0, 0.0, 1.0, 1.0], [40, 10, 10, 40])[:, None]
    y = np.repeat([0.0, 1.0, 0.0, 1.0], [40, 10, 10, 40])[:, None]
    p = np.array([[0.4, 0.1], [0.1, 0.4]])
    truth = sum(p[i, j] * math.log(p[i, j] / 0.25) for i in range(2) for j in range(2))
    for strategy in ("equal-width", "equal-frequency"):
        plain = Histogram(bins=2, strategy=strategy, miller_madow=False).estimate(x, y)
        assert plain == pytest.approx(truth, abs=1e-12)
        # Miller-Madow: (m_x - 1 + m_y - 1 - (m_xy - 1)) / 2N = (1 + 1 - 3) / 200
        mm = Histogram(bins=2, strategy=strategy).estimate(x, y)
        assert mm == pytest.approx(truth - 1 / 200, abs=1e-12)


def test_histogram_rejects_high_dimension_and_bad_parameters():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="exceeds the limit 6"):
        Histogram().estimate(rng.standard_normal((100, 4)), rng.standard_normal((100, 3)))
    for kwargs in ({"bins": 1}, {"bins": "many"}, {"strategy": "kmeans"}, {"miller_madow": 1}):
        with pytest.raises(ValueError):
            Histogram(**kwargs)


def test_kde_resubstitution_equals_scipy_gaussian_kde():
    """scipy's gaussian_kde (Scott's factor, kernel covariance h^2 S) is an independent implementation."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((300, 2))
    y = x[:, :1] + rng.standard_normal((300, 1))
    xy = np.hstack([x, y])
    want = np.mean(gaussian_kde(xy.T).logpdf(xy.T) - gaussian_kde(x.T).logpdf(x.T) - gaussian_kde(y.T).logpdf(y.T))
    assert KDE(evaluation="resubstitution").estimate(x, y) == pytest.approx(want, abs=1e-9)
    # leave-one-out removes the self-kernel: smaller log-densities, independent of scipy
    assert KDE().estimate(x, y) != pytest.approx(want, abs=1e-3)


def test_kde_bad_parameters():
    for kwargs in ({"bandwidth": "wide"}, {"bandwidth": -1.0}, {"bandwidth": float("nan")},
                   {"evaluation": "jackknife"}, {"cv_samples": 5}):
        with pytest.raises(ValueError):
            KDE(**kwargs)


def test_kl_entropies_match_gaussian_closed_form():
    """H of N(0, S) is 1/2 log((2 pi e)^d det S); standardised data have det = correlation det."""
    rng = np.random.default_rng(2)
    n = 20_000
    x = rng.standard_normal((n, 2))
    y = 0.8 * x[:, :1] + 0.6 * rng.standard_normal((n, 1))
    _, info = KozachenkoLeonenko(k=5).estimate_with_info(x, y)
    h1 = 0.5 * math.log(2 * math.pi * math.e)
    assert info["h_x"] == pytest.approx(2 * h1, abs=0.03)
    assert info["h_y"] == pytest.approx(h1, abs=0.03)
    corr = np.corrcoef(np.hstack([x, y]).T)
    assert info["h_xy"] == pytest.approx(3 * h1 + 0.5 * np.linalg.slogdet(corr)[1], abs=0.04)
    # chebyshev metric: a different unit ball, the same entropies
    _, info_c = KozachenkoLeonenko(k=5, metric="chebyshev").estimate_with_info(x, y)
    assert info_c["h_xy"] == pytest.approx(info["h_xy"], abs=0.05)


def test_kl_high_dimension_brute_force_matches_tree():
    from mibench.estimators.kl import knn_distances

    rng = np.random.default_rng(4)
    a = rng.standard_normal((400, 14))
    from scipy.spatial import cKDTree

    for metric, p in (("euclidean", 2.0), ("chebyshev", np.inf)):
        want = cKDTree(a).query(a, k=4, p=p)[0][:, 1:]
        assert np.allclose(knn_distances(a, 3, metric), want, rtol=1e-12)


def test_wkl_weights_satisfy_the_constraints():
    for d, k in ((4, 5), (8, 8), (12, 20)):
        support, w = wkl_weights(d, k)
        assert w.sum() == pytest.approx(1.0, abs=1e-10)
        assert support.max() <= k and support.min() >= 1
        for l_ in range(1, d // 4 + 1):
            assert np.dot(w, gamma(support + 2 * l_ / d) / gamma(support)) == pytest.approx(0.0, abs=1e-8)
    assert wkl_weights(3, 5)[1].tolist() == [1.0]


def test_knn_estimators_handle_duplicates():
    rng = np.random.default_rng(5)
    x = np.repeat(rng.standard_normal((60, 1)), 7, axis=0)
    y = x + np.repeat(rng.standard_normal((60, 1)), 7, axis=0)
    for est in (KozachenkoLeonenko(), WeightedKozachenkoLeonenko()):
        with pytest.warns(RuntimeWarning, match="duplicate"):
            v, info = est.estimate_with_info(x, y)
        assert math.isfinite(v) and info["jittered_points"] > 0
        with pytest.raises(ValueError, match="duplicates"):
            type(est)(jitter=0.0).estimate(x, y)


@pytest.mark.parametrize("cls", [KozachenkoLeonenko, WeightedKozachenkoLeonenko])
def test_kl_bad_parameters(cls):
    for kwargs in ({"k": 0}, {"metric": "cosine"}, {"standardize": None}, {"jitter": 1.0}, {"seed": "a"}):
        with pytest.raises(ValueError):
            cls(**kwargs)


def test_wkl_rejects_high_dimension_instead_of_returning_garbage():
    import mibench as _mb

    x, y = _mb.get_task("multinormal-dense-25-25-0.5").sample(500, 0)
    with pytest.raises(ValueError, match="above its limit of 12"):
        _mb.get_estimator("wkl").estimate(x, y)
    x, y = _mb.get_task("multinormal-sparse-5-5-2-2.0").sample(4000, 0)
    assert abs(_mb.get_estimator("wkl").estimate(x, y) - 1.0217) < 0.3
