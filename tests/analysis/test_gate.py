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
