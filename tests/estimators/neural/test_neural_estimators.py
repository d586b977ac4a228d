"""The neural estimators end to end on CPU, with small step budgets (the bmi-protocol accuracy runs
are in test_neural_accuracy.py, marked slow)."""

import math
import pickle

import numpy as np
import pytest
import torch
from mibench.estimators.neural import PROTOCOLS, DivergedError, InfoNCE

import mibench
from mibench.core.registry import resolve_estimator
from mibench.core.testing import check_estimator
from mibench.execution.grid import CellJob
from mibench.execution.worker import execute_cell

BOUNDS = ("dv", "mine", "nwj", "infonce", "smile", "js")
# a reduced budget: a concat critic 32-16, 200 Adam steps at lr 0.01
CHECK = "hidden=32-16,steps=200,eval_every=50,batch_size=100,lr=0.01,early_stopping=false"
TINY = "steps=30,eval_every=10,batch_size=32"


def _pairs(n, seed, rho=0.8, d=2):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    return x, rho * x + math.sqrt(1 - rho**2) * rng.standard_normal((n, d))


@pytest.mark.parametrize("bound", BOUNDS)
def test_check_estimator(bound):
    check_estimator(f"{bound}:{CHECK}", n=1000)


def test_registered_and_spec_from_issue():
    assert set(BOUNDS) <= set(mibench.list_estimators())
    est = mibench.get_estimator("infonce:critic=separable,hidden=256-256,embed=32")
    assert (est.critic, est.hidden, est.embed) == ("separable", "256-256", 32)
    assert mibench.get_estimator("infonce:hidden=256").hidden == "256"  # the spec parser gives an int
    assert mibench.get_estimator("dv:critic=bilinear,hidden=none").hidden == "none"


def test_presets_and_overrides():
    bmi = mibench.get_estimator("nwj").get_params()  # bmi is the default protocol
    assert {k: bmi[k] for k in ("critic", "hidden", "batch_size", "steps", "lr", "train_fraction", "standardize")} == {
        "critic": "concat", "hidden": "16-8", "batch_size": 256, "steps": 10_000, "lr": 0.1,
        "train_fraction": 0.5, "standardize": True}
    st = mibench.get_estimator("smile:protocol=staircase,steps=10,tau=2.5").get_params()
    got = (st["critic"], st["hidden"], st["embed"], st["batch_size"], st["lr"])
    assert got == ("separable", "256-256", 32, 64, 5e-4)
    assert st["steps"] == 10 and st["tau"] == 2.5  # explicit parameters win over the protocol
    assert set(PROTOCOLS) == {"bmi", "staircase"}
    assert mibench.get_estimator("mine:decay=0.99").decay == 0.99


@pytest.mark.parametrize("spec,match", [
    ("infonce:protocol=poole", "protocol"), ("infonce:critic=mlp", "critic"), ("infonce:hidden=16-x", "hidden"),
    ("infonce:lr=-1", "lr"), ("infonce:train_fraction=1.0", "train_fraction"), ("infonce:batch_size=1", "batch_size"),
    ("infonce:device=tpu", "device"), ("smile:tau=0", "tau"), ("mine:decay=1.0", "decay"),
    ("infonce:critic=concat,hidden=none", "hidden layer"), ("infonce:standardize=1", "standardize"),
    ("infonce:tau=5", "tau"), ("infonce:activation=sigmoid", "activation"),
])
def test_bad_parameters_are_clear_errors(spec, match):
    with pytest.raises(mibench.MibenchError, match=match):
        mibench.get_estimator(spec)


def test_bit_identical_on_cpu_and_seed_matters():
    x, y = _pairs(600, 0)
    a = mibench.get_estimator(f"infonce:{TINY}").estimate_with_info(x, y)
    b = mibench.get_estimator(f"infonce:{TINY}").estimate_with_info(x, y)
    assert a[0] == b[0] and a[1]["test_curve"] == b[1]["test_curve"]
    c = mibench.get_estimator(f"infonce:{TINY},seed=1").estimate(x, y)
    assert c != a[0]
    # the global torch RNG is neither used nor disturbed
    state = torch.random.get_rng_state()
    mibench.get_estimator(f"mine:{TINY}").estimate(x, y)
    assert torch.equal(state, torch.random.get_rng_state())


def test_info_has_training_curve_steps_device_and_time():
    x, y = _pairs(600, 1)
    est = mibench.get_estimator(f"js:{TINY},early_stopping=false")
    value, info = est.estimate_with_info(x, y)
    assert info["device"] == "cpu" and info["n_steps"] == 30 and info["train_seconds"] > 0
    assert [s for s, _ in info["test_curve"]] == [10, 20, 30] and len(info["train_curve"]) == 3
    assert (info["n_train"], info["n_test"]) == (300, 300)
    assert value == max(v for _, v in info["test_curve"])  # readout=best (BMI)
    last = mibench.get_estimator(f"js:{TINY},early_stopping=false,readout=last").estimate_with_info(x, y)
    assert last[0] == last[1]["test_curve"][-1][1]


