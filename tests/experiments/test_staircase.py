"""The streaming staircase experiment: the neural estimators on a stream whose true MI steps up,
through the library function and the ``mibench staircase`` command."""

import math

import numpy as np
import pytest

from mibench import MibenchError
from mibench.cli import main
from mibench.core.spec import parse_spec
from mibench.experiments.staircase import schedule as staircase_schedule


def test_streaming_staircase_infonce_stays_below_log_batch():
    from mibench.experiments.staircase import run_staircase

    rows, info = run_staircase("infonce", levels=(2.0, 10.0), steps_per_level=200, seed=0)
    assert rows["estimator"].iloc[0] == "infonce:protocol=staircase"  # the literature's protocol by default
    assert len(rows) == 400 and info["n_steps"] == 400
    lo, hi = rows[rows.true_mi == 2.0].estimate, rows[rows.true_mi == 10.0].estimate
    assert hi.max() <= math.log(64) + 1e-5  # batch 64: the bound's ceiling, log 64 = 4.159 nats
    assert lo.iloc[-100:].mean() > 0.7 and hi.iloc[-100:].mean() > lo.iloc[-100:].mean()


def test_staircase_cli_writes_csv_and_store(tmp_path, capsys):
    import pandas as pd

    from mibench.execution.store import Store
    from mibench.experiments.staircase import read_rows

    out, db = tmp_path / "sc.csv", tmp_path / "sc.sqlite"
    spec = "nwj:hidden=16,embed=4"
    code = main(["staircase", "--estimator", spec, "--steps-per-level", "15", "--levels", "1", "3",
                 "--seed", "3", "--out", str(out), "--store", str(db)])
    assert code == 0
    df = pd.read_csv(out)
    assert list(df.columns) == ["estimator", "seed", "dim", "cubic", "steps_per_level", "step", "true_mi", "estimate"]
    assert len(df) == 30 and df.true_mi.tolist() == [1.0] * 15 + [3.0] * 15 and (df.seed == 3).all()
    assert "true MI" in capsys.readouterr().out
    main(["staircase", "--estimator", spec, "--steps-per-level", "15", "--levels", "1", "3", "--seed", "3",
          "--store", str(db)])  # a re-run replaces, never duplicates
    with Store(db) as s:
        stored = read_rows(s)
    assert len(stored) == 30 and np.allclose(stored.estimate, df.estimate)


def test_staircase_cli_rejects_non_streaming_estimator(capsys):
    assert main(["staircase", "--estimator", "ksg", "--steps-per-level", "5"]) == 2
    assert "cannot train on a stream" in capsys.readouterr().err
    assert parse_spec("infonce").name == "infonce"


def test_schedule():
    s = staircase_schedule(steps_per_level=3)
    assert s.tolist() == [2.0] * 3 + [4.0] * 3 + [6.0] * 3 + [8.0] * 3 + [10.0] * 3
    assert len(staircase_schedule()) == 5 * 4000


def test_schedule_rejects_zero_steps():
    with pytest.raises(MibenchError, match="steps_per_level"):
        staircase_schedule(steps_per_level=0)
