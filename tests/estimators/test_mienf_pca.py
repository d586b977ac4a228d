"""mienf's PCA image flow (flow=pca / pca-spline): the closed-form linear layer (invertibility,
log-determinant against torch.slogdet and an autograd Jacobian), shapes, parameter errors. Fast;
accuracy runs are in tests/estimators/test_images_slow.py and docs/images.md."""

import numpy as np
import pytest
import torch
from mibench.estimators.mienf import MIENF, PCAWhiten, cca_rotate

import mibench
from mibench.core.testing import gaussian_pairs

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _data(n=300, d=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)) @ rng.standard_normal((d, d)) + rng.standard_normal(d)


def test_pca_whiten_is_invertible_with_the_slogdet_of_its_matrix():
    a = _data()
    lin = PCAWhiten.fit(a)
    x = torch.from_numpy(_data(seed=1)[:50])
    z, ld = lin(x)
    assert z.shape == (50, 6) and ld.shape == (50,)
    back, ld_inv = lin.inverse(z)
    torch.testing.assert_close(back, x, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(ld_inv, -ld)
    sign, logabs = torch.linalg.slogdet(lin.matrix())
    assert sign != 0
    torch.testing.assert_close(ld, logabs.expand(50))
    # the Jacobian of the forward map by autograd at one point
    jac = torch.autograd.functional.jacobian(lambda v: lin(v[None])[0][0], x[0])
    torch.testing.assert_close(torch.linalg.slogdet(jac)[1], ld[0])
    # and by central finite differences
    eps = 1e-6
    fd = torch.stack([(lin((x[0] + eps * e)[None])[0][0] - lin((x[0] - eps * e)[None])[0][0]) / (2 * eps)
                      for e in torch.eye(6, dtype=x.dtype)], dim=1)
    torch.testing.assert_close(fd, jac, rtol=1e-6, atol=1e-6)


def test_pca_whiten_whitens_the_training_data_in_descending_order():
    a = _data(n=2000)
    lin = PCAWhiten.fit(a)
    z = lin.transform_numpy(a)
    np.testing.assert_allclose(np.cov(z, rowvar=False), np.eye(6), atol=1e-8)
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-10)
    s = lin.scale.numpy()
    assert np.all(np.diff(s) <= 0)
    # transform_numpy agrees with forward and keeps the leading coordinates
    lead = PCAWhiten.fit(a, keep=2).transform_numpy(a[:10])
    np.testing.assert_allclose(lead, lin(torch.from_numpy(a[:10]))[0].numpy()[:, :2], rtol=1e-10, atol=1e-12)


def test_pca_whiten_floor_keeps_rank_deficient_data_invertible():
    a = _data(n=200, d=3)
    a = np.column_stack([a, a[:, 0] - a[:, 1], np.zeros(200)])  # rank 3 in R^5
    lin = PCAWhiten.fit(a, rel_floor=1e-4)
    s = lin.scale.numpy()
    assert np.all(np.isfinite(s)) and np.all(s > 0)
    floor = np.sqrt(1e-4 * np.mean(np.linalg.eigvalsh(np.cov(a, rowvar=False)).clip(0)))
    np.testing.assert_allclose(s[3:], floor, rtol=1e-6)
    x = torch.from_numpy(_data(n=20, d=5, seed=3))
    back, _ = lin.inverse(lin(x)[0])
    torch.testing.assert_close(back, x, rtol=1e-8, atol=1e-8)
    assert np.isfinite(lin.log_det().item())


def test_pca_whiten_rejects_bad_input():
    with pytest.raises(ValueError, match="2-d array"):
        PCAWhiten.fit(np.zeros(5))
    with pytest.raises(ValueError, match="rel_floor"):
        PCAWhiten.fit(_data(), rel_floor=0.0)
    with pytest.raises(ValueError, match="keep"):
        PCAWhiten.fit(_data(), keep=7)


