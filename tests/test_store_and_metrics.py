import numpy as np
import pandas as pd
import pytest

from mibench import MibenchError
from mibench.analysis.metrics import summarize
from mibench.analysis.ranking import ranking
from mibench.execution.store import Store


def _row(**kw):
    base = dict(task_id="t", task_family="f", truth=1.0, truth_stderr=None, estimator="e", estimator_name="e",
                config_hash="h", config={}, n=10, seed=0, estimate=1.0, seconds=0.1, device="cpu",
                peak_memory_mb=1.0, status="ok", error=None, info={"a": [1, 2]}, versions={}, timestamp="now")
    base.update(kw)
    return base


def test_row_written_once_and_json_roundtrip(tmp_path):
    with Store(tmp_path / "s.sqlite") as db:
        db.add(_row())
        db.add(_row(estimate=5.0))  # the same cell again: the new row supersedes, never duplicates
        db.add(_row(seed=1))
        df = db.dataframe()
        history = db.dataframe(superseded=True)
    assert len(df) == 2 and df.estimate.tolist() == [5.0, 1.0]
    assert len(history) == 3 and history.superseded.tolist() == [True, False, False]  # the old row is kept
    assert df["info"][0] == {"a": [1, 2]}
    with Store(tmp_path / "s.sqlite") as db:  # reopening sees the rows
        assert set(db.current_cells()) == {("t", "e", 10, 0), ("t", "e", 10, 1)}


def test_retry_failed_supersedes_only_failed(tmp_path):
    with Store(tmp_path / "s.sqlite") as db:
        db.add(_row(seed=0, status="failed", estimate=None, error="x"))
        db.add(_row(seed=1))
        assert db.supersede([("t", "e", 10, 0), ("t", "e", 10, 1)], failed_only=True) == 1
        assert set(db.current_cells()) == {("t", "e", 10, 1)}
        assert len(db.dataframe(superseded=True)) == 2  # history is never deleted


def test_bad_store_paths(tmp_path):
    with pytest.raises(MibenchError, match="not a file"):
        Store(tmp_path)
    junk = tmp_path / "junk.sqlite"
    junk.write_text("hello, I am not a database")
    with pytest.raises(MibenchError, match="not an SQLite database"):
        Store(junk)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(MibenchError, match="cannot create its folder"):
        Store(blocker / "sub" / "s.sqlite")


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
    r = ranking(summarize(rows)).set_index("estimator")
    assert r.loc["e1", "mean_rank"] == pytest.approx((1 + 2 + 2) / 3)
    assert r.loc["e2", "mean_rank"] == pytest.approx((2 + 1 + 1) / 3)
    assert r.loc["e2", "rank"] == 1 and r.loc["e1", "rank"] == 2
    assert r.loc["e1", "failures"] == 1
