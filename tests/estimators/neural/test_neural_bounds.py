"""The bound functions against independent derivations: explicit loops in float64 NumPy,
hand-computed 2 x 2 values, known inequalities, gradients, and the optimal critic of a Gaussian."""

import math

import numpy as np
import pytest
import torch
from mibench.estimators.neural import bounds


def _rand_scores(n, seed, scale=2.0):
    return np.random.default_rng(seed).normal(size=(n, n)) * scale


def _t(a):
    return torch.tensor(a, dtype=torch.float64)


# ---- explicit-loop references (no vectorisation, no shared helpers) -------------------------

def ref_infonce(s):
    n = len(s)
    total = 0.0
    for i in range(n):
        denom = sum(math.exp(s[i][j]) for j in range(n)) / n
        total += s[i][i] - math.log(denom)
    return total / n


def _offdiag_mean(s, fn):
    n = len(s)
    return sum(fn(s[i][j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))


def ref_dv(s):
    n = len(s)
    return sum(s[i][i] for i in range(n)) / n - math.log(_offdiag_mean(s, math.exp))


def ref_nwj(s):
    n = len(s)
    return sum(s[i][i] for i in range(n)) / n - _offdiag_mean(s, lambda v: math.exp(v - 1))


def ref_smile(s, tau):
    n = len(s)
    return sum(s[i][i] for i in range(n)) / n - math.log(_offdiag_mean(s, lambda v: math.exp(min(max(v, -tau), tau))))


def ref_js_fgan(s):
    n = len(s)
    softplus = lambda v: math.log1p(math.exp(v))  # noqa: E731
    return -sum(softplus(-s[i][i]) for i in range(n)) / n - _offdiag_mean(s, softplus)


def ref_js_mi(s):
    n = len(s)
    return sum(s[i][i] for i in range(n)) / n + 1 - _offdiag_mean(s, math.exp)


@pytest.mark.parametrize("n,seed", [(2, 0), (3, 1), (7, 2), (16, 3)])
def test_bounds_match_explicit_loops(n, seed):
    s = _rand_scores(n, seed)
    st = _t(s)
    assert float(bounds.infonce(st)) == pytest.approx(ref_infonce(s.tolist()), rel=1e-12, abs=1e-12)
    assert float(bounds.dv(st)) == pytest.approx(ref_dv(s.tolist()), rel=1e-12, abs=1e-12)
    assert float(bounds.nwj(st)) == pytest.approx(ref_nwj(s.tolist()), rel=1e-12, abs=1e-12)
    for tau in (0.5, 1.0, 5.0):
        assert float(bounds.smile(st, tau)) == pytest.approx(ref_smile(s.tolist(), tau), rel=1e-12, abs=1e-12)
    assert float(bounds.js_fgan(st)) == pytest.approx(ref_js_fgan(s.tolist()), rel=1e-12, abs=1e-12)
    assert float(bounds.js_mi(st)) == pytest.approx(ref_js_mi(s.tolist()), rel=1e-12, abs=1e-12)


def test_hand_computed_2x2():
    # scores [[1, 0], [0, 1]]: diagonal mean 1, off-diagonal entries 0
    s = _t([[1.0, 0.0], [0.0, 1.0]])
    e = math.e
    assert float(bounds.infonce(s)) == pytest.approx(1 - math.log((e + 1) / 2), abs=1e-14)  # 0.3798854...
    assert float(bounds.infonce(s)) == pytest.approx(0.37988549304172, abs=1e-12)
    assert float(bounds.dv(s)) == pytest.approx(1.0, abs=1e-14)  # 1 - log(mean(e^0))
    assert float(bounds.nwj(s)) == pytest.approx(1 - 1 / e, abs=1e-14)  # 1 - e^{-1}
    assert float(bounds.js_mi(s)) == pytest.approx(1.0, abs=1e-14)  # 1 + 1 - e^0
    # js_fgan: -softplus(-1) - softplus(0) = -log(1 + 1/e) - log 2
    assert float(bounds.js_fgan(s)) == pytest.approx(-math.log(1 + 1 / e) - math.log(2), abs=1e-14)
    # SMILE with tau = 0.5 clips nothing off-diagonal (entries are 0): equals DV
    assert float(bounds.smile(s, 0.5)) == pytest.approx(1.0, abs=1e-14)
    s2 = _t([[3.0, 2.0], [-4.0, 0.0]])
    # off-diagonal {2, -4} clipped to [-1, 1] -> {1, -1}: 1.5 - log(cosh(1))
    assert float(bounds.smile(s2, 1.0)) == pytest.approx(1.5 - math.log(math.cosh(1.0)), abs=1e-14)


def test_infonce_never_exceeds_log_batch():
    for n in (2, 8, 64):
        s = _rand_scores(n, n)
        assert float(bounds.infonce(_t(s))) <= math.log(n) + 1e-12
        huge = np.eye(n) * 1e4  # a perfect critic saturates at log n
        assert float(bounds.infonce(_t(huge))) == pytest.approx(math.log(n), abs=1e-9)


def test_known_inequalities_and_invariances():
    for seed in range(5):
        s = _t(_rand_scores(12, seed))
        # log z <= z / e  =>  DV >= NWJ for every critic
        assert float(bounds.dv(s)) >= float(bounds.nwj(s)) - 1e-12
        # NWJ(s + 1) <= DV(s): the JS read-out is NWJ at the shifted critic
        assert float(bounds.js_mi(s)) <= float(bounds.dv(s)) + 1e-12
        # DV ignores a constant shift; InfoNCE ignores a constant added to each row
        assert float(bounds.dv(s + 3.7)) == pytest.approx(float(bounds.dv(s)), abs=1e-12)
        rows = _t(np.arange(12.0)[:, None])
        assert float(bounds.infonce(s + rows)) == pytest.approx(float(bounds.infonce(s)), abs=1e-12)
        # SMILE with a large clip is DV; js_fgan is always negative
        assert float(bounds.smile(s, 1e6)) == pytest.approx(float(bounds.dv(s)), abs=1e-12)
        assert float(bounds.smile(s, math.inf)) == pytest.approx(float(bounds.dv(s)), abs=1e-12)
        assert float(bounds.js_fgan(s)) < 0


def test_reject_non_square_or_tiny():
    for bad in (torch.zeros(3, 2), torch.zeros(1, 1), torch.zeros(4)):
        with pytest.raises(ValueError, match="square"):
            bounds.dv(bad)


def test_smile_and_js_objectives_have_js_gradient_and_their_own_value():
    s0 = _t(_rand_scores(6, 11))
    for obj, value in ((lambda s: bounds.smile_objective(s, 1.0), lambda s: bounds.smile(s, 1.0)),
                       (bounds.js_objective, bounds.js_mi)):
        a = s0.clone().requires_grad_(True)
        out = obj(a)
        out.backward()
        b = s0.clone().requires_grad_(True)
        bounds.js_fgan(b).backward()
        assert float(out.detach()) == pytest.approx(float(value(s0)), abs=1e-12)
        assert torch.allclose(a.grad, b.grad, atol=1e-14)


def test_js_fgan_gradient_explicit():
    # d/ds_ii = sigmoid(-s_ii) / n ; d/ds_ij = -sigmoid(s_ij) / (n (n - 1))
    s = _rand_scores(5, 4)
    a = _t(s).requires_grad_(True)
    bounds.js_fgan(a).backward()
    n = 5
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    for i in range(n):
        for j in range(n):
            want = sig(-s[i, j]) / n if i == j else -sig(s[i, j]) / (n * (n - 1))
            assert float(a.grad[i, j]) == pytest.approx(want, abs=1e-14)


def test_mine_moving_average_and_corrected_gradient():
    n, decay = 5, 0.9
    s1, s2 = _rand_scores(n, 5), _rand_scores(n, 6)
    z1, z2 = _offdiag_mean(s1.tolist(), math.exp), _offdiag_mean(s2.tolist(), math.exp)
    ld1 = bounds.mine_log_denominator(-math.inf, _t(s1), decay)
    assert float(ld1) == pytest.approx(math.log(z1), abs=1e-12)  # the first batch starts the average
    ld2 = bounds.mine_log_denominator(ld1, _t(s2), decay)
    denom = decay * z1 + (1 - decay) * z2
    assert float(ld2) == pytest.approx(math.log(denom), abs=1e-12)
    a = _t(s2).requires_grad_(True)
    out = bounds.mine_objective(a, ld2)
    out.backward()
    assert float(out.detach()) == pytest.approx(ref_dv(s2.tolist()), abs=1e-12)  # the value is DV
    for i in range(n):  # eq. 12 of Belghazi et al.: grad E_p T - grad E_q e^T / (moving average)
        for j in range(n):
            want = 1 / n if i == j else -math.exp(s2[i, j]) / (n * (n - 1) * denom)
            assert float(a.grad[i, j]) == pytest.approx(want, abs=1e-13)


def test_optimal_gaussian_critic_recovers_truth():
    """With the true log density ratio as critic, DV, NWJ, JS and SMILE read out ~I; InfoNCE too
    when I << log n. Bivariate normal rho = 0.8: I = -1/2 log(1 - rho^2) = 0.5108 nats."""
    rho, n = 0.8, 3000
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n)
    y = rho * x + math.sqrt(1 - rho**2) * rng.standard_normal(n)
    X, Y = x[:, None], y[None, :]
    log_ratio = (-0.5 * math.log(1 - rho**2)
                 - (X**2 - 2 * rho * X * Y + Y**2) / (2 * (1 - rho**2)) + (X**2 + Y**2) / 2)
    truth = -0.5 * math.log(1 - rho**2)
    s = _t(log_ratio)
    for name, fn in (("dv", bounds.dv), ("infonce", bounds.infonce), ("smile", lambda t: bounds.smile(t, 5.0)),
                     ("js", bounds.js_mi)):  # the JS optimum is the log ratio itself
        assert float(fn(s)) == pytest.approx(truth, abs=0.05), name
    # NWJ's optimum is 1 + log ratio; at the log ratio it falls short by exactly E_q[r] / e = 1/e
    assert float(bounds.nwj(s + 1.0)) == pytest.approx(truth, abs=0.05)
    assert float(bounds.nwj(s)) == pytest.approx(truth - 1 / math.e, abs=0.05)
