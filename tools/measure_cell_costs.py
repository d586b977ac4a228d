"""Rebuild mibench/presets/cell_costs.csv (what `mibench list presets` estimates costs from) from the
committed results: the median seconds per cell of every estimator at every sample size, over
results/**/rows.csv (every row), and for results folders without one, their leaderboard.csv (mean
seconds per task and configuration). Run from the repository root: python tools/measure_cell_costs.py"""

from pathlib import Path

import pandas as pd

from mibench.execution.preset_cost import COSTS_CSV, measure_costs
from mibench.execution.rows_csv import read_rows_csv

ROOT = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    files = sorted((ROOT / "results").glob("**/rows.csv"))
    frames = [read_rows_csv(f) for f in files]
    for board in sorted((ROOT / "results").glob("**/leaderboard.csv")):
        if not (board.parent / "rows.csv").is_file():
            lb = pd.read_csv(board)
            frames.append(pd.DataFrame({"estimator": lb.estimator, "estimator_name": lb.estimator.str.split(":").str[0],
                                        "n": lb.n, "seconds": lb.seconds, "status": "ok"}))
            files.append(board)
    if not frames:
        raise SystemExit("no results/**/rows.csv or leaderboard.csv to measure")
    rows = pd.concat(frames, ignore_index=True)
    table = measure_costs(rows)
    table.to_csv(COSTS_CSV, index=False, float_format="%.4g")
    print(f"{COSTS_CSV}: {len(table)} (estimator, n) costs from {len(rows)} rows of {len(files)} file(s)")
