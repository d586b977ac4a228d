"""The MIENF image table of issue 16 (README, docs/images.md) from the rows of the mienf-images protocol.

Usage: python tools/mienf_images_table.py [results/mienf-images/rows.csv]
Prints a markdown table: per task and MIENF spec, the estimate of every seed, their mean and standard
deviation (over the data seeds; the estimator's own seed, which fixes its split and initialisation,
is 0 as in every harness cell), the tolerance 0.1 + 0.1 * truth and whether the mean is within it,
and the CPU minutes per fit.
"""

import sys
from pathlib import Path

from mibench.execution.rows_csv import read_rows_csv

SPECS = ("mienf", "mienf:flow=ae")


def table(rows) -> str:
    rows = rows[rows.estimator.isin(SPECS) & rows.task_id.str.match(r"image-(gauss|rect)-16-")]
    out = ["| task | truth [nats] | estimator | estimate per seed [nats] | mean ± std [nats] | error of the mean "
           "| tolerance | within | CPU min per fit (max) | failed |",
           "|---|---:|---|---|---:|---:|---:|:---:|---:|---:|"]
    keys = rows[["task_id", "truth", "estimator"]].drop_duplicates()
    keys = keys.assign(kind=keys.task_id.str.split("-").str[1]).sort_values(["kind", "truth", "estimator"])
    for k in keys.itertuples():
        cell = rows[(rows.task_id == k.task_id) & (rows.estimator == k.estimator)].sort_values("seed")
        ok = cell[cell.status == "ok"]
        est = ok.estimate
        tol = 0.1 + 0.1 * k.truth
        err = est.mean() - k.truth
        per_seed = ", ".join(f"{v:.3f}" for v in est)
        std = est.std(ddof=1) if len(est) > 1 else float("nan")
        out.append(f"| {k.task_id} | {k.truth:g} | `{k.estimator}` | {per_seed} | {est.mean():.3f} ± {std:.3f} "
                   f"| {err:+.3f} | {tol:.2f} | {'yes' if abs(err) <= tol else '**no**'} "
                   f"| {ok.cpu_seconds.mean() / 60:.1f} ({ok.cpu_seconds.max() / 60:.1f}) | {len(cell) - len(ok)} |")
    return "\n".join(out)


if __name__ == "__main__":
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "results/mienf-images/rows.csv")
    print(table(read_rows_csv(path)))
