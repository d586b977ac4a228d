"""Leaderboards rendered from stored rows: Markdown, CSV and HTML.

Names come from plug-ins and may contain anything: Markdown cells escape ``|`` (which would split
a column), CSV cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``,
``@``, tab or carriage return) are prefixed with ``'``, HTML is escaped.
"""

from __future__ import annotations

import pandas as pd

from mibench.analysis.metrics import summarize
from mibench.analysis.ranking import ranking
from mibench.core.errors import MibenchError
from mibench.reporting import html

FORMATS = ("md", "csv", "html")
SUMMARY_HEADERS = {
    "task_id": "task", "estimator": "estimator", "n": "n", "truth": "truth [nats]",
    "mean": "mean [nats]", "bias": "bias [nats]", "std": "std [nats]", "rmse": "RMSE [nats]",
    "mae": "MAE [nats]", "rel_error": "rel. error", "seconds": "time [s]", "seeds": "seeds ok",
    "failures": "failures",
}
RANK_HEADERS = {
    "rank": "rank", "estimator": "estimator", "mean_rank": "mean rank", "mean_mae": "mean MAE [nats]",
    "mean_seconds": "mean time [s]", "cells": "cells", "failures": "failures",
}
_RANK_NOTE = "Rank = mean rank of MAE over (task, n) cells; ties broken by mean MAE. All values in nats."
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def tables(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(overall ranking, per-cell summary) for a DataFrame of stored rows."""
    summary = summarize(rows)
    return ranking(summary), summary


def markdown_safe(df: pd.DataFrame) -> pd.DataFrame:
    """String cells with ``|`` escaped and line breaks as spaces, so that a row stays a row."""
    return df.apply(lambda col: col.map(lambda v: v.replace("|", "\\|").replace("\n", " ").replace("\r", " ")
                                        if isinstance(v, str) else v))


def csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """String cells that start like a spreadsheet formula prefixed with ``'`` (CSV injection)."""
    return df.apply(lambda col: col.map(lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START)
                                        else v))


def render(rows: pd.DataFrame, fmt: str) -> str:
    if fmt not in FORMATS:
        raise MibenchError(f"unknown leaderboard format {fmt!r} (choose {', '.join(FORMATS)})")
    rank, summary = tables(rows)
    if fmt == "csv":
        return csv_safe(summary.merge(rank[["estimator", "rank", "mean_rank"]], on="estimator")).to_csv(
            index=False, float_format="%.6g")
    rank_t = rank.rename(columns=RANK_HEADERS)
    summary_t = summary.drop(columns=["family"]).rename(columns=SUMMARY_HEADERS)
    if fmt == "md":
        return (
            f"## Overall ranking\n\n{_RANK_NOTE}\n\n"
            + markdown_safe(rank_t).to_markdown(index=False, floatfmt=".4g")
            + "\n\n## Per task\n\n"
            + markdown_safe(summary_t).to_markdown(index=False, floatfmt=".4g")
            + "\n"
        )
    return html.page("mibench leaderboard", [
        "<h2>Overall ranking</h2>", html.note(_RANK_NOTE), html.table(rank_t),
        "<h2>Per task</h2>", html.table(summary_t),
    ])
