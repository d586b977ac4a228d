"""Bad input on the command line: exit 2 and one clear line, no traceback."""

import subprocess
import sys

import pytest

from mibench.cli import main


@pytest.mark.parametrize("argv, message", [
    (["run", "--task", "no-such-task", "--estimator", "ksg"], "unknown task 'no-such-task'"),
    (["run", "--suite", "nosuite", "--estimator", "ksg"], "unknown suite 'nosuite'"),
    (["run", "--task", "1v1-normal-0.75", "--estimator", "nope"], "unknown estimator 'nope'"),
    (["run", "--task", "1v1-normal-0.75", "--estimator", "ksg:k"], "malformed estimator spec"),
    (["run", "--task", "1v1-normal-0.75", "--estimator", "ksg:kk=1"], "no parameter 'kk'"),
    (["run", "--task", "1v1-normal-0.75", "--estimator", "ksg:k=two"], "k must be a positive integer"),
    (["run", "--task", "1v1-normal-0.75", "--estimator", "ksg", "--n", "0"], "sample size n must be a positive"),
    (["run", "--task", "1v1-normal-0.75", "--estimator", "ksg", "--seed", "-1"], "seed must be a non-negative"),
    (["run", "--task", "1v1-normal-0.75", "--estimator", "ksg", "--seeds", "0"], "seeds must be a positive"),
    (["run", "--task", "1v1-normal-0.75"], "no estimator given"),
    (["run", "--estimator", "ksg"], "no tasks selected"),
    (["run", "--preset", "nopreset"], "unknown preset"),
    (["leaderboard", "--store", "/nonexistent/x.sqlite"], "no store at"),
])
def test_user_errors_exit_2_with_one_line(argv, message, capsys, tmp_path):
    if argv[0] == "run":
        argv = argv + ["--store", str(tmp_path / "s.sqlite"), "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("mibench: error: ") and message in err
    assert len(err.strip().splitlines()) == 1


def test_store_path_that_is_a_directory(tmp_path, capsys):
    assert main(["run", "--task", "1v1-normal-0.75", "--estimator", "ksg", "--store", str(tmp_path)]) == 2
    assert "is not a file" in capsys.readouterr().err


def test_console_script_run_export_leaderboard(tmp_path):
    store = str(tmp_path / "s.sqlite")
    exe = [sys.executable, "-m", "mibench"]
    r = subprocess.run(exe + ["run", "--task", "1v1-normal-0.75", "--estimator", "ksg", "--estimator", "gaussian",
                              "--n", "300", "--seeds", "2", "--store", store], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "4 cells" in r.stdout
    csv = subprocess.run(exe + ["export", "--store", store], capture_output=True, text=True, check=True).stdout
    lines = csv.strip().splitlines()
    assert lines[0].startswith("task_id,task_family,truth") and len(lines) == 5
    html = subprocess.run(exe + ["leaderboard", "--store", store, "--format", "html"], capture_output=True,
                          text=True, check=True).stdout
    assert "<table" in html and "ksg" in html
    bad = subprocess.run(exe + ["run", "--task", "x", "--estimator", "ksg", "--store", store],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
