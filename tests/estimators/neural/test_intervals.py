"""The neural bounds' interval: a weighted bootstrap of the held-out pairs at the selected critic."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from mibench.estimators.neural import engine, intervals

import mibench
from mibench.core.testing import gaussian_pairs

BOUNDS = [("dv", None), ("mine", None), ("nwj", None), ("infonce", None), ("smile", 1.0), ("smile", math.inf),
          ("js", None)]


@pytest.fixture
def scores(one_torch_thread):
    g = torch.Generator().manual_seed(0)
    return torch.randn(150, 150, generator=g) * 2 + 3 * torch.eye(150)


@pytest.mark.parametrize("bound,tau", BOUNDS)
def test_weighted_readout_equals_the_bound(scores, bound, tau):
    """All-ones weights give the engine's read-out; 0/1 weights give the read-out of the subset's own
    score matrix (computed by bounds.py), also when the rows are processed in small blocks."""
    obj = engine.Objective(bound, tau=tau)
    n = len(scores)
    ones = intervals.weighted_readout(bound, scores, torch.ones(1, n), tau=tau)[0]
    assert ones == pytest.approx(float(obj.readout(scores)), rel=2e-6, abs=2e-6)  # float32 sums
    rng = np.random.default_rng(1)
    w = np.zeros((3, n))
    subsets = [np.sort(rng.choice(n, size=k, replace=False)) for k in (2, 40, 149)]
    for row, idx in zip(w, subsets):
        row[idx] = 1
    got = intervals.weighted_readout(bound, scores, torch.from_numpy(w), tau=tau, max_elements=7 * n)
    want = [float(obj.readout(scores[idx][:, idx])) for idx in subsets]
    assert got == pytest.approx(want, rel=2e-6, abs=5e-6)


def test_weighted_readout_counts_repeated_pairs_by_multiplicity(scores):
    """Weight 2 on a pair = that pair's row and column twice, minus the duplicate's (joint) cross terms."""
    n = len(scores)
    w = torch.ones(1, n)
    w[0, 0] = 2.0
    idx = torch.cat([torch.arange(n), torch.tensor([0])])
    s = scores[idx][:, idx]
    s_off = s.clone()
    s_off[0, n] = s_off[n, 0] = -math.inf  # the copy of pair 0 is not a product-of-marginals sample
    diag = s.diagonal().mean()
    m = n + 1
    dv = diag - (torch.logsumexp(s_off.masked_fill(torch.eye(m, dtype=torch.bool), -math.inf).flatten(), 0)
                 - math.log(m * (m - 1) - 2))
    assert intervals.weighted_readout("dv", scores, w)[0] == pytest.approx(float(dv), abs=2e-6)


def test_multinomial_weights_seeded():
    a = intervals.multinomial_weights(50, 4, seed=3)
    assert a.shape == (4, 50) and (a.sum(1) == 50).all() and (a >= 0).all()
    assert np.array_equal(a, intervals.multinomial_weights(50, 4, seed=3))
    assert not np.array_equal(a, intervals.multinomial_weights(50, 4, seed=4))


def log_ratio_scores(x: np.ndarray, y: np.ndarray, rho: float) -> torch.Tensor:
    """s_ij = log p(x_i, y_j) / (p(x_i) p(y_j)) for a standard bivariate normal: the optimal critic."""
    x, y = x[:, 0][:, None], y[:, 0][None, :]
    q = (rho**2 * x**2 - 2 * rho * x * y + rho**2 * y**2) / (2 * (1 - rho**2))
    return torch.from_numpy(-0.5 * math.log(1 - rho**2) - q)


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("bound", ["dv", "js"])
def test_heldout_bootstrap_covers_the_bound_at_a_fixed_critic(bound):
    """With the optimal critic the population DV and JS (NWJ at s + 1) read-outs equal the true MI,
    so over fresh held-out samples the interval should cover it at about its nominal level."""
    rho, n, reps = 0.5, 300, 200
    truth = -0.5 * math.log(1 - rho**2)
    obj = engine.Objective(bound)
    hits = 0
    for r in range(reps):
        x, y, _ = gaussian_pairs(n, rho, 1, 100 + r)
        ci = intervals.heldout_bootstrap(obj, log_ratio_scores(x, y, rho).float(), 200, 0.9, seed=r)
        hits += ci["low"] <= truth <= ci["high"]
    sd = math.sqrt(0.9 * 0.1 / reps)
    assert 0.9 - 3 * sd <= hits / reps <= 0.9 + 3 * sd


@pytest.mark.usefixtures("one_torch_thread")
def test_estimator_reports_interval_around_estimate():
    x, y, _ = gaussian_pairs(600, 0.8, 1, 0)
    est = mibench.get_estimator("infonce:steps=60,eval_every=20,batch_size=32,early_stopping=false,readout=last")
    v, info = est.estimate_with_info(x, y)
    ci = info["ci"]
    assert ci["level"] == 0.95 and ci["low"] <= v <= ci["high"] and ci["high"] - ci["low"] > 0
    assert info["ci_method"] == "heldout-bootstrap" and info["ci_reps"] == 100  # the default
    again = mibench.get_estimator("infonce:steps=60,eval_every=20,batch_size=32,early_stopping=false,readout=last")
    assert again.estimate_with_info(x, y)[1]["ci"] == ci  # seeded
    off = mibench.get_estimator("infonce:steps=50,batch_size=64,ci_reps=0").estimate_with_info(x, y)[1]
    assert "ci" not in off
    narrow = mibench.get_estimator(
        "infonce:steps=60,eval_every=20,batch_size=32,early_stopping=false,readout=last,level=0.5")
    c50 = narrow.estimate_with_info(x, y)[1]["ci"]
    assert ci["low"] < c50["low"] < c50["high"] < ci["high"]


@pytest.mark.usefixtures("one_torch_thread")
def test_interval_is_taken_at_the_best_critic(monkeypatch):
    """readout=best with early stopping: the bootstrap sees the selected (restored) critic's scores."""
    seen = {}
    real = intervals.heldout_bootstrap

    def spy(objective, scores, reps, level, seed):
        seen["value"] = float(objective.readout(scores))
        return real(objective, scores, reps, level, seed)

    monkeypatch.setattr(intervals, "heldout_bootstrap", spy)
    x, y, _ = gaussian_pairs(600, 0.8, 1, 0)
    v, info = mibench.get_estimator("nwj:steps=3000,eval_every=20,batch_size=64,patience=2").estimate_with_info(x, y)
    assert info["stopped_early"] and info["best_step"] < info["n_steps"]  # else the test proves nothing
    last = info["test_curve"][-1][1]
    assert last != v
    assert seen["value"] == pytest.approx(v, abs=1e-6)


