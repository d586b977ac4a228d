"""mienf and ae: conformance (reduced budgets), image handling, errors. Accuracy runs are in
tools/mienf_accuracy.py (results in docs/images.md); the quick ones here only guard the plumbing."""

import numpy as np
import pytest
import torch
from mibench.estimators.ae import AutoencoderKNN
from mibench.estimators.mienf import MIENF, VectorFlow

import mibench
from mibench.core.testing import check_estimator, gaussian_pairs

QUICK = dict(steps=150, depth=2, width=32, eval_every=50, batch_size=256)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("target", ["gaussian", "tridiag"])
def test_mienf_conformance_reduced_budget(target):
    check_estimator(MIENF(target=target, **QUICK), n=1500)


def test_mienf_info_and_registry():
    est = mibench.get_estimator("mienf:steps=60,depth=2,width=16,eval_every=20")
    assert est.accepts_images and est.get_params()["steps"] == 60
    x, y, truth = gaussian_pairs(1200, 0.9, 1, 0)
    v, info = est.estimate_with_info(x, y)
    lo, hi = info["ci95"]
    assert lo < v < hi and info["device"] == "cpu"
    assert [c[0] for c in info["curve"]] == [20, 40, 60]
    assert info["n_train"] + info["n_test"] == 1200 and info["n_test"] == 300
    assert abs(info["refit"] - truth) < 0.2 and abs(v - truth) < 0.2
    # the estimate is the held-out refit minus the plug-in bias for 2 + 2 dimensions (a 1-d variable
    # gets an independent N(0, 1) column) and 300 pairs
    from mibench.estimators.gaussian import plugin_mi_bias

    assert info["head_dims"] == [2, 2]
    assert v == pytest.approx(info["refit"] - plugin_mi_bias(300, 2, 2), abs=1e-12)
    assert info["bias_correction"] == plugin_mi_bias(300, 2, 2) > 0
    lo, hi = info["heldout_logratio_ci95"]
    assert lo < info["heldout_logratio"] < hi and abs(info["heldout_logratio"] - truth) < 0.2


def test_mienf_needs_enough_heldout_pairs_for_the_refit():
    x, y, _ = gaussian_pairs(40, 0.5, 5, 0)  # 10 held-out pairs, a 5 + 5 dimensional Gaussian target
    with pytest.raises(ValueError, match="10 held-out pairs cannot refit a gaussian target"):
        MIENF(steps=2).estimate(x, y)
    assert np.isfinite(MIENF(steps=2, target="tridiag").estimate(x, y))


def test_mienf_parameter_errors():
    for kwargs in ({"target": "laplace"}, {"flow": "maf"}, {"steps": 0}, {"lr": -1.0},
                   {"test_fraction": 1.0}, {"device": "tpu"}, {"depth": 0}):
        with pytest.raises(ValueError, match=next(iter(kwargs))):
            MIENF(**kwargs)


def test_mienf_images_and_layout_errors():
    task = mibench.get_task("image-gauss-16-1.0")
    x, y = task.sample(300, 0)
    est = MIENF(flow="glow", steps=4, depth=1, width=8, eval_every=2, batch_size=32, head_dim=4)
    v, info = est.estimate_with_info(x, y)
    assert np.isfinite(v) and info["flows"] == ["glow", "glow"] and info["head_dims"] == [4, 4]
    # the default flow for images is the PCA flow, with its own budget (steps, lr, width)
    v, info = MIENF(steps=4, depth=1).estimate_with_info(x, y)
    assert np.isfinite(v) and info["flows"] == ["pca", "pca"] and info["head_dims"] == [4, 4]
    assert info["budget"] == {"steps": 4, "lr": 2e-3, "width": 32}
    assert MIENF(steps=4, depth=1, width=8).estimate_with_info(x, y)[1]["budget"]["width"] == 8
    # glow needs the image layout
    with pytest.raises(ValueError, match="needs images"):
        MIENF(flow="glow", steps=2).estimate(x.reshape(300, -1), y.reshape(300, -1))
    with pytest.raises(ValueError, match="power of two"):
        MIENF(flow="glow", steps=2).estimate(x[:, :, :12, :12], y[:, :, :12, :12])
    with pytest.raises(ValueError, match=r"\(n, 1, h, w\)"):
        MIENF(steps=2).estimate(np.repeat(x, 2, axis=1), y)
    with pytest.raises(ValueError, match="head_dim"):
        MIENF(flow="glow", steps=2, head_dim=500).estimate(x, y)
    # mixed: image X, vector Y
    mixed = MIENF(steps=4, depth=1, width=8, batch_size=32)
    v, info = mixed.estimate_with_info(x, np.random.default_rng(0).standard_normal((300, 2)))
    assert np.isfinite(v) and info["flows"] == ["pca", "realnvp"] and info["budget"]["steps"] == 4


