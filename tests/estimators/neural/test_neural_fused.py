"""Fused CPU kernels of the concat critic: the same scores and gradients as eager torch autograd,
NaN propagation, and the rules that choose between the fused and the eager path."""

import numpy as np
import pytest
import torch
from mibench.estimators.neural import bounds, engine, fused
from mibench.estimators.neural.critics import build_critic

import mibench


def _critic(widths, d_x=3, d_y=2, seed=0, activation="relu"):
    return build_critic("concat", (d_x,), (d_y,), hidden=widths, embed=1, activation=activation,
                        combine="separable", generator=torch.Generator().manual_seed(seed))


def _scores_and_grads(critic, x, y, upstream, use_fused):
    critic.fused_kernels = use_fused
    critic.zero_grad(set_to_none=True)
    scores = critic(x, y)
    (scores * upstream).sum().backward()
    return scores.detach(), {k: p.grad.clone() for k, p in critic.named_parameters()}


# (16, 8) is the bmi protocol's critic; the others cover one and three hidden layers and odd
# widths; m = 300 > fused.CHUNK exercises the split of the columns into kernel calls
@pytest.mark.parametrize(("widths", "n", "m"), [((16, 8), 256, 256), ((3,), 5, 7), ((4, 3, 2), 9, 300),
                                                ((5, 3), 1, 2)])
def test_scores_and_gradients_equal_eager_autograd(widths, n, m, one_torch_thread):
    gen = torch.Generator().manual_seed(1)
    x, y = torch.randn(n, 3, generator=gen), torch.randn(m, 2, generator=gen)
    upstream = torch.randn(n, m, generator=gen)
    critic = _critic(widths)
    s_eager, g_eager = _scores_and_grads(critic, x, y, upstream, use_fused=False)
    s_fused, g_fused = _scores_and_grads(critic, x, y, upstream, use_fused=True)
    assert s_fused.shape == (n, m) and s_fused.dtype == torch.float32
    scale = s_eager.abs().max()
    assert torch.allclose(s_fused, s_eager, rtol=0, atol=1e-6 * scale)
    for name, ge in g_eager.items():  # float32 sums of up to n * m terms in another order
        assert torch.allclose(g_fused[name], ge, rtol=0, atol=2e-5 * ge.abs().max() + 1e-7), name


def test_bound_gradient_through_fused_scores_equals_eager(one_torch_thread):
    """The bmi critic under the DV bound (the gradient reaching the kernels is the bound's)."""
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(64, 3, generator=gen)
    y = x[:, :2] + 0.3 * torch.randn(64, 2, generator=gen)
    critic = _critic((16, 8))
    grads = []
    for use_fused in (False, True):
        critic.fused_kernels = use_fused
        critic.zero_grad(set_to_none=True)
        bounds.dv(critic(x, y)).backward()
        grads.append([p.grad.clone() for p in critic.parameters()])
    for ge, gf in zip(*grads):
        assert torch.allclose(gf, ge, rtol=0, atol=1e-5 * ge.abs().max() + 1e-8)


def test_fused_scores_equal_a_pair_by_pair_evaluation():
    """Independent of torch's broadcasting: the network evaluated on each pair [x_i, y_j] alone."""
    critic = _critic((4, 3, 2))
    critic.fused_kernels = True
    gen = torch.Generator().manual_seed(3)
    x, y = torch.randn(4, 3, generator=gen), torch.randn(5, 2, generator=gen)
    with torch.no_grad():
        s = critic(x, y)
        w1 = torch.cat([critic.w_x, critic.w_y], 1).double()
        for i in range(4):
            for j in range(5):
                z = torch.relu(w1 @ torch.cat([x[i], y[j]]).double() + critic.b.double())
                for k, layer in enumerate(critic.rest.layers):
                    z = layer.weight.double() @ z + layer.bias.double()
                    if k < len(critic.rest.layers) - 1:
                        z = torch.relu(z)
                assert abs(float(s[i, j]) - float(z[0])) < 1e-5


