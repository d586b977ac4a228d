"""Process isolation: every kind of estimator failure becomes a row, and the run goes on."""

import numpy as np
import pytest

import mibench

TASK = "multinormal-dense-2-2-0.5"


def test_failures_become_rows_while_other_cells_finish(tmp_path, toy_estimators):
    rows = mibench.run(
        [TASK], estimators=["raising", "hard_exit", "sleeping", "returns_nan", "returns_string", "corr"],
        n=[200], seeds=2, store=tmp_path / "s.sqlite", workers=2, timeout=3, progress=False,
    )
    assert len(rows) == 12
    by = {(r.estimator, r.seed): r for r in rows.itertuples()}
    for seed in (0, 1):
        assert by[("corr", seed)].status == "ok" and np.isfinite(by[("corr", seed)].estimate)
        assert by[("raising", seed)].status == "failed"
        assert "RuntimeError: boom from the estimator" in by[("raising", seed)].error
        assert by[("hard_exit", seed)].status == "failed"
        assert "exit code 1" in by[("hard_exit", seed)].error
        assert by[("sleeping", seed)].status == "timeout"
        assert "timeout of 3 s" in by[("sleeping", seed)].error
        assert by[("returns_nan", seed)].status == "failed"
        assert "non-finite" in by[("returns_nan", seed)].error
        assert by[("returns_string", seed)].status == "failed"
        assert "expected a real number" in by[("returns_string", seed)].error
    failed = rows[rows.status != "ok"]
    assert failed.estimate.isna().all()


def test_same_samples_for_every_estimator(tmp_path, toy_estimators):
    """Paired comparison: two registrations of the same function give identical estimates."""
    mibench.register_estimator("corr_twin", toy_estimators["corr"])
    rows = mibench.run([TASK], estimators=["corr", "corr_twin"], n=[300], seeds=3,
                       store=tmp_path / "s.sqlite", workers=2, progress=False)
    pivot = rows.pivot(index="seed", columns="estimator", values="estimate")
    assert (pivot["corr"] == pivot["corr_twin"]).all()
    assert pivot["corr"].nunique() == 3  # different seeds, different samples


def test_row_records_provenance(tmp_path):
    rows = mibench.run([TASK], estimators=["ksg:k=3"], n=[200], seeds=[7], store=tmp_path / "s.sqlite",
                       workers=1, progress=False)
    r = rows.iloc[0]
    task = mibench.get_task(TASK)
    assert r.status == "ok" and r.truth == task.mutual_information
    assert r.estimator == "ksg:k=3" and r.estimator_name == "ksg" and r.seed == 7 and r.n == 200
    assert r.config["resolved"]["k"] == 3 and len(r.config_hash) == 16
    assert r.seconds > 0 and r.device == "cpu" and r.peak_memory_mb > 0
    assert r.versions["numpy"] == np.__version__ and "plugin" in r.versions
    cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    assert r.versions["cpu"] == cpu  # the worker's CPU model: float32 training repeats only on the same one
    assert r.timestamp.endswith("+00:00")


def test_progress_bar_counts_done_and_failed(tmp_path, toy_estimators, capsys):
    mibench.run([TASK], estimators=["corr", "raising"], n=[100], seeds=2, store=tmp_path / "s.sqlite",
                workers=2, progress=True)
    err = capsys.readouterr().err
    assert "4/4" in err and "failed=2" in err


def test_thread_budget_per_worker():
    from mibench.execution.grid import build_grid

    jobs = build_grid([TASK], None, ["gaussian"], [100], 1, workers=1)
    assert jobs[0].threads >= 1
    jobs = build_grid([TASK], None, ["gaussian"], [100], 1, workers=64)
    assert jobs[0].threads == 1


def test_peak_memory_is_per_cell_in_a_reused_worker(tmp_path, toy_estimators):
    from tests import misbehaving

    with mibench.registered({"alloc400": misbehaving.allocates_400mb}):
        rows = mibench.run([TASK], estimators=["alloc400", "corr"], n=[100], seeds=3, store=tmp_path / "s.sqlite",
                           workers=1, progress=False)
    peak = rows.groupby("estimator")["peak_memory_mb"]
    assert peak.min()["alloc400"] > 400 + peak.max()["corr"] - 50
    assert peak.max()["corr"] < 300  # the big cells before it do not leak into its measurement


@pytest.mark.parametrize("numba_first", [True, False])
def test_thread_cap_survives_numba_kernels(numba_first):
    """A worker capped at 1 thread runs numba's parallel KSG kernels on 1 thread, and they do not
    reset torch's (shared OpenMP) thread count to the core count (fresh process: global state),
    whether numba was imported before the cap or only later by the estimator."""
    import subprocess
    import sys

    code = (
        ("import numba\n" if numba_first else "")
        + "import numpy as np, torch\n"
        "from mibench.execution.worker import _limit_threads\n"
        "from mibench.estimators.ksg import KSG\n"
        "_limit_threads(1)\n"
        "rng = np.random.default_rng(0); x = rng.standard_normal((500, 3))\n"
        "KSG(algorithm='brute').estimate(x, x + rng.standard_normal((500, 3)))\n"
        "KSG(algorithm='tree').estimate(x, x + rng.standard_normal((500, 3)))\n"
        "import numba\n"
        "print(torch.get_num_threads(), numba.get_num_threads())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["1", "1"]