def test_mienf_nonfinite_logdet_names_the_step(monkeypatch):
    original = VectorFlow.forward
    calls = {"n": 0}

    def broken(self, x):
        z, ld = original(self, x)
        calls["n"] += 1
        if calls["n"] > 4:  # 2 ActNorm-initialisation calls, then training steps 1 (x, y), 2 (x) ...
            ld = ld + float("inf")
        return z, ld

    monkeypatch.setattr(VectorFlow, "forward", broken)
    x, y, _ = gaussian_pairs(400, 0.5, 2, 0)
    with pytest.raises(FloatingPointError, match=r"non-finite at training step 2, and again after 2 restarts .*"
                                                 r"last lr 0.00025"):
        MIENF(steps=10, depth=1, width=8).estimate(x, y)


def test_mienf_restarts_at_half_the_learning_rate_after_a_nonfinite_loss(monkeypatch):
    original = VectorFlow.forward
    calls = {"n": 0}

    def broken_once(self, x):  # the first attempt's training step 2 only
        z, ld = original(self, x)
        calls["n"] += 1
        return z, (ld + float("inf") if calls["n"] == 5 else ld)

    monkeypatch.setattr(VectorFlow, "forward", broken_once)
    x, y, _ = gaussian_pairs(400, 0.5, 2, 0)
    v, info = MIENF(steps=10, depth=1, width=8, lr=1e-3).estimate_with_info(x, y)
    assert np.isfinite(v)
    assert [r["lr"] for r in info["restarts"]] == [1e-3] and "training step 2" in info["restarts"][0]["error"]
    assert info["budget"]["lr"] == 5e-4
    monkeypatch.setattr(VectorFlow, "forward", original)
    assert MIENF(steps=10, depth=1, width=8).estimate_with_info(x, y)[1]["restarts"] == []


def test_mienf_restarts_when_heldout_embeddings_overflow(monkeypatch):
    """Small samples: a flow fitted on 225 points can overflow on a held-out point (measured on
    spiral-sweep-dense-5-2 at n = 100 and 300); that restarts training like a non-finite loss."""
    original = MIENF._heldout
    calls = {"n": 0}

    def overflow_once(self, *args):
        calls["n"] += 1
        if calls["n"] == 1:
            raise FloatingPointError("mienf: non-finite embeddings of held-out data after training")
        return original(self, *args)

    monkeypatch.setattr(MIENF, "_heldout", overflow_once)
    x, y, _ = gaussian_pairs(400, 0.5, 2, 0)
    v, info = MIENF(steps=10, depth=1, width=8, lr=1e-3).estimate_with_info(x, y)
    assert np.isfinite(v) and calls["n"] == 2
    assert info["restarts"] == [{"lr": 1e-3, "error": "mienf: non-finite embeddings of held-out data after training"}]


