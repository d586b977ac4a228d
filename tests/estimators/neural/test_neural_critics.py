"""Critics: the all-pairs score matrix equals the network evaluated pair by pair."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mibench.estimators.neural.critics import build_critic, parse_hidden


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_parse_hidden():
    assert parse_hidden("256-256") == (256, 256) and parse_hidden(16) == (16,) and parse_hidden("none") == ()
    assert parse_hidden([8, 4]) == (8, 4) and parse_hidden(0) == ()
    for bad in ("16-", "a", -3, True, 2.5, "0-4"):
        with pytest.raises(ValueError):
            parse_hidden(bad)


def test_concat_scores_equal_mlp_on_each_concatenated_pair():
    torch.manual_seed(0)
    x, y = torch.randn(5, 3), torch.randn(4, 2)
    c = build_critic("concat", (3,), (2,), hidden=(6, 5), embed=1, activation="tanh", combine="separable",
                     generator=_gen())
    s = c(x, y)
    w1 = torch.cat([c.w_x, c.w_y], 1)
    for i in range(5):
        for j in range(4):
            z = torch.tanh(w1 @ torch.cat([x[i], y[j]]) + c.b)
            for k, layer in enumerate(c.rest.layers):
                z = layer.weight @ z + layer.bias
                if k < len(c.rest.layers) - 1:
                    z = torch.tanh(z)
            assert torch.allclose(s[i, j], z[0], atol=1e-6)
    assert torch.allclose(c.pairwise(x, y, max_elements=7), s, atol=1e-6)  # row blocks of one pair row


def test_separable_and_bilinear_scores():
    torch.manual_seed(1)
    x, y = torch.randn(6, 3), torch.randn(6, 4)
    sep = build_critic("separable", (3,), (4,), hidden=(8,), embed=5, activation="relu", combine="separable",
                       generator=_gen())
    gx = sep.g.layers[1](F.relu(sep.g.layers[0](x)))
    hy = sep.h.layers[1](F.relu(sep.h.layers[0](y)))
    assert torch.allclose(sep(x, y), torch.einsum("ie,je->ij", gx, hy), atol=1e-6)
    bil = build_critic("bilinear", (3,), (4,), hidden=(), embed=5, activation="relu", combine="separable",
                       generator=_gen())
    want = np.array([[x[i].numpy() @ bil.w.detach().numpy() @ y[j].numpy() for j in range(6)] for i in range(6)])
    assert np.allclose(bil(x, y).detach().numpy(), want, atol=1e-5)


def test_same_generator_same_weights_and_no_global_rng():
    state = torch.random.get_rng_state()
    a = build_critic("separable", (3,), (3,), hidden=(4,), embed=2, activation="relu", combine="separable",
                     generator=_gen(7))
    b = build_critic("separable", (3,), (3,), hidden=(4,), embed=2, activation="relu", combine="separable",
                     generator=_gen(7))
    assert torch.equal(state, torch.random.get_rng_state())
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


@pytest.mark.parametrize("combine", ["separable", "concat"])
def test_conv_critic_shapes(combine):
    c = build_critic("conv", (1, 9, 9), (1, 9, 9), hidden=(8,), embed=4, activation="relu", combine=combine,
                     generator=_gen())
    x, y = torch.rand(5, 1, 9, 9), torch.rand(3, 1, 9, 9)
    s = c(x, y)
    assert s.shape == (5, 3)
    assert torch.allclose(c.pairwise(x, y, 10), s, atol=1e-6)
