"""`make gpu-check`: what a GPU machine measures, in at most ~5 minutes on one GPU.

1. KSG on CUDA against CPU on the same samples (d = 1, 5, 25; N = 10^4): estimates equal within 1e-6,
   seconds of each (CUDA-synchronised: the estimate is a host float, read after the device finished).
2. The neural bounds (MINE, InfoNCE, NWJ, DV; bmi protocol) on CUDA: one full estimate each, and the
   training speed of 1 and 10 batched seeds (steps/s, CUDA-synchronised).
3. MIENF on CUDA: one estimate at a reduced budget, with its time.

Writes OUT/gpu_check.json (every number, device names, versions) and OUT/gpu_check.md (the tables),
OUT defaulting to results/gpu. Without CUDA it says so and exits 0 (nothing written): the script is
ready for the day a GPU is lent. Exit 1 if a CUDA result disagrees with CPU.

    python tools/gpu_check.py [OUT]
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

import mibench

TOL = 1e-6


def _timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return out, time.perf_counter() - t0


def ksg_rows(n: int = 10_000, device: str = "cuda") -> list[dict]:
    rows = []
    for d in (1, 5, 25):
        task = mibench.get_task("1v1-normal-0.75" if d == 1 else f"multinormal-dense-{d}-{d}-0.5")
        x, y = task.sample(n, seed=0)
        for metric in ("euclidean", "chebyshev"):
            cpu, t_cpu = _timed(mibench.get_estimator(f"ksg:metric={metric},device=cpu").estimate, x, y)
            on = mibench.get_estimator(f"ksg:metric={metric},device={device}")
            on.estimate(x[:500], y[:500])  # warm-up
            gpu, t_gpu = _timed(on.estimate, x, y)
            rows.append({"d": d, "n": n, "metric": metric, "cpu": float(cpu), "cuda": float(gpu),
                         "abs_diff": abs(float(cpu) - float(gpu)), "cpu_seconds": t_cpu, "cuda_seconds": t_gpu})
    return rows


def neural_rows(device: str = "cuda", extra: str = "", n: int = 5000, n_seeds=(1, 10), steps: int = 100) -> list[dict]:
    from mibench.estimators.neural import batched

    task = mibench.get_task("multinormal-sparse-5-5-2-2.0")
    x, y = task.sample(n, seed=0)
    rows = []
    for name in ("mine", "infonce", "nwj", "dv"):
        est = mibench.get_estimator(f"{name}:device={device}{extra}")
        (value, info), seconds = _timed(est.estimate_with_info, x, y)
        rates = batched.seed_batching_rates(est, x, y, n_seeds=n_seeds, steps=steps)
        rows.append({"estimator": name, "estimate": float(value), "truth": task.mutual_information,
                     "seconds": seconds, "n_steps": info.get("n_steps"), "device": info.get("device"),
                     "rates": rates})
    return rows


def mienf_row(device: str = "cuda", steps: int = 2000) -> dict:
    task = mibench.get_task("multinormal-sparse-5-5-2-2.0")
    x, y = task.sample(10_000, seed=0)
    est = mibench.get_estimator(f"mienf:device={device},steps={steps}")
    (value, info), seconds = _timed(est.estimate_with_info, x, y)
    return {"estimator": f"mienf:steps={steps}", "estimate": float(value), "truth": task.mutual_information,
            "seconds": seconds, "device": info.get("device")}


def collect(device: str, n_ksg: int = 10_000, neural: dict | None = None, mienf_steps: int = 2000) -> dict:
    """Every measurement on ``device``; ``neural``: arguments of neural_rows (the test runs a tiny
    version on CPU)."""
    name = torch.cuda.get_device_name(0) if device == "cuda" else platform.processor() or platform.machine()
    return {"device": name, "torch": torch.__version__, "cuda": torch.version.cuda, "numpy": np.__version__,
            "date": time.strftime("%Y-%m-%d"), "ksg": ksg_rows(n_ksg, device),
            "neural": neural_rows(device, **(neural or {})), "mienf": mienf_row(device, mienf_steps)}


def markdown(report: dict) -> str:
    lines = [f"# GPU check ({report['device']}, torch {report['torch']}, {report['date']})", "",
             f"## KSG, CUDA vs CPU (N = {report['ksg'][0]['n']}; nats, seconds)", "",
             "| d | metric | CPU | CUDA | abs diff | CPU s | CUDA s |", "|---|---|---|---|---|---|---|"]
    for r in report["ksg"]:
        lines.append(f"| {r['d']} | {r['metric']} | {r['cpu']:.6f} | {r['cuda']:.6f} | {r['abs_diff']:.1e} | "
                     f"{r['cpu_seconds']:.3f} | {r['cuda_seconds']:.3f} |")
    lines += ["", "## Neural bounds on CUDA (bmi protocol, multinormal-sparse-5-5-2-2.0, N = 5000)", "",
              "| estimator | estimate [nats] | truth | seconds | steps | seed-steps/s, 1 seed | 10 batched seeds |",
              "|---|---|---|---|---|---|---|"]
    for r in report["neural"]:
        batched = [q for q in r["rates"] if "unbatched_kernel" not in q]
        one, ten = batched[0]["seed_steps_per_second"], batched[-1]["seed_steps_per_second"]
        lines.append(f"| {r['estimator']} | {r['estimate']:.4f} | {r['truth']:.4f} | {r['seconds']:.1f} | "
                     f"{r['n_steps']} | {one:.0f} | {ten:.0f} |")
    m = report["mienf"]
    lines += ["", f"MIENF ({m['estimator']}, N = 10^4): {m['estimate']:.4f} nats (truth {m['truth']:.4f}) "
              f"in {m['seconds']:.1f} s on {m['device']}.", ""]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not torch.cuda.is_available():
        print("gpu-check: skipped: no CUDA device here (torch.cuda.is_available() is False)")
        return 0
    out = Path(argv[0] if argv else "results/gpu")
    out.mkdir(parents=True, exist_ok=True)
    report = collect("cuda")
    (out / "gpu_check.json").write_text(json.dumps(report, indent=1))
    (out / "gpu_check.md").write_text(markdown(report))
    print(markdown(report))
    bad = [r for r in report["ksg"] if not r["abs_diff"] <= TOL]
    if bad:
        print(f"gpu-check: KSG on CUDA differs from CPU by more than {TOL}: {bad}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
