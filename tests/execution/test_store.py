import pytest

from mibench import MibenchError
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
