"""Leaderboards rendered from stored rows: Markdown, CSV and a plain HTML page."""

from __future__ import annotations

import html

import pandas as pd

from mibench.metrics import ranking, summarize

FORMATS = ("md", "csv", "html")
_SUMMARY_HEADERS = {
    "task_id": "task", "estimator": "estimator", "n": "n", "truth": "truth [nats]",
    "mean": "mean [nats]", "bias": "bias [nats]", "std": "std [nats]", "rmse": "RMSE [nats]",
    "mae": "MAE [nats]", "rel_error": "rel. error", "seconds": "time [s]", "seeds": "seeds ok",
    "failures": "failures",
}
_RANK_HEADERS = {
    "rank": "rank", "estimator": "estimator", "mean_rank": "mean rank", "mean_mae": "mean MAE [nats]",
    "mean_seconds": "mean time [s]", "cells": "cells", "failures": "failures",
}


def tables(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(overall ranking, per-cell summary) for a DataFrame of stored rows."""
    summary = summarize(rows)
    return ranking(summary), summary


def render(rows: pd.DataFrame, fmt: str) -> str:
    if fmt not in FORMATS:
        from mibench.errors import MibenchError

        raise MibenchError(f"unknown leaderboard format {fmt!r} (choose {', '.join(FORMATS)})")
    rank, summary = tables(rows)
    if fmt == "csv":
        return summary.merge(rank[["estimator", "rank", "mean_rank"]], on="estimator").to_csv(
            index=False, float_format="%.6g")
    rank_t = rank.rename(columns=_RANK_HEADERS)
    summary_t = summary.drop(columns=["family"]).rename(columns=_SUMMARY_HEADERS)
    if fmt == "md":
        return (
            "## Overall ranking\n\nRank = mean rank of MAE over (task, n) cells; "
            "ties broken by mean MAE. All values in nats.\n\n"
            + rank_t.to_markdown(index=False, floatfmt=".4g")
            + "\n\n## Per task\n\n"
            + summary_t.to_markdown(index=False, floatfmt=".4g")
            + "\n"
        )
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>mibench leaderboard</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}</style></head><body>"
        "<h1>mibench leaderboard</h1><h2>Overall ranking</h2>"
        f"<p>{html.escape('Rank = mean rank of MAE over (task, n) cells; ties broken by mean MAE.')}</p>"
        + rank_t.to_html(index=False, float_format=lambda v: f"{v:.4g}", escape=True)
        + "<h2>Per task</h2>"
        + summary_t.to_html(index=False, float_format=lambda v: f"{v:.4g}", escape=True)
        + "</body></html>\n"
    )