def test_gaussian_target_at_high_mi_in_50_dimensions():
    """sweep-dense-25-6: one canonical correlation with 1 - rho^2 = 6e-6 in 25 + 25 dimensions. In
    float32, L L^T rounds off the positive-definite cone (torch.distributions refused it, failing the
    cell after training); the target's log-ratio and MI are taken in float64 from the factor L and must
    equal scipy's Gaussian log-densities and the closed form of the covariance they come from."""
    from mibench.estimators.mienf.targets import GaussianTarget
    from scipy.stats import multivariate_normal

    hx = hy = 25
    rho = float(np.sqrt(1 - np.exp(-12.0)))  # MI 6 nats in one canonical pair
    cov = np.eye(50)
    rng = np.random.default_rng(0)
    qx, _ = np.linalg.qr(rng.standard_normal((hx, hx)))  # spread the pair over every coordinate
    qy, _ = np.linalg.qr(rng.standard_normal((hy, hy)))
    cov[:hx, hx:] = rho * np.outer(qx[:, 0], qy[:, 0])
    cov[hx:, :hx] = cov[:hx, hx:].T
    target = GaussianTarget(hx, hy)
    L = np.linalg.cholesky(cov)
    with torch.no_grad():
        target.raw.copy_(torch.from_numpy(np.tril(L, -1) + np.diag(np.log(np.diag(L)))).float())
    L32 = target.tril().detach().double().numpy()
    c = L32 @ L32.T  # the covariance the float32 parameters stand for
    z = rng.multivariate_normal(np.zeros(50), cov, size=300)
    zt = torch.from_numpy(z).float()
    want = (multivariate_normal(np.zeros(50), c).logpdf(zt.double().numpy())
            - multivariate_normal(np.zeros(hx), c[:hx, :hx]).logpdf(zt[:, :hx].double().numpy())
            - multivariate_normal(np.zeros(hy), c[hx:, hx:]).logpdf(zt[:, hx:].double().numpy()))
    with torch.no_grad():
        got = target.log_ratio(zt[:, :hx], zt[:, hx:]).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3)
    closed = 0.5 * (np.linalg.slogdet(c[:hx, :hx])[1] + np.linalg.slogdet(c[hx:, hx:])[1] - np.linalg.slogdet(c)[1])
    assert abs(float(target.mi()) - closed) < 1e-4 and abs(closed - 6.0) < 0.01


@pytest.mark.parametrize("fault", ["domain", "gradient"])
def test_mienf_restarts_when_the_target_leaves_its_domain_or_the_gradient_overflows(monkeypatch, fault):
    """A step whose gradient is non-finite (it would leave NaN parameters behind), or a target whose
    parameters torch.distributions refuses, restarts at half the learning rate like a non-finite loss
    (sweep-dense-25-8 failed the cell with the ValueError before)."""
    from mibench.estimators.mienf.targets import GaussianTarget

    original = GaussianTarget.log_prob
    calls = {"n": 0}

    def faulty_once(self, zx, zy):
        calls["n"] += 1
        out = original(self, zx, zy)
        if calls["n"] == 3:  # the first attempt's third training step
            if fault == "domain":
                raise ValueError("Expected parameter scale_tril (Tensor of shape (4, 4)) of distribution "
                                 "MultivariateNormal() to satisfy the constraint LowerCholesky()")
            zero = (self.mu * 0.0).sum()
            zero.register_hook(lambda g: g * float("inf"))  # a finite loss with an infinite gradient
            out = out + zero
        return out

    monkeypatch.setattr(GaussianTarget, "log_prob", faulty_once)
    x, y, _ = gaussian_pairs(400, 0.5, 2, 0)
    v, info = MIENF(steps=10, depth=1, width=8, lr=1e-3).estimate_with_info(x, y)
    assert np.isfinite(v) and len(info["restarts"]) == 1 and info["budget"]["lr"] == 5e-4
    expect = "left their domain" if fault == "domain" else "gradient became non-finite"
    assert f"{expect} at training step 3" in info["restarts"][0]["error"]


