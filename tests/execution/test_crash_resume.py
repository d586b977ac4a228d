"""Crash safety: SIGKILL of the whole process tree mid-run, then resume: every cell exactly once."""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

SCRIPT = textwrap.dedent("""
    import sys
    import mibench
    from tests import misbehaving
    mibench.register_estimator("slow", misbehaving.Slow)
    if __name__ == "__main__":
        mibench.run(["1v1-normal-0.75", "multinormal-dense-2-2-0.5"], estimators=["slow:delay=0.4", "gaussian"],
                    n=[100], seeds=4, store=sys.argv[1], workers=2, progress=False)
""")


def _count(path):
    with sqlite3.connect(path) as c:
        query = "SELECT COUNT(*), COUNT(DISTINCT task_id || estimator || n || '/' || seed) FROM results"
        return c.execute(query).fetchone()


def test_sigkill_then_resume_gives_each_cell_once(tmp_path):
    store = tmp_path / "s.sqlite"
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    proc = subprocess.Popen([sys.executable, str(script), str(store)], env=env, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:  # wait until some, but not all, of the 16 cells are stored
        time.sleep(0.2)
        if store.exists():
            try:
                done, _ = _count(store)
            except sqlite3.OperationalError:
                continue
            if done >= 3:
                break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done, distinct = _count(store)
    assert 3 <= done < 16 and done == distinct
    subprocess.run([sys.executable, str(script), str(store)], env=env, check=True, timeout=120)
    assert _count(store) == (16, 16)
    with sqlite3.connect(store) as c:
        assert c.execute("SELECT COUNT(*) FROM results WHERE status != 'ok'").fetchone()[0] == 0