@pytest.mark.parametrize("flow", ["pca", "pca-spline"])
def test_mienf_pca_flow_on_images(flow):
    x, y = mibench.get_task("image-gauss-16-1.0").sample(300, 0)
    est = MIENF(flow=flow, pca_dim=3, steps=6, depth=1, width=8, eval_every=3, batch_size=32)
    v, info = est.estimate_with_info(x, y)
    assert np.isfinite(v) and info["flows"] == [flow, flow] and info["head_dims"] == [3, 3]
    assert [c[0] for c in info["curve"]] == [3, 6]
    # deterministic for a fixed seed
    assert est.estimate(x, y) == v


def test_mienf_pca_parameter_errors():
    x, y = mibench.get_task("image-gauss-16-1.0").sample(64, 0)
    with pytest.raises(ValueError, match="pca_dim"):
        MIENF(pca_dim=0)
    with pytest.raises(ValueError, match="pca_dim"):
        MIENF(pca_dim=2.5)
    with pytest.raises(ValueError, match=r"pca_dim=300 exceeds the 256 pixels"):
        MIENF(flow="pca", pca_dim=300, steps=2).estimate(x, y)
    with pytest.raises(ValueError, match="noise"):
        MIENF(noise=-0.1)
    with pytest.raises(ValueError, match=r"flow=pca needs images"):
        MIENF(flow="pca", steps=2).estimate(x.reshape(64, -1), y.reshape(64, -1))
    xv, yv, _ = gaussian_pairs(64, 0.5, 2, 0)
    with pytest.raises(ValueError, match=r"flow=pca-spline needs images"):
        MIENF(flow="pca-spline", steps=2).estimate(xv, yv)


def test_mienf_default_noise_depends_on_the_flow():
    assert MIENF().get_params()["noise"] is None
    assert MIENF()._noise("glow") == 0.01 and MIENF()._noise("pca") == 0.05
    assert MIENF(noise=0.2)._noise("glow") == 0.2


def test_cca_rotate_is_a_rotation_per_variable_sorted_by_canonical_correlation():
    rng = np.random.default_rng(0)
    u = rng.standard_normal((3000, 3))
    a = np.column_stack([u[:, 0], u[:, 1], rng.standard_normal(3000)])
    b = np.column_stack([rng.standard_normal(3000), 0.3 * u[:, 1] + rng.standard_normal(3000), u[:, 0]])
    train = np.arange(2000)
    ra, rb = cca_rotate(a, b, train)
    # rotations: norms preserved row by row
    np.testing.assert_allclose(np.linalg.norm(ra, axis=1), np.linalg.norm(a, axis=1), rtol=1e-10)
    np.testing.assert_allclose(np.linalg.norm(rb, axis=1), np.linalg.norm(b, axis=1), rtol=1e-10)
    r = [abs(np.corrcoef(ra[train, j], rb[train, j])[0, 1]) for j in range(3)]
    assert r[0] > 0.95 and r[0] >= r[1] >= r[2] and r[1] > 0.1


def test_mienf_rotate_parameter():
    x, y = mibench.get_task("image-gauss-16-1.0").sample(200, 0)
    quick = dict(flow="pca", pca_dim=2, steps=4, depth=1, width=8, batch_size=32)
    with pytest.raises(ValueError, match="rotate"):
        MIENF(rotate="ica")
    # auto = cca when both variables use a PCA flow
    assert MIENF(**quick).estimate(x, y) == MIENF(rotate="cca", **quick).estimate(x, y)
    assert MIENF(**quick).estimate(x, y) != MIENF(rotate="pca", **quick).estimate(x, y)
    # cca needs images on both sides; auto falls back to no rotation for image x, vector y
    v = np.random.default_rng(0).standard_normal((200, 2))
    q = dict(quick, flow="auto")
    with pytest.raises(ValueError, match="rotate=cca needs a PCA flow"):
        MIENF(rotate="cca", **q).estimate(x, v)
    assert np.isfinite(MIENF(**q).estimate(x, v))


