"""Self-consistency checks (mibench.experiments.selfcheck): the ratios and verdicts on estimators whose
behaviour is known, data from files and arrays, failures as rows, the command-line entry points, and a
run on a digits task with three estimators."""

import argparse
import math

import numpy as np
import pytest

import mibench
from mibench.experiments import selfcheck as sc


def constant_one(x, y):
    """An estimator that ignores its data: fails independence and additivity, passes data processing."""
    return 1.0


@pytest.fixture
def constant_estimator():
    with mibench.registered({"constant-one": constant_one}):
        yield "constant-one"


def _by_check(df, estimator):
    return df[df.estimator == estimator].set_index("check")


def test_plug_in_gaussian_passes_on_a_gaussian_task():
    """The Gaussian plug-in is exactly self-consistent on Gaussian data up to sampling noise: the mask
    keeps the 3 first of 5 coordinates, which carry both interacting pairs of this task."""
    df = sc.selfcheck("gaussian", task="multinormal-sparse-5-5-2-2.0", n=3000, seed=1)
    g = _by_check(df, "gaussian")
    assert list(g.index) == ["reference", "independence", "data_processing", "additivity"]
    assert (df.status == "ok").all() and g.loc[list(sc.CHECKS), "passed"].tolist() == [True, True, True]
    ref = g.loc["reference", "value"]
    assert abs(g.loc["independence", "ratio"]) < 0.05
    assert g.loc["data_processing", "ratio"] == pytest.approx(1.0, abs=0.05)
    assert g.loc["additivity", "ratio"] == pytest.approx(2.0, abs=0.1)
    assert g.loc["additivity", "value"] == pytest.approx(g.loc["additivity", "ratio"] * ref)
    assert (df.reference == ref).all() and (df.n == 3000).all() and (df.source == "multinormal-sparse-5-5-2-2.0").all()
    again = sc.selfcheck("gaussian", task="multinormal-sparse-5-5-2-2.0", n=3000, seed=1)
    assert again.value.tolist() == df.value.tolist()


def test_verdicts_on_an_estimator_that_ignores_its_data(constant_estimator):
    df = sc.selfcheck(constant_estimator, task="1v1-normal-0.75", n=500)
    c = _by_check(df, constant_estimator)
    assert c.loc["independence", "ratio"] == 1.0 and c.loc["independence", "passed"] is False
    assert c.loc["data_processing", "passed"] is True  # 1 <= 1 + t
    assert c.loc["additivity", "ratio"] == 1.0 and c.loc["additivity", "passed"] is False


def test_tolerance_is_applied_as_stated():
    for value, tol, passed in ((0.105, 0.1, False), (0.095, 0.1, True), (0.2, 0.25, True)):
        # reference 1 (constant), independence value v: ratio v, pass iff |v| <= t
        assert sc._judge("independence", value, 1.0, tol, 0.05)["passed"] is passed
    assert sc._judge("data_processing", 1.11, 1.0, 0.1, 0.05)["passed"] is False
    assert sc._judge("data_processing", 1.09, 1.0, 0.1, 0.05)["passed"] is True
    assert sc._judge("additivity", 1.79, 1.0, 0.1, 0.05)["passed"] is False
    assert sc._judge("additivity", 2.19, 1.0, 0.1, 0.05)["passed"] is True
    assert sc._judge("additivity", 2.0, 0.04, 0.1, 0.05)["passed"] is None  # reference too small


def test_independent_data_are_undetermined():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((2000, 2)), rng.standard_normal((2000, 2))
    df = sc.selfcheck("gaussian", data=(x, y))
    checks = df[df.check != "reference"]
    assert (checks.status == "undetermined").all() and checks.passed.isna().all() and checks.ratio.isna().all()
    assert df.n.iloc[0] == 1000 and df.source.iloc[0] == "data"


def test_npz_file_equals_arrays(tmp_path):
    x, y = mibench.get_task("multinormal-dense-2-2-0.5").sample(1200, 3)
    path = tmp_path / "pairs.npz"
    np.savez(path, x=x, y=y)
    a = sc.selfcheck(["gaussian", "ksg"], data=path, n=500, seed=4)
    b = sc.selfcheck(["gaussian", "ksg"], data=(x, y), n=500, seed=4)
    assert a.value.tolist() == b.value.tolist() and a.source.iloc[0] == str(path)
    with pytest.raises(mibench.MibenchError, match="need 2n"):
        sc.selfcheck("gaussian", data=(x, y), n=601)


def test_failing_estimator_is_a_row_not_a_crash():
    """ksg standardises and rejects the always-blank pixels of the plain digits: failed rows with the
    reason; the other estimator still runs."""
    df = sc.selfcheck(["ksg", "ksg:standardize=false"], task="digits-1-0.3", n=300)
    bad, good = _by_check(df, "ksg"), _by_check(df, "ksg:standardize=false")
    assert (bad.status == "failed").all() and bad.error.str.contains("constant column").all()
    assert bad.passed.isna().all()
    assert (good.status == "ok").all() and np.isfinite(good.value.astype(float)).all()


