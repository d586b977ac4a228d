"""The ``mibench`` command line. User errors print one line and exit 2."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mibench.errors import MibenchError


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except MibenchError as exc:
        print(f"mibench: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `mibench list tasks | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("mibench: interrupted; finished cells are in the store, re-run to resume", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mibench", description="Benchmark mutual-information estimators (nats).")
    sub = p.add_subparsers(dest="command", required=True)

    ls = sub.add_parser("list", help="show registered tasks, estimators or suites")
    ls.add_argument("what", choices=["tasks", "estimators", "suites", "presets"])
    ls.add_argument("--suite", help="only the tasks of this suite")
    ls.set_defaults(func=cmd_list)

    r = sub.add_parser("run", help="run a grid of tasks x estimators x n x seeds into a store")
    _grid_args(r)
    r.add_argument("--executor", choices=["local", "ray"], default="local")
    r.add_argument("--address", help="Ray cluster address (with --executor ray)")
    r.set_defaults(func=cmd_run)

    b = sub.add_parser("bench", help="run a preset and write leaderboards to a folder")
    b.add_argument("--preset", default="quick")
    b.add_argument("--out", default="results",
                   help="folder for leaderboard.md/.csv/.html, report.html and figures/ (default results)")
    b.add_argument("--store", help="SQLite store (default OUT/PRESET.sqlite)")
    b.add_argument("--workers", type=int)
    b.set_defaults(func=cmd_bench)

    e = sub.add_parser("export", help="write every stored row as CSV to stdout")
    e.add_argument("--store", required=True)
    e.set_defaults(func=cmd_export)

    lb = sub.add_parser("leaderboard", help="per-task metrics and the overall ranking")
    lb.add_argument("--store", required=True)
    lb.add_argument("--format", default="md", choices=["md", "csv", "html"])
    lb.add_argument("--out", help="file to write (default stdout)")
    lb.set_defaults(func=cmd_leaderboard)

    rp = sub.add_parser("report", help="a self-contained HTML report with figures from a store")
    rp.add_argument("--store", required=True)
    rp.add_argument("--out", required=True, help="folder for report.html and figures/")
    rp.add_argument("--staircase", help="CSV written by `mibench staircase`, plotted when given")
    rp.set_defaults(func=cmd_report)

    c = sub.add_parser("check", help="CI accuracy gate against results/baseline.csv")
    c.add_argument("--update", action="store_true", help="rewrite the baseline from this run")
    c.add_argument("--baseline", default="results/baseline.csv")
    c.add_argument("--preset", default="check")
    c.add_argument("--workers", type=int)
    c.set_defaults(func=cmd_check)

    s = sub.add_parser("staircase", help="streaming staircase: per-step estimates while the true MI steps up")
    s.add_argument("--estimator", action="append", required=True, metavar="SPEC",
                   help="estimator spec with a streaming hook, e.g. infonce (repeatable; preset=staircase "
                        "unless the spec names a preset)")
    s.add_argument("--steps-per-level", type=int, default=4000, metavar="K")
    s.add_argument("--levels", type=float, nargs="+", metavar="MI", help="MI levels in nats (default 2 4 6 8 10)")
    s.add_argument("--dim", type=int, help="number of Gaussian pairs (default 20)")
    s.add_argument("--cubic", action="store_true", help="apply y -> y^3 (same MI)")
    s.add_argument("--seed", type=int, default=0, help="seed of the data stream (default 0)")
    s.add_argument("--out", help="CSV file for the per-step rows")
    s.add_argument("--store", help="SQLite store: rows go to its staircase table")
    s.set_defaults(func=cmd_staircase)
    return p


def _grid_args(r: argparse.ArgumentParser) -> None:
    r.add_argument("--preset", help="a named preset (see `mibench list presets`) or a TOML file")
    r.add_argument("--suite", action="append", default=[], help="suite name (repeatable)")
    r.add_argument("--task", action="append", default=[], help="task id (repeatable)")
    r.add_argument("--estimator", action="append", default=[], metavar="SPEC",
                   help="estimator spec, e.g. ksg:k=5 (repeatable)")
    r.add_argument("--n", action="append", type=int, default=[], help="sample size (repeatable)")
    g = r.add_mutually_exclusive_group()
    g.add_argument("--seeds", type=int, help="number of seeds K: seeds 0..K-1 (default 5)")
    g.add_argument("--seed", action="append", type=int, help="an explicit seed (repeatable)")
    r.add_argument("--store", default="results/mibench.sqlite", help="SQLite store path")
    r.add_argument("--workers", type=int, help="worker processes (default: number of cores)")
    r.add_argument("--timeout", type=float, help="seconds per cell before it becomes a timeout row")
    r.add_argument("--retry-failed", action="store_true", help="run failed/timeout cells again")
    r.add_argument("--no-progress", action="store_true")


def cmd_list(args) -> int:
    import mibench
    from mibench import registry
    from mibench.presets import list_presets, load_preset

    if args.what == "estimators":
        for p in registry.estimator_plugins():
            state = f"BROKEN: {p.error}" if p.error else ""
            print(f"{p.name:<16} {p.source:<28} {state}".rstrip())
    elif args.what == "suites":
        for p in registry.suite_plugins():
            if p.error:
                print(f"{p.name:<12} {p.source:<28} BROKEN: {p.error}")
            else:
                print(f"{p.name:<12} {p.source:<28} {len(registry.suite_tasks(p.name))} tasks")
    elif args.what == "presets":
        for name in list_presets():
            print(f"{name:<10} {load_preset(name).get('description', '')}")
    else:
        print(f"{'id':<48} {'family':<20} {'dim_x':>6} {'dim_y':>6} {'MI [nats]':>12} {'stderr':>8}")
        for t in mibench.list_tasks(args.suite):
            s = t.summary()
            se = "" if s["mi_stderr"] is None else f"{s['mi_stderr']:.4f}"
            print(f"{s['id']:<48} {s['family']:<20} {s['dim_x']!s:>6} {s['dim_y']!s:>6} {s['mi']:>12.6f} {se:>8}")
    return 0


def cmd_run(args) -> int:
    import pandas as pd

    from mibench.presets import grids, load_preset, run_kwargs
    from mibench.runner import run

    # command-line options override every grid of the preset
    base = grids(load_preset(args.preset)) if args.preset else [{"estimators": [], "n": [1000], "seeds": 5}]
    frames = []
    for grid in base:
        kwargs = run_kwargs(grid)
        if args.task or args.suite:
            kwargs["tasks"], kwargs["suite"] = args.task or None, args.suite or None
        if args.estimator:
            kwargs["estimators"] = args.estimator
        if args.n:
            kwargs["n"] = args.n
        if args.seeds is not None or args.seed:
            kwargs["seeds"] = args.seeds if args.seeds is not None else args.seed
        if args.timeout is not None:
            kwargs["timeout"] = args.timeout
        frames.append(run(**kwargs, store=args.store, workers=args.workers, retry_failed=args.retry_failed,
                          progress=False if args.no_progress else None, executor=args.executor,
                          address=args.address))
    rows = pd.concat(frames, ignore_index=True).drop_duplicates(["task_id", "estimator", "n", "seed"])
    failed = int((rows["status"] != "ok").sum())
    print(f"{len(rows)} cells in {args.store} ({failed} failed)")
    return 0


def cmd_bench(args) -> int:
    from mibench.leaderboard import render
    from mibench.presets import load_preset, run_preset

    out = Path(args.out)
    store = args.store or str(out / f"{Path(args.preset).stem}.sqlite")
    preset = load_preset(args.preset)
    rows = run_preset(preset, store=store, workers=args.workers)
    if preset.get("staircase"):
        _bench_staircase(preset["staircase"], store)
    out.mkdir(parents=True, exist_ok=True)
    for fmt in ("md", "csv", "html"):
        (out / f"leaderboard.{fmt}").write_text(render(rows, fmt))
    from mibench.report import build_report

    report = build_report(store, out)
    failed = int((rows["status"] != "ok").sum())
    print(f"{len(rows)} cells ({failed} failed) in {store}; leaderboards in {out}/leaderboard.{{md,csv,html}}; "
          f"report {report}; figures in {out}/figures")
    return 0


def _bench_staircase(cfg: dict, store: str) -> None:
    """The preset's streaming staircase into the store's staircase table (skipped when already there)."""
    from mibench.staircase import run_staircase, staircase_spec, write_staircase_store
    from mibench.store import Store

    steps = int(cfg.get("steps_per_level", 4000))
    with Store(store) as db:
        done = db.staircase_frame()
    for spec in cfg.get("estimators", []):
        text = staircase_spec(spec).text
        if ((done.estimator == text) & (done.steps_per_level == steps)).any():
            continue
        rows, _ = run_staircase(spec, levels=cfg.get("levels"), steps_per_level=steps, seed=int(cfg.get("seed", 0)))
        write_staircase_store(store, rows)


def cmd_export(args) -> int:
    from mibench.store import JSON_COLUMNS, open_existing

    with open_existing(args.store) as db:
        df = db.dataframe()
    for c in JSON_COLUMNS:
        df[c] = df[c].map(lambda v: json.dumps(v, sort_keys=True))
    df.to_csv(sys.stdout, index=False)
    return 0


def cmd_leaderboard(args) -> int:
    from mibench.leaderboard import render
    from mibench.store import open_existing

    with open_existing(args.store) as db:
        text = render(db.dataframe(), args.format)
    if args.out:
        Path(args.out).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def cmd_report(args) -> int:
    from mibench.report import build_report

    print(build_report(args.store, args.out, staircase_csv=args.staircase))
    return 0


def cmd_check(args) -> int:
    from mibench.check import check

    code, text = check(preset=args.preset, baseline=Path(args.baseline), update=args.update, workers=args.workers)
    print(text)
    return code


def cmd_staircase(args) -> int:
    import pandas as pd

    from mibench.staircase import run_staircase, staircase_summary, write_staircase_store

    if args.steps_per_level < 1:
        raise MibenchError(f"--steps-per-level must be >= 1, got {args.steps_per_level}")
    if args.seed < 0:
        raise MibenchError(f"--seed must be >= 0, got {args.seed}")
    if args.levels is not None and any(v < 0 for v in args.levels):
        raise MibenchError("--levels must be non-negative MI values in nats")
    frames = []
    for spec in args.estimator:
        rows, info = run_staircase(spec, levels=args.levels, steps_per_level=args.steps_per_level, seed=args.seed,
                                   dim=args.dim, cubic=args.cubic)
        secs = info.get("train_seconds")
        print(f"{rows['estimator'].iloc[0]}: {len(rows)} steps on {info.get('device', '?')}"
              + (f" in {secs:.1f} s" if secs is not None else ""), file=sys.stderr)
        frames.append(rows)
        # written after every estimator, so a long multi-estimator run keeps what has finished
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            pd.concat(frames, ignore_index=True).to_csv(args.out, index=False)
        if args.store:
            write_staircase_store(args.store, rows)
    print(staircase_summary(pd.concat(frames, ignore_index=True)).to_markdown(floatfmt=".3f"))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
