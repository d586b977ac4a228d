"""Per-cell metrics and the ranking rule, checked by hand on tiny frames."""

import numpy as np
import pandas as pd
import pytest

from mibench.analysis.leagues import rank_league
from mibench.analysis.metrics import summarize
from tests.execution.test_store import _row


def test_summary_metrics_by_hand():
    rows = pd.DataFrame([
        _row(seed=0, estimate=1.5), _row(seed=1, estimate=0.5), _row(seed=2, estimate=1.3),
        _row(seed=3, estimate=None, status="failed", seconds=None),
    ])
    s = summarize(rows).iloc[0]
    errs = np.array([0.5, -0.5, 0.3])
    assert s["mean"] == pytest.approx(1.1)
    assert s["bias"] == pytest.approx(errs.mean())
    assert s["std"] == pytest.approx(np.std([1.5, 0.5, 1.3], ddof=1))
    assert s["rmse"] == pytest.approx(np.sqrt(np.mean(errs**2)))
    assert s["mae"] == pytest.approx(np.mean(np.abs(errs)))
    assert s["rel_error"] == pytest.approx(np.mean(np.abs(errs)) / 1.0)
    assert s["failures"] == 1 and s["seeds"] == 3


def test_ranking_rule():
    # task A: e1 best; task B: e2 best; task C: e1 fails entirely -> worst rank there
    rows = pd.DataFrame([
        _row(task_id="A", estimator="e1", estimate=1.0), _row(task_id="A", estimator="e2", estimate=1.2),
        _row(task_id="B", estimator="e1", estimate=1.3), _row(task_id="B", estimator="e2", estimate=1.1),
        _row(task_id="C", estimator="e1", estimate=None, status="failed"),
        _row(task_id="C", estimator="e2", estimate=1.4),
    ])
    r = rank_league(rows, bootstrap=50)[0].set_index("estimator")
    assert r.loc["e1", "mean_rank"] == pytest.approx((1 + 2 + 2) / 3)
    assert r.loc["e2", "mean_rank"] == pytest.approx((2 + 1 + 1) / 3)
    assert list(r.index) == ["e2", "e1"] and r.loc["e2", "rank"] == 1 and (r.cells == 3).all()
    assert r.loc["e1", "failures"] == 1
