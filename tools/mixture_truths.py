"""Recompute the Monte-Carlo truths of the mixtures suite (tasks/mixtures.py: MC_TRUTHS).

    .venv/bin/python tools/mixture_truths.py [n_points]

Prints a dict literal to paste into tasks/mixtures.py. Seed 2026, default 4 * 10^6 points.
"""

import sys

from mibench.tasks.mixtures import SPECS, mixture_parts

SEED = 2026

if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 4_000_000
    print("MC_TRUTHS = {")
    for task_id in SPECS:
        mix, _ = mixture_parts(task_id)
        mi, se = mix.mc_mutual_information(n, SEED)
        print(f"    {task_id!r}: ({mi:.6f}, {se:.6f}),", flush=True)
    print("}")
