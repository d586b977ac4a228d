"""Accuracy runs of mienf / ae on vectors and images (long: run niced in the background).

Usage: python tools/mienf_accuracy.py SPEC TASK [N] [SEED]; prints one line per run (also JSON).
Task ``sparse5-transformed`` is multinormal-sparse-5-5-2-2.0 pushed through smooth invertible maps.
"""

import json
import sys
import time

import numpy as np
import torch

import mibench


def fx(a):  # smooth, strictly increasing coordinate-wise: sinh, then a mixing shear
    b = np.sinh(a)
    b[:, 1:] += 0.5 * np.tanh(b[:, :1])
    return b


def fy(a):  # x + 0.4 sin(x) (derivative >= 0.6), then cube-root-like asinh scaling
    return np.arcsinh(3 * (a + 0.4 * np.sin(a)))


INFO_KEYS = ("closed_form", "refit", "bias_correction", "heldout_logratio", "ci95", "budget")


def get(task_id):
    if task_id == "sparse5-transformed":
        base = mibench.get_task("multinormal-sparse-5-5-2-2.0")
        return base.transformed(fx, fy, id=task_id)
    return mibench.get_task(task_id)


if __name__ == "__main__":
    torch.set_num_threads(1)
    spec, task_id = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    task = get(task_id)
    x, y = task.sample(n, seed)
    est = mibench.get_estimator(spec)
    if task.is_image and not getattr(est, "accepts_images", False):
        x, y = x.reshape(n, -1), y.reshape(n, -1)
    t0 = time.process_time()
    w0 = time.perf_counter()
    value, info = est.estimate_with_info(x, y)
    cpu, wall = time.process_time() - t0, time.perf_counter() - w0
    truth = task.mutual_information
    row = {"spec": spec, "task": task_id, "n": n, "seed": seed, "estimate": value, "truth": truth,
           "abs_err": abs(value - truth), "rel_err": abs(value - truth) / truth, "cpu_min": cpu / 60,
           "curve": info.get("curve", [])[::4],  # every 4th entry: [step, train NLL / dim, closed-form MI]
           "wall_min": wall / 60, **{k: info[k] for k in INFO_KEYS if k in info}}
    print(json.dumps(row), flush=True)
