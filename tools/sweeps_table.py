"""The two summary tables of the sweeps protocol (README, docs/protocols.md) from its rows.

Usage: python tools/sweeps_table.py [curves|error-vs-n] [results/sweeps/rows.csv]

``curves``: per estimator and curve (the dense Gaussian at d x d, plain / half-cube / spiral; N = 5000),
the highest MI level up to which the mean over seeds is within 0.1 + 0.1 * truth at every level of the
curve (the image protocol's tolerance), and the level where it first falls outside with its error
(mean - truth, nats; "failed" where every seed failed): "4; 6: -1.27" holds up to 4 nats and is 1.27
low at 6. ``error-vs-n``: per estimator and sample size at 2 nats, the mean absolute error over the
five tasks of the error-vs-N grid (mean over seeds of |estimate - truth|; "(k tasks)" where fewer
ran), and failed cells (N = 5000 is the curves' cell of the same tasks).
"""

import sys
from pathlib import Path

import pandas as pd

from mibench.execution.rows_csv import read_rows_csv

CURVE_N = 5000
ERROR_TASKS = ("sweep-dense-1-2", "sweep-dense-5-2", "sweep-dense-25-2", "half_cube-sweep-dense-5-2",
               "spiral-sweep-dense-5-2")
MAPS = ("sweep", "half_cube", "spiral")  # the plain Gaussian, then its transforms (task id prefixes)


def _curve_of(task_id: str) -> tuple[int, int]:
    """(map index, d) of a sweeps task id such as ``half_cube-sweep-dense-5-4``."""
    parts = task_id.split("-")
    return MAPS.index(parts[0]), int(parts[-2])


def curves(rows: pd.DataFrame) -> str:
    rows = rows[(rows.n == CURVE_N) & rows.task_id.str.contains("sweep-dense-")]
    # a level where every seed failed counts as outside the tolerance (its error reads "failed")
    means = rows.assign(estimate=rows.estimate.where(rows.status == "ok")).groupby(
        ["estimator", "task_id", "truth"]).estimate.mean().reset_index()
    means["curve"] = means.task_id.map(_curve_of)
    cols = sorted(means.curve.unique())
    label = lambda c: f"{MAPS[c[0]].replace('sweep', 'plain').replace('_', '-')} {c[1]}x{c[1]}"  # noqa: E731
    out = ["| estimator | " + " | ".join(label(c) for c in cols) + " |", "|---|" + "---|" * len(cols)]
    for est in sorted(means.estimator.unique()):
        cells = []
        for c in cols:
            g = means[(means.estimator == est) & (means.curve == c)].sort_values("truth")
            if g.empty:
                cells.append("-")
                continue
            err = g.estimate - g.truth
            bad = ~(err.abs() <= 0.1 + 0.1 * g.truth).to_numpy()  # NaN (all seeds failed) is outside
            if not bad.any():
                cells.append(f"all ({g.truth.max():g})")
                continue
            first = int(bad.argmax())
            held = f"{g.truth.iloc[first - 1]:g}" if first else "none"
            miss = "failed" if pd.isna(err.iloc[first]) else f"{err.iloc[first]:+.2f}"
            cells.append(f"{held}; {g.truth.iloc[first]:g}: {miss}")
        out.append(f"| `{est}` | " + " | ".join(cells) + " |")
    return "\n".join(out)


def error_vs_n(rows: pd.DataFrame) -> str:
    rows = rows[rows.task_id.isin(ERROR_TASKS)]
    rows = rows[rows.groupby("estimator").n.transform("nunique") >= 2]  # the error-vs-N grid's estimators
    sizes = sorted(rows.n.unique())
    out = ["| estimator | " + " | ".join(f"N = {n:g}" for n in sizes) + " |", "|---|" + "---:|" * len(sizes)]
    for est, g in rows.groupby("estimator"):
        cells = []
        for n in sizes:
            at = g[g.n == n]
            ok = at[at.status == "ok"]
            if at.empty:
                cells.append("-")
                continue
            mae = (ok.estimate - ok.truth).abs().groupby(ok.task_id).mean()
            failed = len(at) - len(ok)
            partial = f" ({len(mae)} tasks)" if len(mae) < len(ERROR_TASKS) else ""
            value = f"{mae.mean():.3f}" if len(mae) else "-"
            cells.append(value + partial + (f", {failed} failed" if failed else ""))
        out.append(f"| `{est}` | " + " | ".join(cells) + " |")
    return "\n".join(out)


if __name__ == "__main__":
    args = sys.argv[1:]
    kind = args.pop(0) if args and args[0] in ("curves", "error-vs-n") else "curves"
    path = Path(args[0]) if args else Path(__file__).resolve().parents[1] / "results" / "sweeps" / "rows.csv"
    data = read_rows_csv(path)
    print(curves(data) if kind == "curves" else error_vs_n(data))
