"""Runs of the BMI package's InfoNCEEstimator (benchmark-mi, JAX) on samples mibench wrote, for the
speed comparison in tests/perf/test_neural_perf.py. Standalone: it needs only numpy and bmi, and
runs in BMI's own environment (``$MIBENCH_BMI_PYTHON``, default /work/bmivenv/bin/python).

    python tools/bmi_infonce_runs.py SAMPLES.npz

SAMPLES.npz holds x_<k>, y_<k> for k = 0, 1, ... The script warms up once (an estimate of 20 steps
on sample 0), prints ``ready``, then for each line ``<k>`` on stdin runs
``InfoNCEEstimator(seed=k, verbose=False)`` with BMI's defaults (critic 16-8, batch 256, up to
10,000 steps, lr 0.1, 50/50 split, evaluation every 250 steps, early stopping) on sample k and
prints one JSON line: seed, estimate, training steps, wall and CPU seconds of the call.
"""

import json
import sys
import time

import numpy as np
from bmi.estimators import InfoNCEEstimator


def main(path: str) -> None:
    data = np.load(path)
    InfoNCEEstimator(max_n_steps=20, verbose=False).estimate(data["x_0"], data["y_0"])
    print("ready", flush=True)
    for line in sys.stdin:
        k = int(line)
        wall, cpu = time.perf_counter(), time.process_time()
        result = InfoNCEEstimator(seed=k, verbose=False).estimate_with_info(data[f"x_{k}"], data[f"y_{k}"])
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        steps = result.additional_information.get("n_training_steps")
        print(json.dumps({"seed": k, "estimate": float(result.mi_estimate), "steps": steps, "wall_seconds": wall,
                          "cpu_seconds": cpu}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
