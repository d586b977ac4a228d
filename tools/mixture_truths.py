"""Recompute the Monte-Carlo truths of the mixtures suite (tasks/mixtures.py: MC_TRUTHS).

    .venv/bin/python tools/mixture_truths.py [n_points] [task_id ...]

Prints dict entries to paste into tasks/mixtures.py (seed 2026; default 10^6 points, all tasks).
"""

import sys

from mibench.tasks.mixtures import SPECS, mixture_parts

SEED = 2026

if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    ids = sys.argv[2:] or list(SPECS)
    for task_id in ids:
        mix, _ = mixture_parts(task_id)
        mi, se = mix.mc_mutual_information(n, SEED)
        print(f"    {task_id!r}: ({mi:.6f}, {se:.6f}),  # n = {n:.0e}", flush=True)
