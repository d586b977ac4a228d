"""Conformance checks for estimators, in the spirit of scikit-learn's ``check_estimator``.

``check_estimator(est)`` runs every check and raises ``AssertionError`` naming the first one
that fails. It needs no registry and no built-in task: the data are drawn here from bivariate
and block Gaussians whose MI is known in closed form (-1/2 sum log(1 - rho^2) nats).
"""

from __future__ import annotations

import numpy as np

from mibench.core.estimator import call_estimator
from mibench.core.reference import correlated_pairs, pairs_mi
from mibench.core.registry import get_estimator


def gaussian_pairs(n: int, rho: float, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """n samples of ``dim`` independent (X_i, Y_i) pairs with correlation rho; returns (x, y, MI in nats)."""
    x, y = correlated_pairs(n, rho, dim, np.random.default_rng(seed))
    return x, y, pairs_mi(rho, dim)


def check_estimator(
    estimator,
    *,
    n: int = 2000,
    seed: int = 0,
    atol_gaussian: float = 0.15,
    atol_independent: float = 0.1,
    deterministic: bool = True,
) -> None:
    """Check an estimator (object, function or spec string) against the Estimator contract.

    Checks, in order: returns a finite real number on (n, 3) x (n, 2) data; does not modify its
    inputs; is deterministic (the same data twice give the same value) unless ``deterministic``
    is false; rejects NaN, inf, mismatched lengths, 1-d and 3-d arrays with ValueError or
    TypeError; is within ``atol_independent`` nats of 0 on independent data; is within
    ``atol_gaussian`` nats of the truth on a bivariate Gaussian (rho = 0.75, 0.4133 nats) and on
    two correlated pairs (rho = 0.8, 1.0217 nats), which also tells nats from bits.
    """
    est = get_estimator(estimator) if isinstance(estimator, str) else estimator

    def value(x, y, check):
        try:
            v, _ = call_estimator(est, x, y)
        except Exception as exc:
            raise AssertionError(f"check_estimator[{check}]: estimate raised {type(exc).__name__}: {exc}") from exc
        return v

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3))
    y = np.column_stack([x[:, 0] + rng.standard_normal(n), rng.standard_normal(n)])
    x_copy, y_copy = x.copy(), y.copy()
    first = value(x, y, "returns_float")
    assert np.array_equal(x, x_copy) and np.array_equal(y, y_copy), \
        "check_estimator[no_input_mutation]: estimate modified its input arrays"
    if deterministic:
        second = value(x, y, "deterministic")
        assert first == second, (
            f"check_estimator[deterministic]: the same data gave {first!r} then {second!r}"
        )

    bad_inputs = {
        "nan": (np.where(np.arange(n)[:, None] == 3, np.nan, x), y),
        "inf": (x, np.where(np.arange(n)[:, None] == 5, np.inf, y)),
        "mismatched_lengths": (x, y[:-1]),
        "1d_array": (x[:, 0], y),
        "3d_array": (x[:, :, None], y),
    }
    for name, (bx, by) in bad_inputs.items():
        try:
            call_estimator(est, bx, by)
        except (ValueError, TypeError) as exc:
            assert str(exc), f"check_estimator[rejects_{name}]: error has no message"
            continue
        except Exception as exc:
            raise AssertionError(
                f"check_estimator[rejects_{name}]: raised {type(exc).__name__} ({exc}), "
                "expected ValueError or TypeError with a clear message") from exc
        raise AssertionError(f"check_estimator[rejects_{name}]: bad input ({name}) was accepted")

    rng = np.random.default_rng(seed + 1)
    xi, yi = rng.standard_normal((n, 2)), rng.standard_normal((n, 2))
    v = value(xi, yi, "independent_near_zero")
    assert abs(v) <= atol_independent, (
        f"check_estimator[independent_near_zero]: {v:.4f} nats on independent data (tolerance {atol_independent})"
    )

    for rho, dim, label in ((0.75, 1, "gaussian_1v1"), (0.8, 2, "gaussian_2pairs")):
        gx, gy, truth = gaussian_pairs(n, rho, dim, seed + 2)
        v = value(gx, gy, label)
        assert abs(v - truth) <= atol_gaussian, (
            f"check_estimator[{label}]: {v:.4f} nats, truth {truth:.4f} nats (tolerance {atol_gaussian})"
        )
