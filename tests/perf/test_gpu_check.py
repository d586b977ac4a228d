"""tools/gpu_check.py: skips cleanly without CUDA; its measurements and report run (tiny, on CPU)."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import torch

TOOL = Path(__file__).resolve().parents[2] / "tools" / "gpu_check.py"


def _load():
    spec = importlib.util.spec_from_file_location("gpu_check", TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present: the check would run")
def test_without_cuda_it_says_skipped_and_exits_0(tmp_path):
    r = subprocess.run([sys.executable, str(TOOL), str(tmp_path / "out")], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert "skipped" in r.stdout and "no CUDA" in r.stdout
    assert not (tmp_path / "out").exists()


@pytest.mark.slow  # ~1 min; under pytest's output capture the batched CPU steps crawl (it passes with -s)
def test_measurements_and_report_on_cpu():
    mod = _load()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the batched path's ops on 2 threads crawl on a machine that is busy
    try:
        report = mod.collect("cpu", n_ksg=300, mienf_steps=20,
                             neural={"extra": ",steps=20,eval_every=10,ci_reps=5", "n": 600, "n_seeds": (1, 2),
                                     "steps": 3})
    finally:
        torch.set_num_threads(threads)
    assert [(r["d"], r["metric"]) for r in report["ksg"]] == [(d, m) for d in (1, 5, 25)
                                                              for m in ("euclidean", "chebyshev")]
    assert all(r["abs_diff"] == 0 for r in report["ksg"])  # the same device twice: the same numbers
    assert [r["estimator"] for r in report["neural"]] == ["mine", "infonce", "nwj", "dv"]
    assert all(q["seed_steps_per_second"] > 0 for r in report["neural"] for q in r["rates"])
    text = mod.markdown(report)
    assert "| 25 | chebyshev |" in text and "| infonce |" in text and "MIENF" in text and "nats" in text
