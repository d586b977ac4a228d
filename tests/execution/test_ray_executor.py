"""The Ray executor produces exactly the local executor's rows, and failures still become rows."""

import pytest

import mibench

ray = pytest.importorskip("ray", reason="Ray is an optional extra (pip install 'mibench[ray]')")

TASKS = ["1v1-normal-0.75", "multinormal-sparse-3-3-2-2.0"]
KEY = ["task_id", "estimator", "n", "seed"]
pytestmark = pytest.mark.slow  # a local Ray instance takes about a minute to start and retry on 2 cores


def test_ray_rows_equal_local_rows(tmp_path, toy_estimators):
    grid = dict(estimators=["ksg", "gaussian", "corr"], n=[300], seeds=2, workers=2, progress=False)
    local = mibench.run(TASKS, store=tmp_path / "local.sqlite", **grid)
    remote = mibench.run(TASKS, store=tmp_path / "ray.sqlite", executor="ray", **grid)
    assert len(local) == len(remote) == 12
    a = local.sort_values(KEY).reset_index(drop=True)
    b = remote.sort_values(KEY).reset_index(drop=True)
    cols = KEY + ["status", "estimate", "truth", "config_hash", "estimator_name"]
    assert a[cols].equals(b[cols])
    # resume works unchanged on the Ray store
    again = mibench.run(TASKS, store=tmp_path / "ray.sqlite", executor="ray", **grid)
    assert again.sort_values(KEY).reset_index(drop=True)[cols].equals(b[cols])

    bad = mibench.run(["1v1-normal-0.75"], estimators=["hard_exit", "sleeping", "raising"], n=[100], seeds=1,
                      store=tmp_path / "bad.sqlite", executor="ray", workers=2, timeout=3, progress=False)
    by = bad.set_index("estimator")
    assert by.loc["hard_exit", "status"] == "failed" and "worker lost after 2 retries" in by.loc["hard_exit", "error"]
    assert by.loc["sleeping", "status"] == "timeout"
    assert by.loc["raising", "status"] == "failed" and "boom" in by.loc["raising", "error"]
