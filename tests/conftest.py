import pytest

import mibench
from mibench import registry
from tests import misbehaving


@pytest.fixture
def toy_estimators():
    """Register the misbehaving estimators for one test, then forget them."""
    names = {
        "raising": misbehaving.raising, "hard_exit": misbehaving.hard_exit, "sleeping": misbehaving.sleeping,
        "returns_nan": misbehaving.returns_nan, "returns_string": misbehaving.returns_string,
        "corr": misbehaving.correlation_mi, "slow": misbehaving.Slow, "biased": misbehaving.Biased,
    }
    for name, factory in names.items():
        mibench.register_estimator(name, factory)
    yield names
    for name in names:
        registry._estimators._user.pop(name, None)
