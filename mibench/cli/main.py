"""The ``mibench`` command line: thin commands over library functions.

A user error prints one line ``mibench: error: ...`` and exits 2; a failure of the harness itself
(worker pool, locked store) prints one line and exits 1; SIGINT and SIGTERM stop the run with
finished cells kept (exit 130). Every registered experiment is a subcommand.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from mibench.core.errors import InfrastructureError, MibenchError
from mibench.core.registry import experiment_plugins


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    previous = _terminate_as_interrupt()
    try:
        return args.func(args) or 0
    except MibenchError as exc:
        print(f"mibench: error: {exc}", file=sys.stderr)
        return 2
    except InfrastructureError as exc:
        print(f"mibench: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `mibench list tasks | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("mibench: interrupted; finished cells are in the store, re-run to resume", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _terminate_as_interrupt():
    """SIGTERM (e.g. from a batch scheduler) stops a run like Ctrl-C does: workers stopped, rows kept."""
    def handler(signum, frame):
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. called from a test thread): leave signals alone
        return None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mibench", description="Benchmark mutual-information estimators (nats).")
    sub = p.add_subparsers(dest="command", required=True)

    ls = sub.add_parser("list", help="show registered tasks, estimators, suites, presets or experiments")
    ls.add_argument("what", choices=["tasks", "estimators", "suites", "presets", "experiments"])
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
    b.add_argument("--executor", choices=["local", "ray"], default="local")
    b.add_argument("--address", help="Ray cluster address (with --executor ray)")
    b.set_defaults(func=cmd_bench)

    e = sub.add_parser("export", help="write every stored row as CSV to stdout")
    e.add_argument("--store", required=True)
    e.add_argument("--superseded", action="store_true", help="also the rows superseded by a recomputation")
    e.set_defaults(func=cmd_export)

    im = sub.add_parser("import", help="add rows written by `mibench export` (a protocol's reference rows) to a store")
    im.add_argument("rows", help="CSV file (e.g. results/bmi-v1/rows.csv)")
    im.add_argument("--store", required=True)
    im.add_argument("--preset", help="the preset the rows come from: its grids become the store's leagues, so that "
                                     "`mibench run --preset P --estimator NEW` ranks NEW against them")
    im.set_defaults(func=cmd_import)

    lb = sub.add_parser("leaderboard", help="per-league rankings and per-task metrics")
    lb.add_argument("--store", required=True)
    lb.add_argument("--format", default="md", choices=["md", "csv", "html", "latex"],
                    help="md, csv (per-cell table), html, or latex (booktabs: mean +- std per task x estimator)")
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

    for plugin in experiment_plugins():
        if plugin.error is not None:
            continue  # `mibench list experiments` shows why
        experiment = plugin.target
        sp = sub.add_parser(plugin.name, help=experiment.description)
        experiment.add_arguments(sp)
        sp.set_defaults(func=experiment.main)
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
    r.add_argument("--workers", type=int, help="worker processes (default and maximum: the number of cores)")
    r.add_argument("--timeout", type=float, help="seconds per cell before it becomes a timeout row")
    r.add_argument("--retry-failed", action="store_true", help="run failed/timeout cells again")
    r.add_argument("--batch-seeds", choices=("auto", "always", "never"), default="auto",
                   help="train the seeds of one (task, estimator, n) as one batched model: auto (where the "
                        "estimator says it pays: neural bounds on CUDA), always, or never")
    r.add_argument("--no-progress", action="store_true")


def cmd_list(args) -> int:
    from mibench.core import registry

    if args.what == "estimators":
        for p in registry.estimator_plugins():
            alias = registry.estimator_alias(p.name)
            state = f"BROKEN: {p.error}" if p.error else (f"alias of {alias}" if alias else "")
            print(f"{p.name:<16} {p.source:<28} {state}".rstrip())
            specs = getattr(p.target, "specs", None)  # a factory may offer named variants (external:name=...)
            if callable(specs):
                try:
                    offered = specs()
                except (OSError, ValueError) as exc:
                    offered = [f"(configuration unreadable: {exc})"]
                for spec in offered:
                    print(f"  {spec}")
    elif args.what == "suites":
        for p in registry.suite_plugins():
            if p.error:
                print(f"{p.name:<12} {p.source:<28} BROKEN: {p.error}")
            else:
                print(f"{p.name:<12} {p.source:<28} {len(registry.suite_tasks(p.name))} tasks")
    elif args.what == "presets":
        from mibench.execution.preset_cost import as_text, describe_presets

        print(f"{'preset':<13} {'cells':>6}        expected cost (from measured cells)  description")
        for line in as_text(describe_presets(), cores=os.cpu_count()):
            print(line)
    elif args.what == "experiments":
        for p in registry.experiment_plugins():
            state = f"BROKEN: {p.error}" if p.error else p.target.description
            print(f"{p.name:<12} {p.source:<28} {state}")
    else:
        print(f"{'id':<48} {'family':<20} {'dim_x':>6} {'dim_y':>6} {'MI [nats]':>12} {'stderr':>8}")
        for t in registry.list_tasks(args.suite):
            s = t.summary()
            se = "" if s["mi_stderr"] is None else f"{s['mi_stderr']:.4f}"
            print(f"{s['id']:<48} {s['family']:<20} {s['dim_x']!s:>6} {s['dim_y']!s:>6} {s['mi']:>12.6f} {se:>8}")
    return 0


def cmd_run(args) -> int:
    from mibench.execution.presets import load_preset, run_preset

    preset = load_preset(args.preset) if args.preset else {"estimators": args.estimator, "n": [1000], "seeds": 5,
                                                           "tasks": args.task, "suites": args.suite}
    overrides = {
        "estimators": args.estimator or None, "n": args.n or None,
        "seeds": args.seeds if args.seeds is not None else (args.seed or None), "timeout": args.timeout,
    }
    if args.task or args.suite:  # the command line's tasks replace each grid's tasks and suites
        overrides.update(tasks=args.task, suite=args.suite)
    rows = run_preset(preset, overrides, store=args.store, workers=args.workers, retry_failed=args.retry_failed,
                      progress=False if args.no_progress else None, executor=args.executor, address=args.address,
                      batch_seeds=args.batch_seeds)
    failed = int((rows["status"] != "ok").sum())
    cells = rows.attrs.get("cells", {})
    stale = f", {cells['stale']} stale cell(s) recomputed" if cells.get("stale") else ""
    print(f"{len(rows)} cells in {args.store} ({failed} failed; {cells.get('computed', 0)} computed now, "
          f"{cells.get('done', 0)} already done{stale})")
    return 0


def cmd_bench(args) -> int:
    from mibench.pipeline import bench

    rows = bench(args.preset, args.out, store=args.store, workers=args.workers, executor=args.executor,
                 address=args.address)
    failed = int((rows["status"] != "ok").sum())
    out = Path(args.out)
    print(f"{len(rows)} cells ({failed} failed) in {rows.attrs['store']}; leaderboards in "
          f"{out}/leaderboard.{{md,csv,html}}; report {rows.attrs['report']}; figures in {out}/figures")
    return 0


def cmd_export(args) -> int:
    from mibench.execution.rows_csv import export_frame
    from mibench.execution.store import open_existing

    with open_existing(args.store) as db:
        export_frame(db, superseded=args.superseded).to_csv(sys.stdout, index=False)
    return 0


def cmd_import(args) -> int:
    from mibench.execution.presets import load_preset
    from mibench.execution.rows_csv import import_rows, read_rows_csv

    preset = load_preset(args.preset) if args.preset else None
    rows = read_rows_csv(args.rows)
    count = import_rows(args.store, rows, preset=preset)
    leagues = f"; the leagues of preset {preset['name']!r} recorded" if preset else ""
    print(f"{count} rows imported into {args.store}{leagues}")
    return 0


def cmd_leaderboard(args) -> int:
    from mibench.execution.store import open_existing
    from mibench.reporting.tables import render

    if args.out:
        _check_output_file(Path(args.out))
    with open_existing(args.store) as db:
        text = render(db.dataframe(), args.format, db.runs())
    if args.out:
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise MibenchError(f"cannot write {args.out!r} ({exc.strerror})") from None
    else:
        sys.stdout.write(text)
    return 0


def cmd_report(args) -> int:
    from mibench.reporting.report import build_report

    extra = None
    if args.staircase:
        import pandas as pd

        try:
            extra = {"staircase": pd.read_csv(args.staircase)}
        except (OSError, ValueError) as exc:
            raise MibenchError(f"cannot read the staircase CSV {args.staircase!r} ({exc})") from None
    print(build_report(args.store, args.out, experiment_rows=extra))
    return 0


def cmd_check(args) -> int:
    from mibench.analysis.gate import check

    code, text = check(preset=args.preset, baseline=Path(args.baseline), update=args.update, workers=args.workers)
    print(text)
    return code


def _check_output_file(path: Path) -> None:
    """An output file path must name a file in an existing, writable folder."""
    if path.is_dir():
        raise MibenchError(f"--out {str(path)!r} is a directory; give a file name")
    parent = path.parent
    if not parent.exists():
        raise MibenchError(f"--out {str(path)!r}: folder {str(parent)!r} does not exist")
    if not parent.is_dir():
        raise MibenchError(f"--out {str(path)!r}: {str(parent)!r} is not a folder")
    if not os.access(parent, os.W_OK):
        raise MibenchError(f"--out {str(path)!r}: folder {str(parent)!r} is not writable")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
