"""The ``external`` estimator (a command in its own environment) and the BMI adapter."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import mibench
from mibench.core.estimator import config_hash, estimator_config
from mibench.core.testing import check_estimator, gaussian_pairs

ROOT = Path(__file__).resolve().parents[2]
ADAPTER = ROOT / "tools" / "external" / "bmi_estimator.py"

# A script estimator: the plug-in Gaussian MI in plain numpy, with switches for misbehaviour.
SCRIPT = textwrap.dedent('''
    import json, sys, time
    import numpy as np
    mode, path = sys.argv[1], sys.argv[2]
    if path.endswith(".csv"):
        with open(path) as fh:
            header = fh.readline().strip().split(",")
        data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
        x = data[:, [h.startswith("x") for h in header]]
        y = data[:, [h.startswith("y") for h in header]]
    else:
        with np.load(path) as f:
            x, y = f["x"], f["y"]
    c = np.cov(np.hstack([x, y]).T)
    dx = x.shape[1]
    mi = 0.5 * (np.linalg.slogdet(c[:dx, :dx])[1] + np.linalg.slogdet(c[dx:, dx:])[1] - np.linalg.slogdet(c)[1])
    if mode == "number":
        print(repr(float(mi)))
    elif mode == "json":
        print(json.dumps({"estimate": mi, "info": {"input": path, "shape": [list(x.shape), list(y.shape)]}}))
    elif mode == "chatty":
        print("loading a library...\\nwarming up")
        print(repr(float(mi)))
    elif mode == "sleep":
        with open(sys.argv[3], "w") as fh:
            fh.write(f"{__import__('os').getpid()} {path}")
        time.sleep(60)
    elif mode == "fail":
        print("partial output")
        print("Traceback: something broke in " + path, file=sys.stderr)
        sys.exit(3)
    elif mode == "garbage":
        print("hello, not a number")
    elif mode == "notfinite":
        print("nan")
    elif mode == "badjson":
        print(json.dumps({"estimate": "high", "info": {}}))
''')


@pytest.fixture
def config(tmp_path, monkeypatch):
    """Write the script and a configuration file; MIBENCH_EXTERNAL points to it."""
    (tmp_path / "est.py").write_text(SCRIPT)
    py = json.dumps(sys.executable)
    toml = "\n".join(
        f'[{mode}]\ncommand = [{py}, "est.py", "{mode}", "{{input}}"]\n'
        for mode in ("number", "json", "chatty", "fail", "garbage", "notfinite", "badjson"))
    toml += f'\n[csv]\ncommand = [{py}, "est.py", "number", "{{input}}"]\nformat = "csv"\n'
    toml += (f'\n[sleep]\ncommand = [{py}, "est.py", "sleep", "{{input}}", "{tmp_path / "pid"}"]\n'
             'timeout = 1.5\ndescription = "sleeps"\n')
    toml += f'\n[hang]\ncommand = [{py}, "est.py", "sleep", "{{input}}", "{tmp_path / "pid_hang"}"]\n'  # no timeout
    path = tmp_path / "ext.toml"
    path.write_text(toml)
    monkeypatch.setenv("MIBENCH_EXTERNAL", str(path))
    return path


@pytest.fixture
def data():
    x, y, _ = gaussian_pairs(300, 0.6, 2, 0)
    return x, y


def ext(name):
    return mibench.get_estimator(f"external:name={name}")


def test_number_and_json(config, data):
    want = mibench.get_estimator("gaussian").estimate(*data)
    v, info = mibench.call_estimator(ext("number"), *data)
    assert v == pytest.approx(want, abs=1e-12) and info == {}
    v, info = mibench.call_estimator(ext("json"), *data)
    assert v == pytest.approx(want, abs=1e-12)
    assert info["shape"] == [[300, 2], [300, 2]]
    assert not os.path.exists(info["input"])  # the sample file is gone
    assert info["input"].endswith(".npz")
    assert ext("chatty").estimate(*data) == pytest.approx(want, abs=1e-12)  # last line read


def test_csv_layout(config, data):
    want = mibench.get_estimator("gaussian").estimate(*data)
    assert ext("csv").estimate(*data) == pytest.approx(want, abs=1e-12)  # 17 digits round-trip
    from mibench.estimators.external import write_samples
    path = config.parent / "s.csv"
    with open(path, "wb") as fh:
        write_samples(fh, data[0][:3], data[1][:3, :1], "csv")
    lines = path.read_text().splitlines()
    assert lines[0] == "x1,x2,y1" and len(lines) == 4
    assert np.array_equal(np.loadtxt(path, delimiter=",", skiprows=1), np.hstack([data[0][:3], data[1][:3, :1]]))


def test_timeout_kills_the_command(config, data):
    t0 = time.perf_counter()
    with pytest.raises(RuntimeError, match=r"external estimator 'sleep' timed out after 1.5 s"):
        ext("sleep").estimate(*data)
    assert time.perf_counter() - t0 < 20
    pid, path = (config.parent / "pid").read_text().split()
    assert not _alive(int(pid)) and not os.path.exists(path)


def test_nonzero_exit_reports_stderr_and_removes_the_file(config, data):
    with pytest.raises(RuntimeError, match=r"exited with status 3; stderr: Traceback: something broke in") as exc:
        ext("fail").estimate(*data)
    path = str(exc.value).rsplit(" in ", 1)[1]
    assert path.endswith(".npz") and not os.path.exists(path)


@pytest.mark.parametrize("name,match", [
    ("garbage", "expected one number or a JSON object .* got: hello, not a number"),
    ("notfinite", r"non-finite estimate \(nan\)"),
    ("badjson", "expected one number or a JSON object"),
])
def test_garbage_output(config, data, name, match):
    with pytest.raises(RuntimeError, match=match):
        ext(name).estimate(*data)


def test_missing_command_binary(tmp_path, monkeypatch, data):
    cfg = tmp_path / "e.toml"
    cfg.write_text('[x]\ncommand = ["/nonexistent/python", "{input}"]\n')
    monkeypatch.setenv("MIBENCH_EXTERNAL", str(cfg))
    with pytest.raises(RuntimeError, match="cannot run '/nonexistent/python'"):
        ext("x").estimate(*data)


def test_bad_input_rejected_before_running(config):
    check_estimator("external:name=number")


def test_configuration_errors_name_the_file(tmp_path, monkeypatch, config):
    with pytest.raises(mibench.MibenchError, match=rf"'nosuch' is not in {config}.*names there: .*number"):
        ext("nosuch")
    with pytest.raises(mibench.MibenchError, match="external needs name=NAME"):
        mibench.get_estimator("external")
    with pytest.raises(mibench.MibenchError, match="name must be a table name that does not read as a number"):
        mibench.get_estimator("external:name=nan")
    missing = tmp_path / "missing.toml"
    monkeypatch.setenv("MIBENCH_EXTERNAL", str(missing))
    with pytest.raises(mibench.MibenchError, match=rf"no configuration file {missing} \(named by \$MIBENCH_EXTERNAL\)"):
        ext("number")
    monkeypatch.delenv("MIBENCH_EXTERNAL")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(mibench.MibenchError, match="no configuration file .*mibench-external.toml"):
        ext("number")
    (tmp_path / "mibench-external.toml").write_text("[a\ncommand = 3")
    with pytest.raises(mibench.MibenchError, match="mibench-external.toml is not valid TOML"):
        ext("a")


@pytest.mark.parametrize("table,match", [
    ('command = "python est.py {input}"', "command must be a non-empty list of non-empty strings"),
    ("command = []", "command must be a non-empty list"),
    ('command = ["python", "est.py"]', "command never mentions {input}"),
    ('command = ["p", "{input}"]\nformat = "parquet"', "format must be one of npz, csv"),
    ('command = ["p", "{input}"]\ntimeout = -1', "timeout must be a positive number"),
    ('command = ["p", "{input}"]\ntimeout = true', "timeout must be a positive number"),
    ('command = ["p", "{input}"]\ncomand = 1', "unknown key 'comand'"),
])
def test_bad_tables(tmp_path, monkeypatch, table, match):
    cfg = tmp_path / "e.toml"
    cfg.write_text(f"[x]\n{table}\n")
    monkeypatch.setenv("MIBENCH_EXTERNAL", str(cfg))
    with pytest.raises(mibench.MibenchError, match=rf"{cfg}, table \[x\]: {match}"):
        ext("x")


def test_names_and_params(config, tmp_path, monkeypatch):
    from mibench.estimators.external import external_names
    assert external_names() == ["badjson", "chatty", "csv", "fail", "garbage", "hang", "json", "notfinite",
                                "number", "sleep"]
    p = ext("csv").get_params()
    assert p == {"name": "csv", "resolved": {"command": [sys.executable, "est.py", "number", "{input}"],
                                             "format": "csv", "timeout": None}}
    assert type(ext("csv"))(**p).get_params() == p
    with pytest.raises(mibench.MibenchError, match="resolved is set by external"):
        mibench.get_estimator("external:name=csv,resolved=x")
    before = config_hash("external", estimator_config(ext("number")))
    config.write_text(config.read_text().replace('"number", "{input}"]', '"number", "{input}", "--v2"]', 1))
    after = config_hash("external", estimator_config(ext("number")))
    assert before != after  # a changed command is a new configuration
    monkeypatch.delenv("MIBENCH_EXTERNAL")
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path / "empty")
    assert external_names() == []  # no file, no variable: nothing configured, not an error


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (dead, not yet reaped by its new parent) counts as dead
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_command_dies_with_the_worker(config, tmp_path):
    """A worker killed by the harness (timeout, OOM) must not leave its external command running."""
    code = textwrap.dedent('''
        import mibench
        from mibench.core.testing import gaussian_pairs
        mibench.get_estimator("external:name=hang").estimate(*gaussian_pairs(100, 0.5, 1, 0)[:2])
    ''')
    worker = subprocess.Popen([sys.executable, "-c", code], env=os.environ.copy())
    pid_file = tmp_path / "pid_hang"
    for _ in range(600):
        if pid_file.exists() and pid_file.read_text():
            break
        time.sleep(0.05)
    else:
        worker.kill()
        pytest.fail("the external command never started")
    child = int(pid_file.read_text().split()[0])
    assert _alive(child)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    for _ in range(100):
        if not _alive(child):
            break
        time.sleep(0.05)
    assert not _alive(child)


def test_failed_rows_in_a_run(config, tmp_path):
    """End to end in a fresh process, as a user runs it: the variable is set before the first run
    (workers fork from a server that keeps the environment it started with)."""
    code = textwrap.dedent(f'''
        import json, mibench
        if __name__ == "__main__":
            rows = mibench.run(["multinormal-dense-2-2-0.5"], estimators=["external:name=number",
                               "external:name=garbage"], n=[200], seeds=1, store={str(tmp_path / "s.sqlite")!r},
                               workers=1, progress=False)
            print(json.dumps({{r.estimator: [r.status, r.error] for r in rows.itertuples()}}))
    ''')
    script = tmp_path / "run.py"
    script.write_text(code)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600,
                         env=os.environ.copy(), cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    by = json.loads(out.stdout.strip().splitlines()[-1])
    assert by["external:name=number"][0] == "ok", by["external:name=number"]
    status, error = by["external:name=garbage"]
    assert status == "failed" and "ExternalEstimatorError" in error and "hello, not a number" in error


# ---- the BMI adapter -----------------------------------------------------------------------

def _adapter_module():
    spec = importlib.util.spec_from_file_location("bmi_estimator", ADAPTER)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # imports only numpy at module level
    return mod


def test_adapter_parses_values_and_reads_both_formats(tmp_path, data):
    mod = _adapter_module()
    assert mod.parse_value("10") == 10 and mod.parse_value("0.5") == 0.5 and mod.parse_value("(16, 8)") == (16, 8)
    assert mod.parse_value("true") is True and mod.parse_value("False") is False
    assert mod.parse_value("chebyshev") == "chebyshev" and mod.parse_value("'a b'") == "a b"
    from mibench.estimators.external import write_samples
    for fmt in ("npz", "csv"):
        path = tmp_path / f"s.{fmt}"
        with open(path, "wb") as fh:
            write_samples(fh, data[0], data[1][:, :1], fmt)
        x, y = mod.read_samples(str(path))
        assert np.array_equal(x, data[0]) and np.array_equal(y, data[1][:, :1])


def bmi_python() -> str | None:
    """BMI's side environment: $MIBENCH_BMI_PYTHON, else /work/bmivenv/bin/python if it exists."""
    exe = os.environ.get("MIBENCH_BMI_PYTHON") or "/work/bmivenv/bin/python"
    if not os.path.exists(exe):
        return None
    probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec('bmi') is None)"  # no JAX start-up
    ok = subprocess.run([exe, "-c", probe], capture_output=True, timeout=120).returncode == 0
    return exe if ok else None


