"""``mibench report``: one self-contained HTML page (figures embedded as base64 PNG, no network).

Contents: overall ranking, figures, per-family leaderboards, failures with their reasons, the runs'
configuration and package versions. Every name that comes from a task or plug-in is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import pandas as pd

from mibench import figures
from mibench.leaderboard import _RANK_HEADERS, _SUMMARY_HEADERS, tables
from mibench.store import open_existing

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1200px;padding:1.5em;
color:#222;line-height:1.45}
h1{margin-bottom:0.2em} h2{border-bottom:2px solid #ddd;padding-bottom:0.2em;margin-top:2em}
table{border-collapse:collapse;margin:0.8em 0;font-size:0.88em}
th{background:#f3f4f6;position:sticky;top:0} td,th{border:1px solid #d1d5db;padding:3px 8px;text-align:right}
td:first-child,td:nth-child(2),th{text-align:left} tr:nth-child(even) td{background:#fafafa}
figure{margin:1em 0} figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:0.9em} .note{color:#555;font-size:0.92em} code{background:#f3f4f6;padding:0 3px}
"""


def _table(df: pd.DataFrame) -> str:
    return df.to_html(index=False, escape=True, float_format=lambda v: f"{v:.4g}", na_rep="–", border=0)


def _img(path: Path, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    cap = html.escape(caption)
    return f'<figure><img src="data:image/png;base64,{data}" alt="{cap}"><figcaption>{cap}</figcaption></figure>'


def build_report(store: str | Path, out: str | Path, staircase_csv: str | Path | None = None) -> Path:
    """Write ``out/report.html`` and ``out/figures/*.png|svg`` from a store; returns the HTML path."""
    out = Path(out)
    with open_existing(store) as db:
        rows = db.dataframe()
        runs = db.runs()
        stored_steps = db.staircase_frame()
    rank, summary = tables(rows)
    figdir = out / "figures"
    figs: list[tuple[Path, str]] = []
    ok_summary = summary.dropna(subset=["mean"])
    if not ok_summary.empty:
        for name, fig, caption in (
            ("estimate_vs_truth", figures.estimate_vs_truth(ok_summary),
             "Mean estimate against the true MI per task family (nats); bars: std over seeds; dashed: identity."),
            ("bias_heatmap", figures.bias_heatmap(ok_summary),
             "Bias (mean estimate − truth, nats) per estimator and task at the largest n."),
            ("runtime_vs_n", figures.runtime_vs_n(rows),
             "Mean seconds per estimate against the sample size, log-log, with the device."),
            ("accuracy_vs_cost", figures.accuracy_vs_cost(ok_summary),
             "Mean absolute error (nats) against mean seconds per estimate, over all cells."),
        ):
            figs.append((figures.save(fig, figdir / name)[0], caption))
    steps = pd.read_csv(staircase_csv) if staircase_csv is not None else stored_steps
    if len(steps):
        figs.append((figures.save(figures.staircase(steps), figdir / "staircase")[0],
                     "Streaming staircase: per-step estimates (smoothed) over the true MI schedule (nats)."))

    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>mibench report</title><style>{_CSS}</style></head><body>",
        "<h1>mibench report</h1>",
        f"<p class='note'>{len(rows)} cells: {int((rows.status == 'ok').sum())} ok, "
        f"{int((rows.status != 'ok').sum())} failed or timed out; {rows.task_id.nunique()} tasks, "
        f"{rows.estimator.nunique()} estimators. All MI values in nats, times in seconds.</p>",
        "<h2>Overall ranking</h2>",
        "<p class='note'>Rank = mean rank of the mean absolute error over all (task, n) cells "
        "(an estimator with no successful seed in a cell takes the worst rank there); ties broken by mean MAE.</p>",
        _table(rank.rename(columns=_RANK_HEADERS)),
        "<h2>Figures</h2>",
        *[_img(p, c) for p, c in figs],
        "<h2>Leaderboards per family</h2>",
    ]
    for fam, part in summary.groupby("family", sort=True):
        parts.append(f"<h3>{html.escape(str(fam))}</h3>")
        parts.append(_table(part.drop(columns=["family"]).rename(columns=_SUMMARY_HEADERS)))
    failed = rows[rows.status != "ok"][["task_id", "estimator", "n", "seed", "status", "error"]]
    parts.append("<h2>Failures</h2>")
    parts.append(_table(failed) if len(failed) else "<p>None.</p>")
    parts.append("<h2>Configuration and versions</h2>")
    versions = sorted({json.dumps(v, sort_keys=True) for v in rows["versions"] if isinstance(v, dict)})
    vt = pd.DataFrame([json.loads(v) for v in versions]) if versions else pd.DataFrame()
    parts.append(_table(vt) if len(vt) else "<p>No rows.</p>")
    if runs:
        rt = pd.DataFrame([{
            "started (UTC)": r["started"], "cells": r.get("cells"), "skipped (resumed)": r.get("skipped"),
            "workers": r.get("workers"), "timeout [s]": r.get("timeout"), "executor": r.get("executor"),
            "n": " ".join(map(str, r.get("n", []))), "seeds": len(r.get("seeds", [])),
            "estimators": ", ".join(r.get("estimators", [])),
        } for r in runs])
        parts.append(_table(rt))
    parts.append("</body></html>\n")
    out.mkdir(parents=True, exist_ok=True)
    path = out / "report.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
