"""Empirical coverage of mibench's intervals on Gaussian pairs with closed-form MI (docs/uncertainty.md).

For each (estimator, rho, dim, n): R independent samples (seeds 1000...), the share of intervals
that contain the true MI -dim/2 log(1 - rho^2), their mean width and the estimator's mean error.
``boot`` specs are run once per sample and scored with each interval form (normal, basic,
percentile) computed from the same replicates.

    .venv/bin/python tools/interval_coverage.py --samples 400 > coverage.md
    .venv/bin/python tools/interval_coverage.py --neural --samples 20 > coverage-neural.md
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np
from mibench.estimators.boot import INTERVALS, interval_from_roots

import mibench
from mibench.core.testing import gaussian_pairs

CASES = [  # (spec, rho, dim, n)
    ("gaussian", 0.5, 1, 300), ("gaussian", 0.1, 1, 300), ("gaussian", 0.5, 3, 1000),
    ("boot:est=gaussian", 0.5, 1, 300), ("boot:est=gaussian", 0.1, 1, 300), ("boot:est=gaussian", 0.5, 3, 1000),
    ("boot:est=gaussian,method=bootstrap", 0.5, 1, 300), ("boot:est=gaussian,method=bootstrap", 0.1, 1, 300),
    ("boot:est=ksg", 0.5, 1, 1000), ("boot:est=ksg", 0.1, 1, 1000),
    ("boot:est=ksg,method=bootstrap", 0.5, 1, 1000),
]
#: the neural bounds' held-out bootstrap (``--neural``; one training per sample, BMI's protocol)
NEURAL_CASES = [("infonce", 0.8, 1, 1000), ("nwj", 0.8, 1, 1000), ("dv", 0.8, 1, 1000)]


def run_case(spec: str, rho: float, dim: int, n: int, samples: int) -> list[dict]:
    est = mibench.get_estimator(spec)
    forms = INTERVALS if spec.startswith("boot") else ("native",)
    hits = {f: 0 for f in forms}
    widths = {f: [] for f in forms}
    errors = []
    t0 = time.perf_counter()
    for s in range(samples):
        x, y, truth = gaussian_pairs(n, rho, dim, 1000 + s)
        value, info = mibench.call_estimator(est, x, y)
        errors.append(value - truth)
        for f in forms:
            if f == "native":
                ci = info["ci"]
            else:
                root = info["scale"] * (np.asarray(info["replicates"]) - value)
                ci = interval_from_roots(value, root, info["ci"]["level"], f)
            hits[f] += ci["low"] <= truth <= ci["high"]
            widths[f].append(ci["high"] - ci["low"])
    seconds = time.perf_counter() - t0
    return [{"spec": spec, "interval": f, "rho": rho, "dim": dim, "n": n, "truth": -0.5 * dim * math.log(1 - rho**2),
             "bias": float(np.mean(errors)), "sd": float(np.std(errors, ddof=1)), "coverage": hits[f] / samples,
             "width": float(np.mean(widths[f])), "samples": samples, "seconds": seconds} for f in forms]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=400, help="independent samples per case (default 400)")
    p.add_argument("--only", default=None, help="run only the cases whose spec contains this text")
    p.add_argument("--neural", action="store_true", help="run the neural cases instead (slow: one training each)")
    args = p.parse_args(argv)
    if args.neural:
        import torch

        torch.set_num_threads(1)
    band = 3 * math.sqrt(0.95 * 0.05 / args.samples)
    print(f"nominal 0.95; {args.samples} samples per case (a correct interval's coverage lies within "
          f"+-{band:.3f} with probability ~0.997)\n")
    print("| estimator | interval | rho | dim | n | truth | bias | sd | coverage | mean width | seconds |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for spec, rho, dim, n in NEURAL_CASES if args.neural else CASES:
        if args.only and args.only not in spec:
            continue
        for r in run_case(spec, rho, dim, n, args.samples):
            print(f"| `{r['spec']}` | {r['interval']} | {r['rho']} | {r['dim']} | {r['n']} | {r['truth']:.4f} | "
                  f"{r['bias']:+.4f} | {r['sd']:.4f} | {r['coverage']:.3f} | {r['width']:.4f} | {r['seconds']:.0f} |")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