def test_mienf_nan_logdet_at_first_step(monkeypatch):
    # call_estimator is what the worker calls; its exception becomes the failed row's error text
    from mibench import call_estimator

    x, y, _ = gaussian_pairs(400, 0.5, 2, 0)
    est = MIENF(steps=3, depth=1, width=8, lr=1.0)
    monkeypatch.setattr(VectorFlow, "forward", lambda self, a: (a, torch.full((len(a),), float("nan"))))
    with pytest.raises(FloatingPointError, match="step 1"):
        call_estimator(est, x, y)


def test_ae_conformance_and_compression():
    check_estimator(AutoencoderKNN(), n=1500)  # vectors no wider than latent_dim: KSG on held-out standardised data
    x, y, truth = gaussian_pairs(2000, 0.8, 1, 0)
    wide = lambda a: np.column_stack([a, 0.5 * a, np.sin(a), -a])  # 4-d, intrinsically 1-d
    v, info = AutoencoderKNN(latent_dim=1, steps=400, width=32).estimate_with_info(wide(x), wide(y))
    assert info["code_dims"] == [1, 1] and info["reconstruction_mse"]["x"]["compressed"]
    assert info["reconstruction_mse"]["x"]["test"] < 0.05
    assert abs(v - truth) < 0.15


def test_ae_images_and_errors():
    task = mibench.get_task("image-gauss-16-2.5")
    x, y = task.sample(400, 1)
    v, info = AutoencoderKNN(latent_dim=2, steps=30, width=8, batch_size=64).estimate_with_info(x, y)
    assert np.isfinite(v) and info["code_dims"] == [2, 2] and info["n_test"] == 200
    # hidden: a 16-unit layer each way between the 8 x 4 x 4 x 2 conv features and the 2-d code
    v2, info2 = AutoencoderKNN(latent_dim=2, steps=30, width=8, hidden=16, batch_size=64).estimate_with_info(x, y)
    flat = 2 * 8 * 4 * 4
    assert np.isfinite(v2)
    assert info2["parameters"] - info["parameters"] == 2 * ((flat * 16 + 16 + 16 * 2 + 2) - (flat * 2 + 2)
                                                            + (2 * 16 + 16 + 16 * flat + flat) - (2 * flat + flat))
    for kwargs in ({"then": "kde"}, {"latent_dim": 0}, {"k": 0}, {"device": "gpu"}, {"hidden": 0}):
        with pytest.raises(ValueError):
            AutoencoderKNN(**kwargs)
    if "wkl" not in mibench.list_estimators():
        with pytest.raises(ValueError, match="not available"):
            AutoencoderKNN(then="wkl").estimate(x, y)


def test_images_reach_image_estimators_unflattened(tmp_path):
    df = mibench.run(["image-gauss-16-1.0"], estimators=["mienf:steps=2,depth=1,width=8,batch_size=32",
                                                         "ksg"],
                     n=64, seeds=1, store=tmp_path / "s.db", workers=1, progress=False)
    rows = {r.estimator_name: r for r in df.itertuples()}
    assert rows["mienf"].status == "ok" and rows["ksg"].status == "ok"
    assert rows["mienf"].info["flows"] == ["pca", "pca"]


def test_gaussianize_is_increasing_and_normal():
    from mibench.estimators._common import gaussianize_train
    from scipy import stats

    a = np.random.default_rng(0).standard_cauchy((4000, 2))
    a[:, 1] = np.round(a[:, 1])  # ties
    g = gaussianize_train(a, np.arange(3000))
    for j in range(2):
        order = np.argsort(a[:, j], kind="stable")
        assert np.all(np.diff(g[order, j]) >= 0)
    assert stats.kstest(g[:3000, 0], "norm").pvalue > 0.01
    with pytest.raises(ValueError, match="marginals"):
        MIENF(marginals="rank")