@pytest.fixture(scope="module")
def bmi_exe():
    exe = bmi_python()
    if exe is None:
        pytest.skip("BMI is not installed (set MIBENCH_BMI_PYTHON to a Python with benchmark-mi; docs/external.md)")
    return exe


def test_bmi_ksg_through_external_equals_mibench_ksg(bmi_exe, tmp_path, monkeypatch):
    cfg = tmp_path / "bmi.toml"
    cfg.write_text(
        f'[bmi-ksg-5]\ncommand = [{json.dumps(bmi_exe)}, {json.dumps(str(ADAPTER))}, "KSGEnsembleFirstEstimator", '
        '"{input}", "neighborhoods=5"]\ntimeout = 600\n'
        f'[bmi-ksg-10-cheb]\ncommand = [{json.dumps(bmi_exe)}, {json.dumps(str(ADAPTER))}, '
        '"KSGEnsembleFirstEstimator", "{input}", "neighborhoods=(10,)", "metric_x=chebyshev"]\ntimeout = 600\n')
    monkeypatch.setenv("MIBENCH_EXTERNAL", str(cfg))
    x, y, _ = gaussian_pairs(800, 0.7, 3, 4)
    for name, spec in (("bmi-ksg-5", "ksg:k=5,variant=1,standardize=true"),
                       ("bmi-ksg-10-cheb", "ksg:k=10,metric=chebyshev,variant=1,standardize=true")):
        v, info = mibench.call_estimator(ext(name), x, y)
        assert v == pytest.approx(mibench.get_estimator(spec).estimate(x, y), abs=1e-4)
        assert info["bmi_class"] == "KSGEnsembleFirstEstimator" and info["bmi_version"] == "0.1.3"