def test_nan_propagates_through_the_fused_relu():
    critic = _critic((4, 3))
    critic.fused_kernels = True
    with torch.no_grad():
        critic.w_x[0, 0] = float("nan")  # hidden unit 0 of the first layer is NaN for every pair
        s = critic(torch.ones(3, 3), torch.ones(2, 2))
    assert torch.isnan(s).all()  # torch.relu(nan) is nan, and so is every score downstream


def test_kernel_choice_follows_the_documented_rule(one_torch_thread):
    cpu = torch.device("cpu")
    assert engine.select_kernel(_critic((16, 8)), "auto", cpu, "t") == "fused"
    assert engine.select_kernel(_critic((16, 8)), "eager", cpu, "t") == "eager"
    assert engine.select_kernel(_critic((16, 8), activation="tanh"), "auto", cpu, "t") == "eager"
    wide = _critic((64, 64))  # 4160 multiply-adds per pair: above fused.MAX_PAIR_MACS
    assert engine.select_kernel(wide, "auto", cpu, "t") == "eager" and not wide.fused_kernels
    with pytest.raises(ValueError, match="activation tanh"):
        engine.select_kernel(_critic((16, 8), activation="tanh"), "fused", cpu, "t")
    with pytest.raises(ValueError, match="multiply-adds"):
        engine.select_kernel(wide, "fused", cpu, "t")
    sep = build_critic("separable", (3,), (2,), hidden=(8,), embed=4, activation="relu", combine="separable",
                       generator=torch.Generator().manual_seed(0))
    assert engine.select_kernel(sep, "auto", cpu, "t") == "eager"
    with pytest.raises(ValueError, match="no concat MLP"):
        engine.select_kernel(sep, "fused", cpu, "t")
    conv = build_critic("conv", (1, 8, 8), (1, 8, 8), hidden=(16, 8), embed=4, activation="relu",
                        combine="concat", generator=torch.Generator().manual_seed(0))
    assert engine.select_kernel(conv, "auto", cpu, "t") == "fused" and conv.head.fused_kernels
    assert fused.unsupported("relu", (16, 8), "cuda", torch.float32) is not None
    with pytest.raises(ValueError, match="kernel must be one of"):
        engine.select_kernel(_critic((4,)), "numba", cpu, "t")


def test_estimator_kernel_parameter_and_info(one_torch_thread):
    x, y = mibench.get_task("multinormal-dense-2-2-0.5").sample(600, 0)
    for kernel, want in (("auto", "fused"), ("eager", "eager"), ("fused", "fused")):
        est = mibench.get_estimator(f"infonce:kernel={kernel},steps=20,eval_every=10,batch_size=64")
        value, info = est.estimate_with_info(x, y)
        assert info["kernel"] == want and np.isfinite(value)
    assert mibench.get_estimator("infonce:activation=tanh,steps=5,batch_size=64").estimate_with_info(x, y)[1][
        "kernel"] == "eager"
    with pytest.raises(ValueError, match="kernel must be one of"):
        mibench.get_estimator("infonce:kernel=gpu")
    with pytest.raises(ValueError, match="kernel=fused does not apply"):
        mibench.get_estimator("infonce:kernel=fused,critic=separable,steps=5,batch_size=64").estimate(x, y)


def test_fused_training_follows_the_eager_trajectory_at_first(one_torch_thread):
    """Same seed: the first steps' training values agree to float32 rounding (later, rounding
    differences grow like any perturbation of training; tests/test_neural_fused_slow.py checks
    the estimates)."""
    x, y = mibench.get_task("multinormal-dense-2-2-0.5").sample(1000, 0)
    curves = []
    for kernel in ("eager", "fused"):
        est = mibench.get_estimator(f"nwj:kernel={kernel},steps=10,eval_every=1,early_stopping=false")
        curves.append(np.array(est.estimate_with_info(x, y)[1]["train_curve"])[:, 1])
    assert np.allclose(curves[0][:3], curves[1][:3], rtol=0, atol=1e-4)
