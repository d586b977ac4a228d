"""The worker processes: none outlives the driver (SIGTERM, SIGKILL), a normal run prints no
multiprocessing noise (also when its workers created semaphores), and a script without the
``__main__`` guard gets one clear line and no stored failure."""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

SLEEPER = textwrap.dedent("""
    import sys
    import mibench
    from mibench.cli import main
    from tests import misbehaving
    if __name__ == "__main__":
        with mibench.registered({"sleeping": misbehaving.sleeping}):
            sys.exit(main(["run", "--task", "1v1-normal-0.75", "--estimator", "sleeping", "--n", "50",
                           "--seeds", "2", "--workers", "2", "--timeout", "120", "--store", sys.argv[1],
                           "--no-progress"]))
""")


def _children(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (from /proc)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    out, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - out
        out |= frontier
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited (only its parent has not collected it yet)


def _start_sleeper(tmp_path):
    script = tmp_path / "sleeper.py"
    script.write_text(SLEEPER)
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path / "s.sqlite")], env=ENV, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 60
    workers: set[int] = set()
    while time.time() < deadline and len(workers) < 3:  # the fork server and two workers
        time.sleep(0.3)
        workers = _children(proc.pid)
    assert len(workers) >= 3, "the workers did not start"
    time.sleep(1.0)  # both cells are now sleeping inside their workers
    return proc, workers


def _wait_gone(pids, seconds=10.0) -> set[int]:
    deadline = time.time() + seconds
    while time.time() < deadline:
        left = {p for p in pids if _alive(p)}
        if not left:
            return left
        time.sleep(0.2)
    return {p for p in pids if _alive(p)}


def test_sigkill_of_the_driver_alone_takes_its_workers_down(tmp_path):
    proc, workers = _start_sleeper(tmp_path)
    os.kill(proc.pid, signal.SIGKILL)  # the driver only, not its process group
    proc.wait()
    try:
        assert _wait_gone(workers) == set(), "workers outlived the killed driver"
    finally:
        for p in workers:
            if _alive(p):
                os.kill(p, signal.SIGKILL)


def test_sigterm_stops_the_run_like_ctrl_c(tmp_path):
    proc, workers = _start_sleeper(tmp_path)
    os.kill(proc.pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "mibench: interrupted" in err and "Traceback" not in err
    assert _wait_gone(workers) == set()


NOISE = textwrap.dedent("""
    import mibench
    from tests import misbehaving
    if __name__ == "__main__":
        with mibench.registered({"hard_exit": misbehaving.hard_exit, "corr": misbehaving.correlation_mi}):
            for _ in range(6):
                rows = mibench.run(["1v1-normal-0.75", "multinormal-dense-2-2-0.5"],
                                   estimators=["corr", "hard_exit", "gaussian"], n=[100], seeds=3, workers=2,
                                   progress=False)
                assert (rows.status == "ok").sum() == 12, rows
        print("done")
""")


def test_runs_with_killed_workers_print_no_multiprocessing_noise(tmp_path):
    script = tmp_path / "noise.py"
    script.write_text(NOISE)
    r = subprocess.run([sys.executable, str(script)], env=ENV, cwd=tmp_path, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "done", r.stderr
    assert r.stderr == "", r.stderr  # e.g. resource_tracker's "leaked semaphore objects", '/mp-xxxx'


SEMAPHORES = textwrap.dedent("""
    import mibench
    from tests import misbehaving
    if __name__ == "__main__":
        with mibench.registered({"holds_semaphores": misbehaving.holds_semaphores}):
            for _ in range(16):
                rows = mibench.run(["1v1-normal-0.75"], estimators=["holds_semaphores"], n=[100], seeds=2,
                                   workers=2, progress=False)
                assert (rows.status == "ok").all(), rows
        print("done")
""")


def test_workers_that_created_semaphores_exit_without_resource_tracker_noise(tmp_path):
    """Workers whose estimators created semaphores (numba does) unlink and unregister them as they
    exit, even though pebble terminates them at the end of the run while they are exiting (that
    exit was cut short: "leaked semaphore objects", "'/mp-xxxx': No such file or directory")."""
    script = tmp_path / "semaphores.py"
    script.write_text(SEMAPHORES)
    r = subprocess.run([sys.executable, str(script)], env=ENV, cwd=tmp_path, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "done", r.stderr
    for noise in ("leaked semaphore", "No such file or directory", "Traceback"):
        assert noise not in r.stderr, r.stderr
    assert r.stderr == "", r.stderr


NO_GUARD = textwrap.dedent("""
    import sys
    import mibench
    mibench.run(["1v1-normal-0.75"], estimators=["gaussian"], n=[100], seeds=1, store=sys.argv[1], progress=False)
""")


def test_script_without_main_guard_gets_one_line_and_no_stored_failure(tmp_path):
    script, store = tmp_path / "noguard.py", tmp_path / "s.sqlite"
    script.write_text(NO_GUARD)
    r = subprocess.run([sys.executable, str(script), str(store)], env=ENV, cwd=tmp_path, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode != 0
    lines = r.stderr.splitlines()
    assert sum("mibench: error:" in line and "__main__" in line for line in lines) >= 1
    assert "InfrastructureError: worker processes could not start" in r.stderr
    assert "An attempt has been made to start a new process" not in r.stderr  # not the stdlib's 80 lines
    with sqlite3.connect(store) as c:
        assert c.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 0  # nothing stored as a failure
    script.write_text("if __name__ == '__main__':\n" + textwrap.indent(NO_GUARD, "    "))
    r = subprocess.run([sys.executable, str(script), str(store)], env=ENV, cwd=tmp_path, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    with sqlite3.connect(store) as c:
        assert c.execute("SELECT status FROM results").fetchall() == [("ok",)]
