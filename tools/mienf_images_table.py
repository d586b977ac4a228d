"""The MIENF image table of issue 16 (README, docs/images.md) from the rows of the mienf-images protocol.

Usage: python tools/mienf_images_table.py [--compact] [--size 16|32] [results/mienf-images/rows.csv]
Prints a markdown table of the 16 x 16 images (``--size 32``: of 32 x 32; ``--compact``: one row per MI
level, bumps and rectangles side by side, as in the README): per task and MIENF spec, the estimate of
every seed, their mean and standard deviation (over the data seeds; the estimator's own seed, which
fixes its split and initialisation, is 0 as in every harness cell), the tolerance 0.1 + 0.1 * truth
and whether the mean is within it, and the CPU minutes per fit.
"""

from pathlib import Path

from mibench.execution.rows_csv import read_rows_csv

SPECS = ("mienf", "mienf:target=tridiag", "mienf:flow=ae")


def table(rows, size: int = 16) -> str:
    rows = rows[rows.estimator.isin(SPECS) & rows.task_id.str.match(rf"image-(gauss|rect)-{size}-")]
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


def compact(rows, size: int = 16) -> str:
    rows = rows[(rows.status == "ok") & rows.task_id.str.match(rf"image-(gauss|rect)-{size}-")]
    kinds = (("gauss", "mienf", "bumps, `mienf`"), ("gauss", "mienf:target=tridiag", "bumps, `mienf:target=tridiag`"),
             ("rect", "mienf:flow=ae", "rectangles, `mienf:flow=ae`"))
    head = "| truth [nats] | tolerance |" + "".join(f" {label}: mean ± std (seeds) | within |" for *_, label in kinds)
    out = [head, "|---:|---:|" + "---:|:---:|" * len(kinds)]
    for truth in sorted(rows.truth.unique()):
        tol = 0.1 + 0.1 * truth
        line = f"| {truth:g} | {tol:.2f} |"
        for kind, spec, _ in kinds:
            est = rows[rows.task_id.str.startswith(f"image-{kind}-{size}-") & (rows.truth == truth)
                       & (rows.estimator == spec)].estimate
            if est.empty:
                line += " - | - |"
                continue
            std = f"{est.std(ddof=1):.3f}" if len(est) > 1 else "-"
            within = "yes" if abs(est.mean() - truth) <= tol else f"no ({est.mean() - truth:+.2f})"
            line += f" {est.mean():.3f} ± {std} ({len(est)}) | {within} |"
        out.append(line)
    return "\n".join(out)


if __name__ == "__main__":
    import argparse

    p = argparse.ArgumentParser(description="the MIENF image table from the mienf-images rows")
    p.add_argument("rows", nargs="?", default="results/mienf-images/rows.csv")
    p.add_argument("--compact", action="store_true")
    p.add_argument("--size", type=int, choices=(16, 32), default=16)
    args = p.parse_args()
    rows = read_rows_csv(Path(args.rows))
    print(compact(rows, args.size) if args.compact else table(rows, args.size))
