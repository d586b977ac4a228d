import pytest
import torch

import mibench
from tests import misbehaving


@pytest.fixture
def toy_estimators():
    """Register the misbehaving estimators for one test, then forget them."""
    names = {
        "raising": misbehaving.raising, "hard_exit": misbehaving.hard_exit, "sleeping": misbehaving.sleeping,
        "returns_nan": misbehaving.returns_nan, "returns_string": misbehaving.returns_string,
        "corr": misbehaving.correlation_mi, "slow": misbehaving.Slow, "biased": misbehaving.Biased,
    }
    with mibench.registered(names):
        yield names


@pytest.fixture(scope="module")
def one_torch_thread():
    """torch on one thread for a module of training tests (restored after): the tests' budgets and
    timings assume it, and two test processes must not oversubscribe the cores."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
