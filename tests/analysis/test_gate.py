"""The CI gate: passes on an unchanged estimator, fails when an estimator is deliberately broken."""

import mibench
from mibench.analysis.gate import check
from tests import misbehaving

PRESET = """
description = "test gate"
tasks = ["1v1-normal-0.75", "multinormal-dense-2-2-0.5"]
estimators = ["gate_toy"]
n = [500]
seeds = 3
[tolerance]
abs = 0.02
z = 3.0
"""


def test_gate_detects_broken_estimator(tmp_path):
    preset = tmp_path / "gate.toml"
    preset.write_text(PRESET)
    baseline = tmp_path / "baseline.csv"
    with mibench.registered({"gate_toy": misbehaving.Biased}):  # offset 0: the good version
        code, text = check(str(preset), baseline, update=True, workers=2, progress=False)
        assert code == 0 and baseline.is_file()
        code, text = check(str(preset), baseline, workers=2, progress=False)
        assert code == 0 and "passed" in text, text
        # the regression: same name, now 0.3 nats of bias
        with mibench.registered({"gate_toy": misbehaving.BiasedBy03}):
            code, text = check(str(preset), baseline, workers=2, progress=False)
    assert code == 1
    assert "FAILED" in text and "worse" in text and "gate_toy" in text


def test_gate_without_baseline_is_a_user_error(tmp_path):
    import pytest

    preset = tmp_path / "gate.toml"
    preset.write_text(PRESET.replace("gate_toy", "gaussian"))
    with pytest.raises(mibench.MibenchError, match="no baseline"):
        check(str(preset), tmp_path / "missing.csv", workers=2, progress=False)


def _baseline(tmp_path):
    preset = tmp_path / "gate.toml"
    preset.write_text(PRESET)
    baseline = tmp_path / "baseline.csv"
    with mibench.registered({"gate_toy": misbehaving.Biased}):
        assert check(str(preset), baseline, update=True, workers=2, progress=False)[0] == 0
    return preset, baseline


def test_gate_fails_on_a_mean_that_drifts_while_mae_does_not_grow(tmp_path):
    """A bias that flips sign keeps the MAE and moves the mean: a baseline whose means are 1 nat off
    must fail, with the hint that an improvement is recorded by --update."""
    import pandas as pd

    preset, baseline = _baseline(tmp_path)
    base = pd.read_csv(baseline)
    base["mean"] += 1.0  # the MAE column stays as measured
    base.to_csv(baseline, index=False)
    with mibench.registered({"gate_toy": misbehaving.Biased}):
        code, text = check(str(preset), baseline, workers=2, progress=False)
    assert code == 1 and "drifted" in text and "mibench check --update" in text
    base["mean"] -= 2.0  # and in the other direction
    base.to_csv(baseline, index=False)
    with mibench.registered({"gate_toy": misbehaving.Biased}):
        code, text = check(str(preset), baseline, workers=2, progress=False)
    assert code == 1 and "drifted" in text


def test_gate_checks_baseline_and_tolerance_before_running(tmp_path):
    import pytest

    preset, baseline = _baseline(tmp_path)
    store = tmp_path / "never.sqlite"
    baseline.write_text("task_id,estimator\nx,y\n")  # columns missing
    with pytest.raises(mibench.MibenchError, match="lacks column"):
        check(str(preset), baseline, store=store)
    baseline.write_text("task_id,estimator,n,truth,mean,std,mae,seeds,failures\nt,e,500,1,abc,0,0,3,0\n")
    with pytest.raises(mibench.MibenchError, match="non-numeric value 'abc'"):
        check(str(preset), baseline, store=store)
    preset.write_text(PRESET.replace("abs = 0.02", "abs = \"small\""))
    with pytest.raises(mibench.MibenchError, match="abs must be a non-negative number"):
        check(str(preset), baseline, store=store)
    assert not store.exists()  # nothing ran


def test_gate_leaves_no_temporary_store(tmp_path, monkeypatch):
    import tempfile

    preset, baseline = _baseline(tmp_path)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    with mibench.registered({"gate_toy": misbehaving.Biased}):
        assert check(str(preset), baseline, workers=2, progress=False)[0] == 0
    assert list(scratch.iterdir()) == []
