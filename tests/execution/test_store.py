import numpy as np
import pandas as pd
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


def test_experiment_tables_replace_by_key_and_round_trip(tmp_path):
    import pandas as pd

    rows = pd.DataFrame({"run": ["a", "a", "b"], "step": [1, 2, 1], "value": [0.5, 0.7, 1.5],
                         "flag": [True, False, True]})
    with Store(tmp_path / "s.sqlite") as db:
        assert db.read_table("exp").empty
        db.write_table("exp", rows, key=["run"])
        db.write_table("exp", pd.DataFrame({"run": ["a"], "step": [9], "value": [2.0], "flag": [False]}), key=["run"])
        back = db.read_table("exp")
        with pytest.raises(ValueError, match="reserved"):
            db.write_table("results", rows, key=["run"])
        with pytest.raises(ValueError, match="plain identifier"):
            db.write_table("x; DROP TABLE results", rows, key=["run"])
    assert back.sort_values(["run", "step"]).values.tolist() == [["a", 9, 2.0, 0], ["b", 1, 1.5, 1]]


def test_read_only_store_refuses_writes(tmp_path):
    with Store(tmp_path / "s.sqlite") as db:
        db.add(_row())
    with Store(tmp_path / "s.sqlite", readonly=True) as db:
        assert len(db.dataframe()) == 1
        with pytest.raises(MibenchError, match="opened read-only"):
            db.add(_row(seed=1))



def test_write_table_creates_replaces_and_extends(tmp_path):
    with Store(tmp_path / "s.sqlite") as db:
        assert db.read_table("things").empty
        db.write_table("things", pd.DataFrame(columns=["run", "epoch"]), key=["run", "epoch"])
        assert db.read_table("things").empty  # nothing written, no table created
        db.write_table("things", pd.DataFrame({"run": ["a", "a"], "epoch": [0, 1], "v": [1.5, np.nan],
                                               "ok": [True, False]}), key=["run", "epoch"])
        db.write_table("things", pd.DataFrame({"run": ["a", "b"], "epoch": [1, 1], "v": [3.0, 4.0], "ok": [True, True],
                                               "note": ["x", "y"]}), key=["run", "epoch"])
        got = db.read_table("things")
    assert got[["run", "epoch"]].values.tolist() == [["a", 0], ["a", 1], ["b", 1]]
    assert got["v"].iloc[0] == 1.5 and got["v"].iloc[1] == 3.0  # replaced, NaN gone
    assert got["note"].isna().iloc[0] and got["note"].iloc[2] == "y"  # column added for later rows
    assert got["ok"].tolist() == [1, 1, 1]
    with Store(tmp_path / "s.sqlite") as db:
        db.write_table("nulls", pd.DataFrame({"k": [1, 2], "v": [np.nan, np.nan]}), key=["k"])
        assert db.read_table("nulls")["v"].dtype == np.float64  # NULLs of a REAL column read as NaN


def test_write_table_is_one_transaction(tmp_path):
    with Store(tmp_path / "s.sqlite") as db:
        db.write_table("t", pd.DataFrame({"k": [1, 2], "v": [1.0, 2.0]}), key=["k"])
        bad = pd.DataFrame({"k": [1, 3], "v": [10.0, 2**70]})  # sqlite cannot bind the second value
        with pytest.raises(OverflowError):
            db.write_table("t", bad, key=["k"])
        assert db.read_table("t")["v"].tolist() == [1.0, 2.0]  # the delete of k=1 was rolled back
        with pytest.raises(TypeError, match="column 'v'"):
            db.write_table("t", pd.DataFrame({"k": [4], "v": [{"a": 1}]}), key=["k"])


@pytest.mark.parametrize("name, rows, key, match", [
    ("results", pd.DataFrame({"k": [1]}), ["k"], "reserved by the store"),
    ("bad name", pd.DataFrame({"k": [1]}), ["k"], "plain identifier"),
    ("t", pd.DataFrame({"k": [1]}), ["missing"], "key column"),
])
def test_write_table_rejects(tmp_path, name, rows, key, match):
    with Store(tmp_path / "s.sqlite") as db, pytest.raises((ValueError, MibenchError), match=match):
        db.write_table(name, rows, key)