def test_bounded_coupling_flow_log_det_and_bound():
    from mibench.estimators.mienf import VectorFlow

    torch.manual_seed(0)
    flow = VectorFlow(4, depth=3, width=16, kind="realnvp", bound=2.0).double()
    x = torch.randn(64, 4, dtype=torch.float64)
    flow(x)  # ActNorm layers initialise on their first batch
    # push every coupling network's output layer far into tanh saturation
    for m in flow.modules():
        if isinstance(m, torch.nn.Linear) and m.out_features == 4:
            torch.nn.init.normal_(m.weight, std=50.0)
            torch.nn.init.normal_(m.bias, std=50.0)
    z, ld = flow(x)
    for i in range(8):
        jac = torch.autograd.functional.jacobian(lambda v: flow(v[None])[0][0], x[i])
        assert torch.allclose(ld[i], torch.linalg.slogdet(jac)[1], atol=1e-9)
    # every coupling's shift and log-scale lie within +-bound (saturated here), so a coupling's
    # log-determinant (the sum of 2 log-scales) stays within +-4
    h = x
    for layer in flow.layers:
        out, ld_layer = layer(h)
        if type(layer).__name__ == "AffineCouplingBlock":
            params = layer.flows[1].param_map(h[:, :2])
            assert params.abs().max() <= 2.0 and (params.abs() > 1.99).double().mean() > 0.5
            assert ld_layer.abs().max() <= 4.0 + 1e-9
        h = out


def test_mienf_ae_flow_codes_come_from_the_training_split_of_each_variable():
    """flow=ae: each variable's autoencoder sees only its own training rows, so changing held-out
    images leaves every code of the training rows unchanged (the other variable is not an argument)."""
    x, y = mibench.get_task("image-rect-16-1.0").sample(300, 0)
    quick = dict(flow="ae", ae_dim=3, ae_steps=5, steps=4, depth=1, width=8, batch_size=32, eval_every=2)
    est = MIENF(**quick)
    v, info = est.estimate_with_info(x, y)
    assert np.isfinite(v) and info["flows"] == ["ae", "ae"] and info["head_dims"] == [3, 3]
    assert set(info["reconstruction_mse"]) == {"x", "y"}
    assert est.estimate(x, y) == v  # deterministic for a fixed seed
    from mibench.estimators._common import split_indices

    train, test = split_indices(300, est.test_fraction, est.seed, min_each=4, name="mienf")
    x2 = x.copy()
    x2[test] = np.random.default_rng(1).random(x2[test].shape)  # other held-out images
    codes = [est._encode(a, train, 1, {}) for a in (x, x2)]
    np.testing.assert_array_equal(codes[0][train], codes[1][train])
    assert not np.array_equal(codes[0][test], codes[1][test])
    with pytest.raises(ValueError, match=r"flow=ae needs images"):
        MIENF(flow="ae", steps=2).estimate(x.reshape(300, -1), y.reshape(300, -1))
    with pytest.raises(ValueError, match="ae_dim"):
        MIENF(ae_dim=0)


def test_mienf_marginals_auto_is_affine_for_image_codes_and_rank_based_for_vectors():
    a = np.random.default_rng(0).standard_normal((200, 2)) ** 3
    train = np.arange(150)
    est = MIENF()
    from mibench.estimators._common import gaussianize_train, standardize_train

    for kind in ("pca", "pca-spline", "ae"):
        np.testing.assert_array_equal(est._marginal_map(a, train, kind), standardize_train(a, train))
    for kind in ("realnvp", "spline"):
        np.testing.assert_array_equal(est._marginal_map(a, train, kind), gaussianize_train(a, train))
    np.testing.assert_array_equal(MIENF(marginals="gaussianize")._marginal_map(a, train, "pca"),
                                  gaussianize_train(a, train))