@pytest.mark.parametrize("spec,match", [
    ("nwj:level=1", r"level must be a number in \(0, 1\)"),
    ("nwj:ci_reps=-1", "ci_reps must be a non-negative integer"),
    ("dv:ci_reps=2.5", "ci_reps must be a non-negative integer"),
])
def test_neural_rejects_bad_interval_parameters(spec, match):
    with pytest.raises(mibench.MibenchError, match=match):
        mibench.get_estimator(spec)


def _row_blocks(scores: torch.Tensor, rows: int, order=None):
    starts = list(range(0, len(scores), rows))
    for start in order(starts) if order else starts:
        yield start, scores[start:start + rows].clone()  # fresh, as StreamedScores makes them


@pytest.mark.parametrize("bound,tau", BOUNDS)
def test_streamed_readout_equals_the_readout_of_the_whole_matrix(scores, bound, tau):
    """One pass over row blocks (in any order: the running maximum is rescaled whenever a block
    raises it) gives the two-pass read-out of the held matrix, for plain and bootstrap weights."""
    n = len(scores)
    s = scores.clone()
    s[140, 3] = 12.0  # the largest off-diagonal score in the last block: the rescaling must happen
    w = torch.cat([torch.ones(1, n), torch.from_numpy(intervals.multinomial_weights(n, 5, seed=2))]).double()
    want = intervals.weighted_readout(bound, s, w, tau=tau)
    for order in (None, lambda starts: starts[::-1]):
        got = intervals.streamed_readout(bound, _row_blocks(s, 13, order), n, w, tau=tau)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
        # the training loop's plain read-out: float32 blocks, as bounds.py reads out the whole matrix
        plain = intervals.streamed_bound(bound, _row_blocks(s, 13, order), n, tau=tau)
        assert plain == pytest.approx(want[0], rel=2e-6, abs=2e-6)
        assert plain == pytest.approx(float(engine.Objective(bound, tau=tau).readout(s)), rel=2e-6, abs=2e-6)


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("bound", ["infonce", "nwj"])
def test_a_held_out_set_too_large_for_one_matrix_is_streamed(monkeypatch, bound):
    """Above HELDOUT_MATRIX_ELEMENTS the fit never asks the critic for more than a block of rows
    and gets the estimate, curve and interval of the materialised path (float32 vs float64 sums)."""
    x, y, _ = gaussian_pairs(800, 0.8, 2, 0)
    spec = f"{bound}:steps=200,eval_every=50,batch_size=64,early_stopping=false"
    want, want_info = mibench.get_estimator(spec).estimate_with_info(x, y)
    monkeypatch.setattr(engine, "HELDOUT_MATRIX_ELEMENTS", 399 * 400)
    calls = []
    real = engine.score_matrix
    monkeypatch.setattr(engine, "score_matrix", lambda c, a, b, m=2**23: calls.append(len(a)) or real(c, a, b, m))
    monkeypatch.setattr(engine.StreamedScores, "BLOCK_ELEMENTS", 400 * 30)  # blocks of 30 rows
    got, info = mibench.get_estimator(spec).estimate_with_info(x, y)
    assert info["n_test"] == 400 and calls and max(calls) == 30
    assert got == pytest.approx(want, abs=1e-5)
    np.testing.assert_allclose(np.array(info["test_curve"]), np.array(want_info["test_curve"]), atol=1e-5)
    assert info["ci"]["low"] == pytest.approx(want_info["ci"]["low"], abs=1e-5)
    assert info["ci"]["high"] == pytest.approx(want_info["ci"]["high"], abs=1e-5)
