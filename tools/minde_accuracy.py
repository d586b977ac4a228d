"""Accuracy of minde (variants c and j) at N = 10^4 through the harness (long: run niced in the background).

Usage: python tools/minde_accuracy.py [--seeds K] [--n N] [--store PATH] [--tasks ID,ID,...] [--retry-failed]
Runs ``mibench.run`` (one worker, results kept in the store, so a rerun only computes missing
cells) and prints a Markdown table: task, truth, spec, mean +- std over seeds, per-seed
estimates, wall seconds per estimate (nats throughout). Vector tasks use ``minde:variant=c|j``
(default MLP budget), the image task ``minde:variant=c|j,net=conv`` (default conv budget).
"""

from __future__ import annotations

import argparse

import mibench

VECTOR_TASKS = ["multinormal-sparse-5-5-2-2.0", "spiral-multinormal-sparse-5-5-2-2.0", "multinormal-dense-25-25-0.5"]
IMAGE_TASKS = ["image-gauss-16-1.0"]
VARIANTS = ("c", "j")


def specs_for(task_id: str, variants=VARIANTS) -> list[str]:
    net = ",net=conv" if task_id in IMAGE_TASKS or task_id.startswith("image-") else ""
    return [f"minde:variant={v}{net}" for v in variants]


def table(rows) -> str:
    out = ["| task | truth (nats) | spec | mean ± std (nats) | estimates (seeds) | wall s / estimate "
           "| CPU s / estimate |", "|---|---|---|---|---|---|---|"]
    for (task, spec), g in rows.groupby(["task_id", "estimator"], sort=False):
        ok = g[g["status"] == "ok"].sort_values("seed")
        if ok.empty:
            out.append(f"| {task} | {g['truth'].iloc[0]:.4f} | `{spec}` | failed: {g['error'].iloc[0]} | | | |")
            continue
        est = ok["estimate"].to_numpy()
        sd = est.std(ddof=1) if len(est) > 1 else float("nan")
        out.append(f"| {task} | {ok['truth'].iloc[0]:.4f} | `{spec}` | {est.mean():.3f} ± {sd:.3f} | "
                   f"{', '.join(f'{v:.3f}' for v in est)} | {ok['seconds'].mean():.0f} "
                   f"| {ok['cpu_seconds'].mean():.0f} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--store", default="/tmp/minde_accuracy.sqlite")
    ap.add_argument("--tasks", default=",".join(VECTOR_TASKS + IMAGE_TASKS))
    ap.add_argument("--seed-list", default=None, help="explicit seeds, e.g. 1,2 (overrides --seeds)")
    ap.add_argument("--variants", default="c,j")
    ap.add_argument("--report", nargs="+", default=None, metavar="STORE",
                    help="only print the table of the rows in these stores (no runs)")
    ap.add_argument("--retry-failed", action="store_true", help="rerun cells stored as failed (e.g. interrupted)")
    args = ap.parse_args()
    import pandas as pd

    if args.report:
        import json
        import sqlite3
        from pathlib import Path

        uris = [f"{Path(p).resolve().as_uri()}?mode=ro" for p in args.report if Path(p).is_file()]
        rows = pd.concat([pd.read_sql("SELECT * FROM results WHERE superseded = 0", sqlite3.connect(u, uri=True))
                          for u in uris], ignore_index=True)
        rows = rows[rows["estimator"].str.startswith("minde")]
        rows["cpu"] = rows["cpu_seconds"]
        rows["info"] = rows["info"].map(lambda t: json.loads(t) if t else {})
        rows = rows.drop_duplicates(["task_id", "estimator", "seed"], keep="last")
        order = {t: i for i, t in enumerate(VECTOR_TASKS + IMAGE_TASKS)}
        rows = rows.sort_values(["task_id", "estimator", "seed"],
                                key=lambda c: c.map(order) if c.name == "task_id" else c)
        print(table(rows))
        return
    seeds = [int(s) for s in args.seed_list.split(",")] if args.seed_list else args.seeds
    frames = []
    for task_id in args.tasks.split(","):
        frame = mibench.run([task_id], estimators=specs_for(task_id, args.variants.split(",")), n=args.n, seeds=seeds,
                            store=args.store, workers=1, progress=False,
                            retry_failed=args.retry_failed)
        frames.append(frame)
        print(table(frame), flush=True)
    rows = pd.concat(frames, ignore_index=True)
    print("\n## all tasks\n")
    print(table(rows), flush=True)


if __name__ == "__main__":
    main()
