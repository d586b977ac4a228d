"""check_estimator: built-ins pass it, and it catches each kind of contract violation."""

import math

import numpy as np
import pytest

import mibench
from mibench.core.testing import check_estimator
from tests import misbehaving


@pytest.mark.parametrize("spec", ["ksg", "ksg:metric=chebyshev,k=3", "gaussian", "cca"])
def test_builtins_pass(spec):
    check_estimator(spec)


class _Bits:
    def estimate(self, x, y):
        x, y = mibench.validate_xy(x, y)
        return misbehaving.correlation_mi(x, y) / math.log(2)


class _Random:
    def __init__(self):
        self.rng = np.random.default_rng(0)

    def estimate(self, x, y):
        x, y = mibench.validate_xy(x, y)
        return misbehaving.correlation_mi(x, y) + self.rng.normal(0, 1e-3)


class _Mutates:
    def estimate(self, x, y):
        x -= x.mean(0)
        return 0.0


class _Silent:
    def estimate(self, x, y):  # no validation: NaN flows through np.nan_to_num
        x = np.nan_to_num(np.atleast_2d(np.asarray(x, dtype=float)))
        return 0.0


class _Constant:
    def estimate(self, x, y):
        mibench.validate_xy(x, y)
        return 0.7


@pytest.mark.parametrize("est, check", [
    (_Bits(), "gaussian_1v1"),
    (_Random(), "deterministic"),
    (_Mutates(), "no_input_mutation"),
    (_Silent(), "rejects_nan"),
    (_Constant(), "independent_near_zero"),
    (misbehaving.returns_nan, "returns_float"),
])
def test_violations_are_named(est, check):
    with pytest.raises(AssertionError, match=rf"check_estimator\[{check}\]"):
        check_estimator(est)


@pytest.mark.parametrize("x, y, message", [
    (np.ones((10, 2)) * np.nan, np.ones((10, 1)), "NaN or infinite"),
    (np.zeros((10, 2)), np.zeros((9, 1)), "same number of samples"),
    (np.zeros(10), np.zeros((10, 1)), "must be a 2-d array"),
    (np.zeros((10, 2, 2)), np.zeros((10, 1)), "must be a 2-d array"),
    (np.array([["a"], ["b"]]), np.zeros((2, 1)), "numeric"),
])
def test_validate_xy_messages(x, y, message):
    with pytest.raises(ValueError, match=message):
        mibench.validate_xy(x, y)


def test_validation_in_estimators():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 1))
    with pytest.raises(ValueError, match="needs at least 6 samples"):
        mibench.get_estimator("ksg:k=5").estimate(x, x)
    with pytest.raises(ValueError, match="constant column"):
        z = rng.standard_normal((50, 1))
        mibench.get_estimator("ksg").estimate(np.hstack([z, np.ones((50, 1))]), z)
    with pytest.raises(ValueError, match="constant column"):
        mibench.get_estimator("gaussian").estimate(rng.standard_normal((50, 1)), np.ones((50, 1)))
