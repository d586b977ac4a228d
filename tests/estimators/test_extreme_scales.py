"""Data at the edges of float64 (scaled by 1e160 or 1e-170): every classical estimator returns the
value of the unscaled data (MI is invariant under scaling; the columns are rescaled exactly by
powers of two first), never a wrong number such as 0, -36, inf or NaN."""

import warnings

import numpy as np
import pytest

import mibench

SPECS = ["ksg", "ksg:metric=chebyshev", "ksg:algorithm=brute", "kl", "wkl", "kde", "gaussian", "histogram",
         "histogram:strategy=equal-width"]


@pytest.fixture(scope="module")
def data():
    return mibench.get_task("multinormal-dense-2-2-0.5").sample(600, 0)


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("scale", [1e160, 1e-170, 1e300])
def test_scaled_data_give_the_unscaled_estimate(spec, scale, data):
    x, y = data
    est = mibench.get_estimator(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning either
        reference, _ = mibench.call_estimator(est, x, y)
        value, _ = mibench.call_estimator(est, x * scale, y * scale)
    assert reference > 0.1  # the truth is 0.34 nats: a meaningful reference
    assert value == pytest.approx(reference, abs=1e-9)


def test_standardize_names_a_column_without_spread():
    a = np.column_stack([np.arange(5.0), np.full(5, 3.0)])
    with pytest.raises(ValueError, match=r"column\(s\) \[1\] have no spread"):
        mibench.standardize(a)
