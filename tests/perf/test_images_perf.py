"""Perf (``make perf``): mienf training steps per second and peak memory, on vectors (dims 5, 25)
and on 16x16 / 32x32 images, measured side by side in one run (each configuration in a fresh
spawned process so that peak resident memory is its own). Prints a table; asserts nothing about speed."""

import multiprocessing as mp
import resource
import time

import pytest

CONFIGS = [  # (label, kind, size, flow, steps_a, steps_b); flow "auto" is the default (pca for images)
    ("vectors d=5+5", "vec", 5, "auto", 20, 220),
    ("vectors d=25+25", "vec", 25, "auto", 20, 220),
    ("images 16x16 pca", "img", 16, "auto", 20, 220),
    ("images 32x32 pca", "img", 32, "auto", 20, 220),
    ("images 16x16 glow", "img", 16, "glow", 5, 25),
    ("images 32x32 glow", "img", 32, "glow", 3, 13),
]
N = 4096
_rows: dict[str, dict] = {}


def _measure(kind, size, flow, steps_a, steps_b, threads):
    import numpy as np
    import torch
    from mibench.estimators.mienf import MIENF

    import mibench

    torch.set_num_threads(threads)
    if kind == "vec":
        x, y = mibench.get_task(f"multinormal-dense-{size}-{size}-0.5").sample(N, 0)
    else:
        x, y = mibench.get_task(f"image-gauss-{size}-5.0").sample(N, 0)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    times = []
    for steps in (steps_a, steps_b):
        t0 = time.perf_counter()
        MIENF(flow=flow, steps=steps, eval_every=10**6, device="cpu").estimate(x, y)
        times.append(time.perf_counter() - t0)
    rate = (steps_b - steps_a) / max(times[1] - times[0], 1e-9)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cuda = None
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
        MIENF(flow=flow, steps=steps_a, device="cuda").estimate(x, y)
        cuda = torch.cuda.max_memory_allocated() / 2**20
    return {"steps_per_s": rate, "peak_rss_mb": peak, "rss_after_data_mb": rss0, "cuda_peak_mb": cuda,
            "x_bytes_mb": np.asarray(x).nbytes / 2**20}


@pytest.mark.perf
@pytest.mark.parametrize("label,kind,size,flow,a,b", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_mienf_training_speed_and_memory(benchmark, label, kind, size, flow, a, b):
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        row = benchmark.pedantic(lambda: pool.apply(_measure, (kind, size, flow, a, b, 1)), rounds=1, iterations=1)
    _rows[label] = row
    assert row["steps_per_s"] > 0


@pytest.mark.perf
def test_mienf_perf_table():
    if not _rows:
        pytest.skip("run together with test_mienf_training_speed_and_memory")
    base = next(iter(_rows.values()))["steps_per_s"]
    print(f"\nmienf default architecture and batch size, N={N}, 1 CPU thread")
    print(f"{'configuration':<20}{'steps/s':>10}{'vs first':>10}{'peak RSS MB':>13}{'data MB':>9}{'CUDA MB':>9}")
    for label, r in _rows.items():
        cuda = "-" if r["cuda_peak_mb"] is None else f"{r['cuda_peak_mb']:.0f}"
        print(f"{label:<20}{r['steps_per_s']:>10.2f}{r['steps_per_s'] / base:>10.3f}{r['peak_rss_mb']:>13.0f}"
              f"{r['rss_after_data_mb']:>9.0f}{cuda:>9}")
