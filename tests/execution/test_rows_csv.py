"""Committed reference rows are reused: export, import into a fresh store under the preset's
leagues, then run only a new estimator and rank it against the reference rows."""

import pandas as pd

import mibench
from mibench.cli import main
from mibench.execution.rows_csv import csv_safe, csv_unsafe, read_rows_csv
from mibench.execution.store import Store
from mibench.reporting.tables import league_tables
from tests import misbehaving

PRESET = """
name = "toyproto"
tasks = ["1v1-normal-0.75", "multinormal-dense-2-2-0.5"]
estimators = ["gaussian", "ksg"]
n = [300]
seeds = 2
"""


def test_export_import_then_add_only_a_new_estimator(tmp_path, capsys):
    preset = tmp_path / "toyproto.toml"
    preset.write_text(PRESET)
    reference = tmp_path / "reference.sqlite"
    assert main(["run", "--preset", str(preset), "--store", str(reference), "--no-progress"]) == 0
    capsys.readouterr()
    rows_csv = tmp_path / "rows.csv"
    assert main(["export", "--store", str(reference)]) == 0
    rows_csv.write_text(capsys.readouterr().out)

    mine = tmp_path / "mine.sqlite"
    assert main(["import", str(rows_csv), "--store", str(mine), "--preset", str(preset)]) == 0
    assert "8 rows imported" in capsys.readouterr().out
    with mibench.registered({"corr": misbehaving.correlation_mi}):
        rows = mibench.run(["1v1-normal-0.75", "multinormal-dense-2-2-0.5"], estimators=["corr"], n=[300], seeds=2,
                           store=mine, progress=False, league="toyproto")
    assert rows.attrs["cells"]["computed"] == 4  # only the new estimator ran
    with Store(mine, readonly=True) as db:
        stored, runs = db.dataframe(), db.runs()
    with Store(reference, readonly=True) as db:
        original = db.dataframe()
    merged = stored.merge(original, on=["task_id", "estimator", "n", "seed"], suffixes=("", "_ref"))
    assert len(merged) == 8 and (merged.estimate == merged.estimate_ref).all()  # imported exactly
    assert (merged.task_fingerprint == merged.task_fingerprint_ref).all()
    (league,) = league_tables(stored, runs, bootstrap=50)
    assert league.league.name == "toyproto" and set(league.ranking.estimator) == {"corr", "gaussian", "ksg"}


def test_formula_quoting_round_trips():
    df = pd.DataFrame({"a": ["=1+2", "plain", "'quoted", "-x", None]})
    assert csv_unsafe(csv_safe(df)).equals(df)


def test_bad_rows_file(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    assert main(["import", str(bad), "--store", str(tmp_path / "s.sqlite")]) == 2
    assert "not a file written by `mibench export`" in capsys.readouterr().err
    assert not (tmp_path / "s.sqlite").exists()
    try:
        read_rows_csv(tmp_path / "missing.csv")
    except mibench.MibenchError as exc:
        assert "no rows file" in str(exc)
