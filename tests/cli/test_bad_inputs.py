"""Bad inputs found by a probe of a demanding new user: each gets one readable line (CLI: exit 2),
is caught before anything runs, and never becomes a traceback or a stored number."""

import os
import sqlite3
import warnings

import pytest

import mibench
from mibench.cli import main

TASK = "1v1-normal-0.75"


def _one_line_error(capsys, code_expected=2, *argv):
    assert main(list(argv)) == code_expected
    err = capsys.readouterr().err
    assert err.startswith("mibench: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "s.sqlite"
    assert main(["run", "--task", TASK, "--estimator", "gaussian", "--n", "100", "--seeds", "1", "--store",
                 str(path), "--no-progress"]) == 0
    return path


# ---- values that used to run (or crash late) --------------------------------------------------

def test_seed_of_2_63_is_refused_before_computing(tmp_path):
    with pytest.raises(mibench.MibenchError, match="below 2\\*\\*63"):
        mibench.run([TASK], estimators=["gaussian"], seeds=[2**63], store=tmp_path / "s.sqlite")
    assert not (tmp_path / "s.sqlite").exists()


def test_memory_store_is_refused(tmp_path):
    with pytest.raises(mibench.MibenchError, match="would keep nothing"):
        mibench.run([TASK], estimators=["gaussian"], seeds=1, store=":memory:")


def test_negative_estimator_seed_is_refused_when_the_spec_is_read(capsys, tmp_path):
    err = _one_line_error(capsys, 2, "run", "--task", TASK, "--estimator", "ksg:seed=-5", "--store",
                          str(tmp_path / "s.sqlite"))
    assert "seed must be a non-negative integer" in err


def test_float_for_an_integer_parameter_says_integer_literal(capsys, tmp_path):
    err = _one_line_error(capsys, 2, "run", "--task", TASK, "--estimator", "ksg:k=1e3", "--store",
                          str(tmp_path / "s.sqlite"))
    assert "integer literal" in err


def test_huge_spec_value_is_not_echoed_in_full(capsys, tmp_path):
    spec = "ksg:k=" + "9" * 100_000 + "x"
    err = _one_line_error(capsys, 2, "run", "--task", TASK, "--estimator", spec, "--store",
                          str(tmp_path / "s.sqlite"))
    assert len(err) < 500


def test_workers_beyond_the_cores_are_capped_with_a_warning(tmp_path):
    with pytest.warns(RuntimeWarning, match="exceeds the"):
        mibench.run([TASK], estimators=["gaussian"], seeds=1, n=[100], workers=1000, store=tmp_path / "s.sqlite",
                    progress=False)
    from mibench.execution.store import Store

    with Store(tmp_path / "s.sqlite") as db:
        assert db.runs()[-1]["workers"] == os.cpu_count()


def test_run_without_store_leaves_no_temporary_files(tmp_path, monkeypatch):
    import tempfile

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    rows = mibench.run([TASK], estimators=["gaussian"], seeds=1, n=[100], progress=False)
    assert len(rows) == 1 and list(scratch.iterdir()) == []


# ---- presets: checked completely before anything runs -----------------------------------------

@pytest.mark.parametrize("text, message", [
    ('tasks = ["1v1-normal-0.75"]\nestimators = "ksg"\n', "estimators must be a list of strings"),
    ('grid = 5\n', "grid must be a list of [[grid]] tables"),
    ('tasks = ["1v1-normal-0.75"]\nestimators = ["gaussian"]\n[staircase]\nestimators = 5\n',
     "estimators must be a list of estimator specs"),
    ('tasks = ["1v1-normal-0.75"]\nestimators = ["gaussian"]\nseeds = "three"\n', "seeds must be an integer"),
    ('tasks = ["1v1-normal-0.75"]\nestimators = ["gaussian"]\n[tolerance]\nz = -1\n', "z must be a non-negative"),
])
def test_bad_presets_fail_before_running(text, message, capsys, tmp_path):
    preset = tmp_path / "p.toml"
    preset.write_text(text)
    err = _one_line_error(capsys, 2, "bench", "--preset", str(preset), "--out", str(tmp_path / "out"))
    assert message in err
    assert not (tmp_path / "out" / "p.sqlite").exists()


def test_non_utf8_preset(capsys, tmp_path):
    preset = tmp_path / "p.toml"
    preset.write_bytes(b'description = "caf\xe9"\n')
    assert "not UTF-8" in _one_line_error(capsys, 2, "run", "--preset", str(preset))


# ---- output paths ------------------------------------------------------------------------------

def test_leaderboard_out_paths(store, capsys, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for out, message in ((tmp_path / "missing" / "lb.md", "does not exist"), (tmp_path, "is a directory"),
                         (blocker / "lb.md", "is not a folder")):
        err = _one_line_error(capsys, 2, "leaderboard", "--store", str(store), "--out", str(out))
        assert message in err


def test_report_out_under_a_file(store, capsys, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert "cannot be created" in _one_line_error(capsys, 2, "report", "--store", str(store), "--out",
                                                  str(blocker / "r"))


# ---- databases that are not (writable) mibench stores -------------------------------------------

def _foreign_db(path):
    with sqlite3.connect(path) as c:
        c.execute("CREATE TABLE people (name TEXT)")
        c.execute("INSERT INTO people VALUES ('ada')")
    return path


@pytest.mark.parametrize("command", ["export", "leaderboard", "report"])
def test_read_only_commands_never_touch_a_foreign_database(command, capsys, tmp_path):
    db = _foreign_db(tmp_path / "other.sqlite")
    before = db.read_bytes()
    argv = [command, "--store", str(db)] + (["--out", str(tmp_path / "r")] if command == "report" else [])
    assert "not a mibench store" in _one_line_error(capsys, 2, *argv)
    assert db.read_bytes() == before and not (tmp_path / "other.sqlite-wal").exists()
    with sqlite3.connect(db) as c:
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert [r[0] for r in c.execute("SELECT name FROM sqlite_master")] == ["people"]


def test_results_table_of_another_schema_is_refused_for_writing(capsys, tmp_path):
    db = tmp_path / "other.sqlite"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE results (x INTEGER)")
    err = _one_line_error(capsys, 2, "run", "--task", TASK, "--estimator", "gaussian", "--store", str(db))
    assert "not a mibench store" in err


def test_read_only_store_file_can_be_read(store, capsys):
    os.chmod(store, 0o444)
    try:
        assert main(["export", "--store", str(store)]) == 0
    finally:
        os.chmod(store, 0o644)
    assert capsys.readouterr().out.startswith("task_id,")


def test_locked_store_is_one_line_not_a_traceback(store, capsys, monkeypatch):
    from mibench.execution import store as store_module

    monkeypatch.setattr(store_module, "_BUSY_SECONDS", 0.2)
    holder = sqlite3.connect(store, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the store
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            err = _one_line_error(capsys, 1, "run", "--task", TASK, "--estimator", "gaussian", "--n", "100",
                                  "--seeds", "2", "--store", str(store), "--no-progress")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "locked by another process" in err
