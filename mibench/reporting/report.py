"""``mibench report``: one self-contained HTML page (figures embedded as base64 PNG, no network).

Contents: overall ranking, figures, per-family leaderboards, a section per registered experiment
that has rows in the store, failures with their reasons, the runs' configuration and package
versions. Every name that comes from a task or plug-in is HTML-escaped.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from mibench.analysis.metrics import summarize
from mibench.core.errors import MibenchError
from mibench.core.registry import get_experiment, list_experiments
from mibench.execution.store import open_existing
from mibench.reporting import figures, html
from mibench.reporting.tables import RANK_HEADERS, RANK_NOTE, SUMMARY_HEADERS, league_html, league_tables, overall


def build_report(store: str | Path, out: str | Path, experiment_rows: dict[str, pd.DataFrame] | None = None) -> Path:
    """Write ``out/report.html`` and ``out/figures/*.png|svg`` from a store; returns the HTML path.

    ``experiment_rows``: rows of an experiment to show instead of the store's own (e.g. a CSV that
    ``mibench staircase --out`` wrote), by experiment name.
    """
    out = Path(out)
    figdir = out / "figures"
    try:
        figdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MibenchError(f"report folder {str(out)!r} cannot be created ({exc.strerror})") from None
    if not _writable(out):
        raise MibenchError(f"report folder {str(out)!r} is not writable")
    with open_existing(store) as db:
        rows = db.dataframe()
        runs = db.runs()
        sections = []
        for name in list_experiments():
            section = get_experiment(name).report_section(db, figdir, (experiment_rows or {}).get(name))
            if section:
                sections.append(section)
    summary = summarize(rows)
    leagues = league_tables(rows, runs)
    best = overall(rows)
    ok_summary = summary.dropna(subset=["mean"])
    figs: list[tuple[Path, str]] = []
    gen_table = None  # the error map over generated tasks, when the store has enough of them
    if not ok_summary.empty:
        candidates = [
            ("estimate_vs_truth", lambda: figures.estimate_vs_truth(ok_summary, rows),
             "Mean estimate against the true MI (nats) per family and dimensions: a line per estimator over the MI "
             "levels, band: +-1 std over seeds; dashed: identity; dotted: InfoNCE's ceiling log(n/2)."),
            ("error_vs_n", lambda: figures.error_vs_n(ok_summary),
             "Mean absolute error (nats) against the sample size, log-log, over the tasks run at several sizes; "
             "dashed: the N^-1/2 slope."),
            ("runtime_vs_n", lambda: figures.runtime_vs_n(rows),
             "Mean seconds per estimate against the sample size, log-log, with the device."),
            ("calibration", lambda: figures.calibration(ok_summary),
             "Empirical coverage of the truth by the estimators' intervals against their nominal level."),
        ]
        generated = [isinstance(p, dict) and "generator" in p for p in rows.get("task_params", [])]
        gen_tasks = rows[pd.Series(generated, index=rows.index, dtype=bool)]["task_id"].unique()
        if len(gen_tasks) >= 10:
            gen_table = figures.error_map_table(ok_summary[ok_summary.task_id.isin(gen_tasks)], rows)
            candidates.append(("error_map", lambda: figures.error_map(gen_table),
                               f"MAE (nats) of each estimator over the {len(gen_tasks)} generated tasks (suite random) "
                               "by dimension and true MI: where each estimator breaks."))
        for name, make, caption in candidates:
            if name == "error_vs_n" and not (ok_summary.groupby(["task_id", "estimator"])["n"].nunique() >= 2).any():
                continue
            if name == "calibration" and ok_summary["coverage"].isna().all():
                continue
            figs.append((figures.save(make(), figdir / name)[0], caption))

    parts = [
        html.note(f"{len(rows)} cells: {int((rows.status == 'ok').sum())} ok, "
                  f"{int((rows.status != 'ok').sum())} failed or timed out; {rows.task_id.nunique()} tasks, "
                  f"{rows.estimator.nunique()} estimators, {len(leagues)} league(s). All MI values in nats, "
                  "times in seconds."),
        html.note(RANK_NOTE),
    ]
    for number, t in enumerate(leagues, 1):
        parts += league_html(t)
        parts += _league_runs(t.league.name, runs, t.rows)
        league_summary = summarize(t.rows).dropna(subset=["mean"])
        if len(league_summary):
            for stem, fig, caption in (
                (f"league{number}_accuracy_vs_cost", figures.accuracy_vs_cost(league_summary, t.league.name),
                 "Mean absolute error (nats) against mean CPU seconds per estimate; circled: the Pareto front."),
                (f"league{number}_bias", figures.bias_heatmap(league_summary, t.league.name),
                 "Bias (mean estimate − truth, nats) per estimator and task at the largest n, tasks grouped by "
                 "family."),
            ):
                parts.append(html.figure(figures.save(fig, figdir / stem)[0], caption))
    if len(best):
        parts += ["<h2>Overall ranking</h2>", html.note("Every estimator ran every cell of the store."),
                  html.table(best.rename(columns=RANK_HEADERS))]
    parts += [
        "<h2>Figures</h2>",
        *[html.figure(p, c) for p, c in figs],
        *(["<h3>Error map of the generated tasks</h3>", html.table(gen_table)] if gen_table is not None else []),
        *sections,
        "<h2>Leaderboards per family</h2>",
    ]
    for fam, part in summary.groupby("family", sort=True):
        parts.append(f"<h3>{html.esc(fam)}</h3>")
        parts.append(html.table(part.drop(columns=["family"]).rename(columns=SUMMARY_HEADERS)))
    failed = rows[rows.status != "ok"][["task_id", "estimator", "n", "seed", "status", "error"]]
    parts.append("<h2>Failures</h2>")
    parts.append(html.table(failed) if len(failed) else "<p>None.</p>")
    parts.append("<h2>Configuration and versions</h2>")
    versions = sorted({json.dumps(v, sort_keys=True) for v in rows["versions"] if isinstance(v, dict)})
    vt = pd.DataFrame([json.loads(v) for v in versions]) if versions else pd.DataFrame()
    parts.append(html.table(vt) if len(vt) else "<p>No rows.</p>")
    if runs:
        rt = pd.DataFrame([{
            "started (UTC)": r["started"], "cells": r.get("cells"), "skipped (resumed)": r.get("skipped"),
            "stale (recomputed)": r.get("stale"), "workers": r.get("workers"), "timeout [s]": r.get("timeout"),
            "executor": r.get("executor"), "n": " ".join(map(str, r.get("n", []))),
            "seeds": len(r.get("seeds", [])), "estimators": ", ".join(r.get("estimators", [])),
        } for r in runs])
        parts.append(html.table(rt))
    path = out / "report.html"
    path.write_text(html.page("mibench report", parts), encoding="utf-8")
    return path


def _league_runs(name: str, runs: list[dict], rows: pd.DataFrame) -> list[str]:
    """The league's configuration: its runs (when, where, executor, workers, timeout), versions, cost."""
    mine = [r for r in runs if r.get("league") == name]
    ok = rows[rows.status == "ok"]
    cost = (f"Total cost: {ok['cpu_seconds'].sum() / 60:.1f} CPU minutes, {ok['seconds'].sum() / 60:.1f} minutes of "
            f"estimator wall time over {len(rows)} cells ({int((rows.status != 'ok').sum())} failed).")
    out = [html.note(cost)]
    if mine:
        def where(r):
            return ", ".join(f"{k}={v}" for k, v in (r.get("machine") or {}).items()
                             if k in ("cpu", "cores", "memory_gb", "gpu"))

        table = pd.DataFrame([{
            "started (UTC)": r.get("started"), "cells": r.get("cells"),
            "computed": (r.get("cells") or 0) - (r.get("skipped") or 0), "executor": r.get("executor"),
            "workers": r.get("workers"), "timeout [s]": r.get("timeout"), "machine": where(r),
            "versions": ", ".join(f"{k} {v}" for k, v in (r.get("versions") or {}).items()),
        } for r in mine])
        out.append(html.table(table))
    return out


def _writable(folder: Path) -> bool:
    return os.access(folder, os.W_OK | os.X_OK)
