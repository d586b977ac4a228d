"""Accuracy of the neural estimators under the ``bmi`` protocol (slow: ~1 min per fit on one core).

Quality bar of issue 6: on multinormal-sparse-5-5-2-2.0 (truth 1.0217 nats), N = 5000, seeds
0, 1, 2, every bound's mean estimate lies within 0.25 nats of the truth; InfoNCE and NWJ on
independent data (x and y from different seeds) lie within 0.05 of 0. Run with
``pytest -m slow tests/estimators/neural/test_neural_accuracy.py -s`` to print the numbers (docs/neural.md).
"""

import numpy as np
import pytest

import mibench

TASK = "multinormal-sparse-5-5-2-2.0"
SEEDS = (0, 1, 2)
BOUNDS = ("dv", "mine", "nwj", "infonce", "smile", "js")


def _fit(bound, x, y, seed):
    value, info = mibench.get_estimator(f"{bound}:protocol=bmi,seed={seed}").estimate_with_info(x, y)
    return value, info["n_steps"], info["train_seconds"]


@pytest.mark.slow
@pytest.mark.timeout(7200)
@pytest.mark.parametrize("bound", BOUNDS)
def test_bmi_preset_sparse_gaussian(bound):
    task = mibench.get_task(TASK)
    assert abs(task.mutual_information - 1.0217) < 1e-4
    runs = [_fit(bound, *task.sample(5000, s), s) for s in SEEDS]
    values = [r[0] for r in runs]
    print(f"\n{bound}: estimates {np.round(values, 4).tolist()} mean {np.mean(values):.4f} "
          f"(truth {task.mutual_information:.4f}); steps {[r[1] for r in runs]}; "
          f"seconds {[round(r[2], 1) for r in runs]}")
    assert abs(np.mean(values) - task.mutual_information) <= 0.25


@pytest.mark.slow
@pytest.mark.timeout(7200)
@pytest.mark.parametrize("bound", ["infonce", "nwj"])
def test_bmi_preset_independent(bound):
    task = mibench.get_task(TASK)
    values = []
    for s in SEEDS:
        x, _ = task.sample(5000, s)
        _, y = task.sample(5000, s + 1000)
        values.append(_fit(bound, x, y, s)[0])
    print(f"\n{bound} independent: estimates {np.round(values, 4).tolist()} mean {np.mean(values):.4f}")
    assert abs(np.mean(values)) <= 0.05
