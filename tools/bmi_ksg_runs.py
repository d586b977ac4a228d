"""Runs of the BMI package's KSG (benchmark-mi's ``KSGEnsembleFirstEstimator``) on samples mibench wrote,
for the side-by-side speed comparison in tests/perf/test_classical_perf.py. Standalone: it needs
only numpy and bmi, and runs in BMI's own environment (``$MIBENCH_BMI_PYTHON``, default
/work/bmivenv/bin/python).

    python tools/bmi_ksg_runs.py SAMPLES.npz

SAMPLES.npz holds x_<name>, y_<name>. The script warms up once (a small estimate with each metric),
prints ``ready``, then for each line ``<name> <metric> <k>`` on stdin runs
``KSGEnsembleFirstEstimator(neighborhoods=(k,), standardize=True, metric_x=metric)`` (BMI's
defaults otherwise: n_jobs=1, chunk_size=10) on that sample and prints one JSON line: name,
metric, k, estimate, wall and CPU seconds of the call.
"""

import json
import sys
import time

import numpy as np
from bmi.estimators import KSGEnsembleFirstEstimator


def main(path: str) -> None:
    data = np.load(path)
    rng = np.random.default_rng(0)
    for metric in ("euclidean", "chebyshev"):
        KSGEnsembleFirstEstimator(neighborhoods=(5,), metric_x=metric).estimate(
            rng.standard_normal((200, 2)), rng.standard_normal((200, 2)))
    print("ready", flush=True)
    for line in sys.stdin:
        name, metric, k = line.split()
        x, y = data[f"x_{name}"], data[f"y_{name}"]
        est = KSGEnsembleFirstEstimator(neighborhoods=(int(k),), standardize=True, metric_x=metric)
        wall, cpu = time.perf_counter(), time.process_time()
        value = est.estimate(x, y)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(json.dumps({"name": name, "metric": metric, "k": int(k), "estimate": float(value),
                          "wall_seconds": wall, "cpu_seconds": cpu}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
