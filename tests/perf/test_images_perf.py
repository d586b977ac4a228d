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
    # flow=ae: the vector flow on 4-d codes; its autoencoders' own steps/s in the "AE steps/s" column
    ("images 16x16 ae", "img", 16, "ae", 20, 220),
    ("images 32x32 ae", "img", 32, "ae", 20, 220),
]
AE_STEPS = (10, 60)  # autoencoder steps (flow=ae) of the two timed runs of the AE rate
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

    def seconds(**kw):
        t0 = time.perf_counter()
        MIENF(flow=flow, eval_every=10**6, device="cpu", **kw).estimate(x, y)
        return time.perf_counter() - t0

    # rates from the difference of two runs, so fixed costs (data, PCA, held-out pass) cancel
    fixed = {"ae_steps": AE_STEPS[0]} if flow == "ae" else {}
    flow_rate = (steps_b - steps_a) / max(seconds(steps=steps_b, **fixed) - seconds(steps=steps_a, **fixed), 1e-9)
    ae_rate = None
    if flow == "ae":  # a fit trains two autoencoders: steps of one autoencoder per second
        dt = seconds(steps=steps_a, ae_steps=AE_STEPS[1]) - seconds(steps=steps_a, ae_steps=AE_STEPS[0])
        ae_rate = 2 * (AE_STEPS[1] - AE_STEPS[0]) / max(dt, 1e-9)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cuda = None
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
        MIENF(flow=flow, steps=steps_a, device="cuda", **fixed).estimate(x, y)
        cuda = torch.cuda.max_memory_allocated() / 2**20
    return {"steps_per_s": flow_rate, "ae_steps_per_s": ae_rate, "peak_rss_mb": peak, "rss_after_data_mb": rss0,
            "cuda_peak_mb": cuda,
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
    print(f"{'configuration':<20}{'steps/s':>10}{'vs first':>10}{'AE steps/s':>12}{'peak RSS MB':>13}"
          f"{'data MB':>9}{'CUDA MB':>9}")
    for label, r in _rows.items():
        cuda = "-" if r["cuda_peak_mb"] is None else f"{r['cuda_peak_mb']:.0f}"
        ae = "-" if r["ae_steps_per_s"] is None else f"{r['ae_steps_per_s']:.1f}"
        print(f"{label:<20}{r['steps_per_s']:>10.2f}{r['steps_per_s'] / base:>10.3f}{ae:>12}{r['peak_rss_mb']:>13.0f}"
              f"{r['rss_after_data_mb']:>9.0f}{cuda:>9}")
