"""Generates tests/data/ksg_bmi_reference.npz ONCE with the BMI package (a side environment):

    /work/bmienv/bin/python tests/data/make_ksg_bmi_reference.py

BMI (benchmark-mi 0.1.3) is a reference, not a dependency: the test only reads the stored values.
Data: correlated Gaussians with positive MI (BMI clips its estimates at 0).
"""

import json
from pathlib import Path

import bmi
import numpy as np

CONFIGS = [("a", 1, 1, 400), ("b", 2, 3, 400), ("c", 5, 5, 300), ("d", 8, 8, 300)]
KS = (1, 3, 5, 10)
METRICS = ("euclidean", "chebyshev")

rng = np.random.default_rng(20240605)
arrays, values = {}, {}
for name, dx, dy, n in CONFIGS:
    x = rng.standard_normal((n, dx)) * rng.uniform(0.5, 3.0, dx)
    y = 0.8 * x[:, :1] @ np.ones((1, dy)) + rng.standard_normal((n, dy))
    arrays[f"x_{name}"], arrays[f"y_{name}"] = x, y
    for metric in METRICS:
        for k in KS:
            est = bmi.estimators.KSGEnsembleFirstEstimator(neighborhoods=(k,), metric_x=metric)
            values[f"{name}/{metric}/{k}"] = float(est.estimate(x, y))
arrays["values_json"] = np.array(json.dumps(values, sort_keys=True))
out = Path(__file__).with_name("ksg_bmi_reference.npz")
np.savez_compressed(out, **arrays)
print(json.dumps(values, indent=1))