def test_early_stopping_stops_after_patience():
    x, y = _pairs(600, 2)
    _, info = mibench.get_estimator("infonce:steps=2000,eval_every=10,batch_size=64,lr=0.1,patience=2") \
        .estimate_with_info(x, y)
    steps = [s for s, _ in info["test_curve"]]
    assert info["stopped_early"] and info["n_steps"] < 2000 and info["n_steps"] == steps[-1]
    assert info["n_steps"] - info["best_step"] == 20  # two evaluations without a new best


def test_infonce_heldout_ceiling_is_log_n_test():
    x = np.arange(200.0)[:, None]  # y = x: infinite MI; InfoNCE can report at most log(n_test)
    v = mibench.get_estimator("infonce:steps=200,eval_every=50,batch_size=50,lr=0.05,early_stopping=false") \
        .estimate(x, x.copy())
    assert v <= math.log(100) + 1e-4


def test_batch_larger_than_split_and_too_few_samples_rejected_before_training():
    x, y = _pairs(300, 3)
    with pytest.raises(ValueError, match=r"batch_size=256 is larger than the training split \(150 of 300"):
        InfoNCE().estimate(x, y)
    with pytest.raises(ValueError, match="too few samples for the split"):
        InfoNCE(batch_size=2, train_fraction=0.5).estimate(x[:3], y[:3])


def test_divergence_is_a_clear_error_and_a_failed_row():
    x, y = _pairs(400, 4)
    with pytest.raises(DivergedError, match=r"diverged at step \d+"):
        mibench.get_estimator("nwj:lr=1e6,steps=50,eval_every=10,batch_size=64").estimate(x, y)
    task = mibench.get_task("1v1-normal-0.75")
    spec, factory, _ = resolve_estimator("nwj:lr=1e6,steps=50,eval_every=10,batch_size=64")
    row = execute_cell(CellJob(pickle.dumps(task), pickle.dumps(factory), spec, task.id, 400, 0))
    assert row["status"] == "failed" and "diverged at step" in row["error"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message when no GPU is present")
def test_cuda_requested_without_gpu():
    x, y = _pairs(200, 5)
    with pytest.raises(ValueError, match="no CUDA device"):
        mibench.get_estimator(f"dv:{TINY},device=cuda").estimate(x, y)
    assert mibench.get_estimator(f"dv:{TINY}").estimate_with_info(x, y)[1]["device"] == "cpu"  # auto


# ---- images ---------------------------------------------------------------------------------

def image_pairs(n, rng, dependent=True):
    """Float32 (n, 1, 8, 8) images in [0, 1]: y is a noisy copy of x (or an independent image)."""
    x = rng.uniform(size=(n, 1, 8, 8)).astype(np.float32)
    base = x if dependent else rng.uniform(size=(n, 1, 8, 8)).astype(np.float32)
    y = np.clip(base + 0.2 * rng.standard_normal(base.shape), 0, 1).astype(np.float32)
    return x, y


def _image_sampler(n, rng):
    return image_pairs(n, rng)


CONV = "critic=conv,embed=16,steps=120,eval_every=40,batch_size=64,lr=0.003"


@pytest.mark.parametrize("combine", ["separable", "concat"])
def test_conv_critic_on_images(combine):
    est = mibench.get_estimator(f"infonce:{CONV},combine={combine},hidden=32")
    assert est.accepts_images
    x, y = image_pairs(600, np.random.default_rng(0))
    dep = est.estimate(x, y)
    xi, yi = image_pairs(600, np.random.default_rng(1), dependent=False)
    ind = est.estimate(xi, yi)
    # a lower bound: clearly positive on dependent images, nothing spurious on independent ones
    # (a conv net on 300 training images overfits, so the held-out value there is often negative)
    assert dep > 0.5 and ind < 0.15, (dep, ind)
    with pytest.raises(ValueError, match=r"critic=conv needs images"):
        est.estimate(x.reshape(600, -1), y.reshape(600, -1))
    assert not mibench.get_estimator("infonce").accepts_images


def test_worker_passes_images_unflattened_to_conv():
    task = mibench.Task("test-images-8", family="test-images", sampler=_image_sampler, mutual_information=1.0,
                        x_shape=(1, 8, 8), y_shape=(1, 8, 8))
    spec, factory, _ = resolve_estimator(f"smile:{CONV}")
    row = execute_cell(CellJob(pickle.dumps(task), pickle.dumps(factory), spec, task.id, 400, 0))
    assert row["status"] == "ok", row["error"]
    assert row["info"]["critic"] == "conv" and row["estimate"] > 0.3


def test_conv_critic_default_lr_learns_on_bump_images():
    """With the default protocol's lr 0.1 the conv critic collapsed to a constant (bound 0); the conv
    default (CONV_LR) must learn on the suite's own images, and an explicit lr still wins."""
    from mibench.estimators.neural.estimators import CONV_LR

    est = mibench.get_estimator("infonce:critic=conv,steps=200,eval_every=100")
    assert est.lr == CONV_LR and mibench.get_estimator("infonce:critic=conv,lr=0.01").lr == 0.01
    assert mibench.get_estimator("infonce").lr == 0.1  # the MLP critics keep BMI's protocol
    x, y = mibench.get_task("image-gauss-16-10.0").sample(1000, 0)
    assert est.estimate(x, y) > 2.0
