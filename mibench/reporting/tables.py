"""Leaderboards rendered from stored rows: Markdown, CSV, HTML and LaTeX.

Rankings are per league (``mibench.analysis.leagues``): every ranking shows its cell count, equal
for all ranked rows, rank intervals and failures; an estimator that ran a subset of a league's
cells is listed with its coverage instead. The overall ranking appears only where one set of cells
is common to all estimators. The CSV is the per-cell table (``mibench.analysis.metrics.COLUMNS``).

Names come from plug-ins and may contain anything: Markdown cells escape ``|`` (which would split
a column), CSV cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``,
``@``, tab or carriage return) are prefixed with ``'``, HTML is escaped, LaTeX special characters
are escaped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from mibench.analysis.leagues import League, leagues, pairwise, rank_league, regimes
from mibench.analysis.metrics import COLUMNS, UNITS, summarize
from mibench.core.errors import MibenchError
from mibench.execution.rows_csv import csv_safe
from mibench.reporting import html

FORMATS = ("md", "csv", "html", "latex")
SUMMARY_HEADERS = {
    "task_id": "task", "estimator": "estimator", "n": "n", "truth": "truth [nats]",
    "mean": "mean [nats]", "bias": "bias [nats]", "std": "std [nats]", "rmse": "RMSE [nats]",
    "mae": "MAE [nats]", "rel_error": "rel. error", "median": "median [nats]", "iqr": "IQR [nats]",
    "log2_ratio": "log2(median/truth)", "coverage": "coverage", "width": "CI width [nats]", "ci_level": "CI level",
    "converged": "converged", "params": "parameters", "seconds": "time [s]", "cpu_seconds": "CPU [s]",
    "peak_memory_mb": "peak memory [MB]", "device": "device", "seeds": "seeds ok", "failures": "failures",
}
RANK_HEADERS = {
    "rank": "rank", "estimator": "estimator", "mean_rank": "mean rank", "rank_lo": "rank 90% lo",
    "rank_hi": "rank 90% hi", "cells": "cells", "mean_mae": "mean MAE [nats]", "median_mae": "median MAE [nats]",
    "failures": "failures", "cpu_seconds": "mean CPU [s]", "seconds": "mean time [s]",
}
RANK_NOTE = ("Rank = mean rank of MAE over the league's (task, n) cells, all of which every ranked estimator ran "
             "(no successful seed in a cell: the worst rank there); a shared rank is a tie within noise; the 90 % "
             "interval is a paired bootstrap over cells and seeds. All MI values in nats.")
#: estimators compared pairwise per league (the top of its ranking)
PAIRWISE_TOP = 4


@dataclass
class LeagueTable:
    league: League
    ranking: pd.DataFrame
    partial: pd.DataFrame
    pairs: pd.DataFrame
    regimes: pd.DataFrame
    rows: pd.DataFrame = field(repr=False)


def league_tables(rows: pd.DataFrame, runs: list[dict] | None, *, bootstrap: int | None = None) -> list[LeagueTable]:
    """Every league of the store (from its run records; without records, all rows form one league)."""
    defs = leagues(runs or [])
    if not defs and len(rows):
        defs = [League("all rows", frozenset(rows.task_id), frozenset(rows.estimator), frozenset(rows.n),
                       frozenset(rows.seed))]
    out = []
    kwargs = {} if bootstrap is None else {"bootstrap": bootstrap}
    for league in defs:
        part = league.select(rows)
        if part.empty:
            continue
        ranking, partial = rank_league(part, **kwargs)
        top = list(ranking["estimator"][:PAIRWISE_TOP])
        out.append(LeagueTable(league, ranking, partial, pairwise(part, top), regimes(part, list(ranking.estimator)),
                               part))
    return out


def overall(rows: pd.DataFrame, *, bootstrap: int | None = None) -> pd.DataFrame:
    """The ranking over every stored cell, or an empty frame when no set of cells is common to all
    estimators (then only the leagues' rankings are meaningful)."""
    ranking, partial = rank_league(rows, **({} if bootstrap is None else {"bootstrap": bootstrap}))
    return ranking if len(partial) == 0 else ranking.iloc[0:0]


def markdown_safe(df: pd.DataFrame) -> pd.DataFrame:
    """String cells with ``|`` escaped and line breaks as spaces, so that a row stays a row."""
    return df.apply(lambda col: col.map(lambda v: v.replace("|", "\\|").replace("\n", " ").replace("\r", " ")
                                        if isinstance(v, str) else v))


def latex_safe(text: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("$", r"\$"), ("#", r"\#"), ("_", r"\_"),
                 ("{", r"\{"), ("}", r"\}"), ("~", r"\textasciitilde{}"), ("^", r"\textasciicircum{}")):
        text = text.replace(a, b) if a != "\\" else text.replace(a, "\x00")
    return text.replace("\x00", r"\textbackslash{}")


def latex_table(rows: pd.DataFrame) -> str:
    """A paper table (booktabs): mean +- std over seeds (nats) per task x estimator at the largest n,
    the truth in the first column, failed cells as a dash (as BMI's results tables)."""
    s = summarize(rows)
    if s.empty:
        return "% no rows\n"
    s = s.loc[s.groupby(["task_id", "estimator"])["n"].idxmax()]
    estimators = sorted(s.estimator.unique())
    cells = {(r.task_id, r.estimator): ("--" if pd.isna(r.mean) else
                                        f"${r.mean:.2f} \\pm {0 if pd.isna(r.std) else r.std:.2f}$")
             for r in s.itertuples()}
    truth = s.groupby("task_id")["truth"].first()
    lines = [r"\begin{tabular}{l" + "r" * (len(estimators) + 1) + "}", r"\toprule",
             " & ".join(["task", "truth"] + [latex_safe(e) for e in estimators]) + r" \\", r"\midrule"]
    for task in sorted(truth.index):
        lines.append(" & ".join([latex_safe(task), f"{truth[task]:.2f}"]
                                + [cells.get((task, e), "") for e in estimators]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}",
              "% mean +- std over seeds, in nats, at the largest n of each task (mibench leaderboard --format latex)"]
    return "\n".join(lines) + "\n"


def summary_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The per-cell table with unit-labelled headers (for Markdown and HTML)."""
    return summarize(rows).drop(columns=["family"]).rename(columns=SUMMARY_HEADERS)


def render(rows: pd.DataFrame, fmt: str, runs: list[dict] | None = None) -> str:
    """The leaderboard of ``rows`` in ``fmt``; ``runs`` (the store's run records) define the leagues."""
    if fmt not in FORMATS:
        raise MibenchError(f"unknown leaderboard format {fmt!r} (choose {', '.join(FORMATS)})")
    if fmt == "csv":
        return csv_safe(summarize(rows)[COLUMNS]).to_csv(index=False, float_format="%.6g")
    if fmt == "latex":
        return latex_table(rows)
    tables = league_tables(rows, runs)
    best = overall(rows)
    if fmt == "md":
        parts = [f"{RANK_NOTE}\n"]
        for t in tables:
            parts += _league_markdown(t)
        if len(best):
            parts += ["## Overall ranking (every cell)\n", _md(best.rename(columns=RANK_HEADERS)), ""]
        parts += ["## Per task\n", _md(summary_table(rows)), ""]
        return "\n".join(parts)
    body = [html.note(RANK_NOTE)]
    for t in tables:
        body += league_html(t)
    if len(best):
        body += ["<h2>Overall ranking (every cell)</h2>", html.table(best.rename(columns=RANK_HEADERS))]
    body += ["<h2>Per task</h2>", html.table(summary_table(rows))]
    return html.page("mibench leaderboard", body)


def league_caption(league: League) -> str:
    return (f"{len(league.estimators)} estimators x {len(league.tasks)} tasks x n in "
            f"{sorted(league.n)} x {len(league.seeds)} seeds")


def _league_markdown(t: LeagueTable) -> list[str]:
    parts = [f"## League: {t.league.name}\n", f"{league_caption(t.league)}.\n",
             _md(t.ranking.rename(columns=RANK_HEADERS)), ""]
    if len(t.partial):
        parts += ["Ran only some of the league's cells (not ranked):\n", _md(t.partial), ""]
    if len(t.pairs):
        parts += ["Pairwise (top of the ranking): " + "; ".join(t.pairs.text) + ".\n"]
    if len(t.regimes):
        parts += ["Regimes (mean MAE per regime; d = max(d_x, d_y)):\n", _md(t.regimes), ""]
    return parts


def league_html(t: LeagueTable, level: int = 2) -> list[str]:
    h = f"h{level}"
    parts = [f"<{h}>League: {html.esc(t.league.name)}</{h}>", html.note(league_caption(t.league) + "."),
             html.table(t.ranking.rename(columns=RANK_HEADERS))]
    if len(t.partial):
        parts += [html.note("Ran only some of the league's cells (not ranked):"), html.table(t.partial)]
    if len(t.pairs):
        parts += [html.note("Pairwise (top of the ranking): " + "; ".join(t.pairs.text) + ".")]
    if len(t.regimes):
        parts += [html.note("Regimes (mean MAE per regime, nats; d = max(d_x, d_y)):"), html.table(t.regimes)]
    return parts


def _md(df: pd.DataFrame) -> str:
    return markdown_safe(df).to_markdown(index=False, floatfmt=".4g")


__all__ = ["FORMATS", "RANK_HEADERS", "SUMMARY_HEADERS", "UNITS", "csv_safe", "latex_table", "league_tables",
           "markdown_safe", "overall", "render"]
