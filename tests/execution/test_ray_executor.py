"""The Ray executor produces exactly the local executor's rows, and failures still become rows."""

import sys
from pathlib import Path

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

    # batches of seeds travel to Ray workers as one job and come back as one row per cell
    from tests import misbehaving

    with mibench.registered({"bcorr": misbehaving.BatchedCorrelation}):
        batched = mibench.run(TASKS, estimators=["bcorr", "bcorr:fail_seed_index=1"], n=[300], seeds=3,
                              store=tmp_path / "batched.sqlite", executor="ray", workers=2, progress=False,
                              batch_seeds="always")
    assert len(batched) == 12
    ok = batched[batched.status == "ok"]
    assert len(ok) == 10 and all(info["batch"]["size"] == 3 for info in ok["info"])
    failed = batched[batched.status != "ok"]
    assert list(failed.seed) == [1, 1] and failed.error.str.contains("seed index 1 diverged").all()

    bad = mibench.run(["1v1-normal-0.75"], estimators=["hard_exit", "sleeping", "raising"], n=[100], seeds=1,
                      store=tmp_path / "bad.sqlite", executor="ray", workers=2, timeout=3, progress=False)
    by = bad.set_index("estimator")
    assert by.loc["hard_exit", "status"] == "failed" and "worker lost after 2 retries" in by.loc["hard_exit", "error"]
    assert by.loc["sleeping", "status"] == "timeout"
    assert by.loc["raising", "status"] == "failed" and "boom" in by.loc["raising", "error"]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kill_tree(pid: int) -> None:
    """SIGKILL a process and all its descendants (the second node's raylet and workers), from /proc."""
    import os
    import signal

    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    todo, tree = [pid], []
    while todo:
        p = todo.pop()
        tree.append(p)
        todo += children.get(p, [])
    for p in tree:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_two_node_cluster_losing_a_node_keeps_every_cell_once(tmp_path, toy_estimators):
    """A head node and a second node (`ray start --address`, its own CPUs) on this machine; the second
    node is killed mid-run; Ray retries its cells on the head: every cell ends exactly once in the store,
    with the estimates of the local executor."""
    import os
    import shutil
    import sqlite3
    import subprocess
    import threading
    import time

    ray_cli = shutil.which("ray") or str(Path(sys.executable).parent / "ray")
    port = _free_port()
    address = f"127.0.0.1:{port}"
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    subprocess.run([ray_cli, "start", "--head", f"--port={port}", "--num-cpus=1", "--include-dashboard=false",
                    "--disable-usage-stats"], env=env, check=True, capture_output=True, timeout=180)
    node = subprocess.Popen([ray_cli, "start", f"--address={address}", "--num-cpus=2", "--block"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
        deadline = time.time() + 120
        while sum(n["Alive"] for n in ray.nodes()) < 2:
            assert time.time() < deadline, "the second node did not join"
            time.sleep(1)
        grid = dict(estimators=["slow:delay=1.5", "corr"], n=[200], seeds=4, progress=False)
        store = tmp_path / "cluster.sqlite"
        killed_at = []

        def kill_second_node():
            while not killed_at:
                time.sleep(0.5)
                try:
                    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
                        done = db.execute("select count(*) from results").fetchone()[0]
                except sqlite3.Error:
                    continue
                if done >= 3:
                    _kill_tree(node.pid)
                    killed_at.append(done)

        killer = threading.Thread(target=kill_second_node, daemon=True)
        killer.start()
        rows = mibench.run(TASKS, store=store, executor="ray", address=address, **grid)
        killer.join(timeout=5)
        assert killed_at and killed_at[0] < 16, killed_at  # killed mid-run
        deadline = time.time() + 60
        while sum(n["Alive"] for n in ray.nodes()) != 1:  # the head sees the second node gone
            assert time.time() < deadline, ray.nodes()
            time.sleep(1)
        assert len(rows) == 16 and (rows.status == "ok").all(), rows[["estimator", "status", "error"]]
        with sqlite3.connect(store) as db:
            counts = db.execute("select count(*) from results group by task_id, estimator, n, seed").fetchall()
        assert len(counts) == 16 and all(c == (1,) for c in counts)
    finally:
        ray.shutdown()
        _kill_tree(node.pid)
        subprocess.run([ray_cli, "stop", "--force"], env=env, capture_output=True, timeout=120)
    local = mibench.run(TASKS, store=tmp_path / "local.sqlite", workers=2, **grid)
    cols = KEY + ["status", "estimate", "truth", "config_hash"]
    a = local.sort_values(KEY).reset_index(drop=True)[cols]
    b = rows.sort_values(KEY).reset_index(drop=True)[cols]
    assert a.equals(b)
