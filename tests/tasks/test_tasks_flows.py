"""Suite ``flows``: invertible on samples, non-trivial, truth = base truth, deterministic, lazy."""

import pickle

import numpy as np
import pytest
from mibench.tasks import flows as F
from mibench.tasks.gaussian import multinormal_dense, multinormal_sparse
from scipy import stats

from mibench import MibenchError

FAST = [("dense", 2, "realnvp"), ("sparse", 5, "nsf")]
ALL = [(b, d, k) for k in F.KINDS for b in ("dense", "sparse") for d in F.DIMS]


def test_suite_listing_is_lazy_and_complete():
    tasks = F.flows_suite()
    assert len(tasks) == 16
    assert all(t._sampler.fx._flow is None for t in tasks)  # nothing built by listing
    assert {t.family for t in tasks} == {"flow-realnvp", "flow-nsf"}


def _check_task(base, dim, kind, n=4000):
    t = F.flow_task(base, dim, kind)
    base_task = multinormal_dense(dim, dim, 0.5) if base == "dense" else multinormal_sparse(dim, dim, 2, 2.0)
    assert t.mutual_information == base_task.mutual_information
    x, y = t.sample(n, 3)
    bx, by = base_task.sample(n, 3)  # the same seed drives the same base draw
    fx, fy = t._sampler.fx, t._sampler.fy
    assert np.max(np.abs(fx.inverse(x) - bx)) < 1e-6 and np.max(np.abs(fy.inverse(y) - by)) < 1e-6
    assert np.max(np.abs(x - bx)) > 0.1 and np.max(np.abs(y - by)) > 0.1  # X and Y are both moved
    assert fx.seed != fy.seed
    # measurably non-Gaussian marginals (D'Agostino-Pearson), for X and for Y
    px = min(stats.normaltest(x[:, j]).pvalue for j in range(dim))
    py = min(stats.normaltest(y[:, j]).pvalue for j in range(dim))
    assert px < 1e-3 and py < 1e-3, (px, py)
    # non-singular Jacobian at a few points (finite differences)
    h = 1e-5
    for p in bx[:3]:
        jac = np.stack([(fx((p + h * e)[None]) - fx((p - h * e)[None]))[0] / (2 * h) for e in np.eye(dim)], axis=1)
        assert abs(np.linalg.slogdet(jac)[1]) < 50 and np.linalg.slogdet(jac)[0] != 0


@pytest.mark.parametrize("base,dim,kind", FAST)
def test_flow_task(base, dim, kind):
    _check_task(base, dim, kind)


@pytest.mark.slow
@pytest.mark.parametrize("base,dim,kind", ALL)
def test_every_flow_task(base, dim, kind):
    _check_task(base, dim, kind, n=10000)


def test_deterministic_and_picklable_independent_of_global_rng():
    import torch

    t = F.flow_task("sparse", 5, "realnvp")
    np.random.seed(1)
    torch.manual_seed(1)
    x1, y1 = t.sample(500, 8)
    np.random.seed(2)
    torch.manual_seed(2)
    t2 = pickle.loads(pickle.dumps(t))  # rebuilt from its seed in a fresh object (as in a worker)
    assert t2._sampler.fx._flow is None
    x2, y2 = t2.sample(500, 8)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert torch.initial_seed() == 2  # the global torch generator was not consumed by the build
    x3, _ = t.sample(500, 9)
    assert not np.array_equal(x1, x3)


class _BrokenFlow(F.FlowMap):
    def inverse(self, y):
        return super().inverse(y) * 1.001


def test_non_invertible_flow_is_rejected():
    broken = _BrokenFlow("realnvp", 3, 0)
    with pytest.raises(MibenchError, match="invertibility"):
        F.check_invertible(broken)
    with pytest.raises(MibenchError, match="invertibility"):
        broken.flow  # noqa: B018 (building a flow runs the check)
    assert F.check_invertible(F.FlowMap("nsf", 3, 0)) < 1e-6
    t = F.flow_task("dense", 3, "realnvp", build=True)
    assert t._sampler.fx._flow is not None


@pytest.mark.parametrize("make,match", [
    (lambda: F.FlowMap("glow", 3, 0), "kind"),
    (lambda: F.FlowMap("realnvp", 1, 0), "dimension"),
    (lambda: F.FlowMap("realnvp", 3, 0, n_layers=0), "n_layers"),
    (lambda: F.flow_task("banded", 3, "nsf"), "base"),
    (lambda: F.flow_task("dense", 0, "nsf"), "dimension"),
])
def test_bad_parameters(make, match):
    with pytest.raises(MibenchError, match=match):
        make()


@pytest.mark.parametrize("kind", F.KINDS)
@pytest.mark.parametrize("dim", [2, 7])
def test_fast_evaluation_equals_the_normflows_modules(kind, dim):
    """FlowMap evaluates couplings without normflows' training code (numba spline kernel): the
    values must be those of the normflows modules' own forward and inverse, tails included."""
    import torch

    fmap = F.FlowMap(kind, dim, seed=5)
    a = 3.0 * np.random.default_rng(0).standard_normal((3000, dim))  # many points beyond the +-4 tails
    with torch.no_grad():
        z = torch.from_numpy(a.copy())
        for layer in fmap.flow:
            z, _ = layer(z)
        w = z.clone()
        for layer in reversed(fmap.flow):
            w, _ = layer.inverse(w)
    assert np.max(np.abs(fmap(a) - z.numpy())) < 1e-12
    assert np.max(np.abs(fmap.inverse(z.numpy()) - w.numpy())) < 1e-9  # the spline inverse is a quadratic root
    assert np.abs(a).max() > 4.0


def test_rq_spline_rejects_mismatched_parameters():
    import torch
    from mibench.tasks._rqspline import rq_spline

    with pytest.raises(ValueError, match="do not fit"):
        rq_spline(np.zeros((4, 3)), torch.zeros(4, 10, dtype=torch.float64), False, 4.0, 1.0)