def test_processing_and_pairing_shapes():
    rng = np.random.default_rng(0)
    img = rng.random((5, 1, 8, 16)).astype(np.float32)
    assert sc._process(img, "mask", rng).shape == (5, 1, 4, 16)
    assert np.array_equal(sc._process(img, "mask", rng), img[:, :, :4])
    assert sc._pair(img, img).shape == (5, 1, 8, 32)
    vec = rng.standard_normal((5, 3))
    assert np.array_equal(sc._process(vec, "auto", rng), vec[:, :2])
    one = rng.standard_normal((400, 1))
    noisy = sc._process(one, "auto", rng)
    assert noisy.shape == (400, 1) and 0.8 < np.std(noisy - one) / np.std(one) < 1.2
    with pytest.raises(mibench.MibenchError, match="processing=noise"):
        sc._process(one, "mask", rng)


def _args(*argv):
    p = argparse.ArgumentParser()
    sc.add_arguments(p)
    return p.parse_args(list(argv))


def test_main_exit_codes_and_output(tmp_path, capsys, constant_estimator):
    out = tmp_path / "rows.csv"
    assert sc.main(_args("--estimator", "gaussian", "--task", "multinormal-sparse-5-5-2-2.0", "--n", "2000",
                         "--out", str(out))) == 0
    text = capsys.readouterr().out
    assert "self-consistency on multinormal-sparse-5-5-2-2.0" in text and "| gaussian" in text and "pass" in text
    assert out.read_text().startswith("estimator,check,source")
    assert sc.main(_args("--estimator", constant_estimator, "--task", "1v1-normal-0.75", "--n", "300")) == 1
    assert "FAIL" in capsys.readouterr().out
    assert sc.main(_args("--estimator", "gaussian", "--task", "no-such-task")) == 2
    assert capsys.readouterr().err.startswith("mibench: error: unknown task")
    np.savez(tmp_path / "bad.npz", x=np.zeros((10, 1)), z=np.zeros((10, 1)))
    assert sc.main(_args("--estimator", "gaussian", "--data", str(tmp_path / "bad.npz"))) == 2
    assert "has no array 'y'" in capsys.readouterr().err
    assert sc.main(_args("--estimator", "nosuch", "--task", "1v1-normal-0.75")) == 2
    assert sc.main(_args("--estimator", "gaussian", "--task", "1v1-normal-0.75", "--tolerance", "2")) == 2
    with pytest.raises(SystemExit):  # argparse: --task and --data are exclusive
        _args("--estimator", "gaussian", "--task", "a", "--data", "b")


def test_bad_data_rejected():
    with pytest.raises(mibench.MibenchError, match="vectors"):
        sc.selfcheck("gaussian", data=(np.zeros(10), np.zeros(10)))
    with pytest.raises(mibench.MibenchError, match="different numbers of rows"):
        sc.selfcheck("gaussian", data=(np.zeros((10, 1)), np.zeros((9, 1))))
    with pytest.raises(mibench.MibenchError, match="finite"):
        sc.selfcheck("gaussian", data=(np.full((10, 1), math.nan), np.zeros((10, 1))))
    with pytest.raises(mibench.MibenchError, match="exactly one"):
        sc.selfcheck("gaussian")


def test_runs_on_digits_with_ksg_quickly():
    df = sc.selfcheck("ksg", task="digits-noise-2-0.1", n=500)
    assert (df.status == "ok").all() and len(df) == 4
    assert df[df.check == "independence"].passed.iloc[0]


@pytest.mark.slow
def test_runs_on_digits_with_three_estimators(one_torch_thread):
    """The acceptance run of issue 18 at small budgets (~1 CPU-minute): a kNN estimator on the flattened
    pixels, InfoNCE with the conv critic and MIENF's PCA image flow on the 8 x 16 images."""
    specs = ["ksg", "infonce:critic=conv,steps=100", "mienf:steps=100"]
    df = sc.selfcheck(specs, task="digits-noise-2-0.1", n=1000)
    assert (df.status != "failed").all(), df[["estimator", "check", "error"]]
    assert list(df.estimator.unique()) == specs and len(df) == 12


def test_experiment_stores_rows_and_reports_them(tmp_path, capsys):
    from mibench.cli import main as cli
    from mibench.execution.store import Store
    from mibench.experiments.selfcheck import EXPERIMENT

    store = tmp_path / "s.sqlite"
    assert cli(["selfcheck", "--estimator", "gaussian", "--task", "multinormal-dense-2-2-0.5", "--n", "1000",
                "--store", str(store)]) == 0
    assert "independence" in capsys.readouterr().out
    with Store(store, readonly=True) as db:
        rows = db.read_table("selfcheck")
        section = EXPERIMENT.report_section(db, tmp_path)
    assert sorted(rows.check) == ["additivity", "data_processing", "independence", "reference"]
    assert (rows.passed.dropna() == 1.0).all() and "Self-consistency checks" in section
    opts = {"estimators": ["gaussian"], "tasks": ["multinormal-dense-2-2-0.5"], "n": 1000}
    EXPERIMENT.run_preset(opts, str(store))  # already stored: nothing is recomputed or duplicated
    with Store(store, readonly=True) as db:
        assert len(db.read_table("selfcheck")) == 4
    with pytest.raises(mibench.MibenchError, match="unknown key"):
        EXPERIMENT.parse_preset({**opts, "bogus": 1}, "[selfcheck]")
