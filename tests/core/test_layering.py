"""The package stays layered and ``import mibench`` stays light."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_import_mibench_loads_no_pandas_torch_or_runner():
    code = ("import sys, mibench; mibench.get_task('1v1-normal-0.75'); "
            "print(sorted(m for m in ('pandas', 'torch', 'mibench.execution.runner', 'mibench.execution') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_lazy_names_load_on_first_use():
    import mibench

    assert callable(mibench.run) and callable(mibench.bench) and callable(mibench.check_estimator)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        mibench.nope  # noqa: B018


def test_import_layering_contracts_hold():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint is None:
        pytest.skip("import-linter is not installed")
    r = subprocess.run([lint], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-3000:]
    assert "3 kept, 0 broken" in r.stdout