def test_bmi_adapter_usage_errors(bmi_exe, tmp_path, data):
    path = tmp_path / "s.npz"
    np.savez(path, x=data[0], y=data[1])
    r = subprocess.run([bmi_exe, str(ADAPTER), "NoSuchEstimator", str(path)], capture_output=True, text=True)
    assert r.returncode == 2 and "no estimator class 'NoSuchEstimator'" in r.stderr and not r.stdout
    r = subprocess.run([bmi_exe, str(ADAPTER), "KSGEnsembleFirstEstimator", str(path), "k=3"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "has no parameter 'k' (accepted: neighborhoods" in r.stderr
    r = subprocess.run([bmi_exe, str(ADAPTER), "KSGEnsembleFirstEstimator", str(path), "--plain"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and float(r.stdout) > 0


@pytest.mark.slow
def test_bmi_infonce_through_external(bmi_exe, tmp_path, monkeypatch):
    """One of BMI's JAX neural estimators, unchanged, as a mibench estimator (~1 min: JAX start-up)."""
    cfg = tmp_path / "bmi.toml"
    cfg.write_text(f'[bmi-infonce]\ncommand = [{json.dumps(bmi_exe)}, {json.dumps(str(ADAPTER))}, '
                   '"InfoNCEEstimator", "{input}", "max_n_steps=300", "test_every_n_steps=100", "batch_size=64", '
                   '"seed=1"]\ntimeout = 900\n')
    monkeypatch.setenv("MIBENCH_EXTERNAL", str(cfg))
    x, y, truth = gaussian_pairs(1000, 0.8, 1, 0)
    v, info = mibench.call_estimator(ext("bmi-infonce"), x, y)
    assert info["n_training_steps"] == 300 and info["bmi_params"]["verbose"] is False
    assert v == pytest.approx(max(t for _, t in info["test_history"]), abs=1e-6)  # BMI's best held-out value
    assert 0.2 < v < truth + 0.1  # a lower bound, learning something (truth 0.51 nats)


def test_list_estimators_shows_the_configured_names(tmp_path, monkeypatch, capsys):
    from mibench.cli import main

    cfg = tmp_path / "ext.toml"
    cfg.write_text(f'[half]\ncommand = ["{sys.executable}", "-c", "print(0.5)", "{{input}}"]\n')
    monkeypatch.setenv("MIBENCH_EXTERNAL", str(cfg))
    assert main(["list", "estimators"]) == 0
    assert "  external:name=half" in capsys.readouterr().out
