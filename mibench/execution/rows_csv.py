"""Stored rows as CSV and back: ``mibench export`` writes them, ``mibench import`` loads them into a
store (e.g. a protocol's committed reference rows, next to which a user then runs only their own
estimator, in the same league).

The CSV has the store's columns (``mibench.execution.store.COLUMNS``); JSON columns hold JSON text.
Text cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or
carriage return) are written with a leading ``'``, which the import removes again.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import pandas as pd

from mibench.core.errors import MibenchError
from mibench.core.registry import canonical_spec
from mibench.execution.store import COLUMNS, JSON_COLUMNS, Store
from mibench.execution.worker import now

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """String cells that start like a spreadsheet formula prefixed with ``'`` (CSV injection)."""
    return df.apply(lambda col: col.map(lambda v: "'" + v if isinstance(v, str) and v.startswith(FORMULA_START)
                                        else v))


def csv_unsafe(df: pd.DataFrame) -> pd.DataFrame:
    """The inverse of ``csv_safe``."""
    return df.apply(lambda col: col.map(lambda v: v[1:] if isinstance(v, str) and v[:1] == "'"
                                        and v[1:2] in FORMULA_START and v[1:2] != "" else v))


def export_frame(db: Store, *, superseded: bool = False) -> pd.DataFrame:
    """The store's rows as CSV-ready cells (JSON columns as JSON text, formula-like text quoted)."""
    df = db.dataframe(superseded=superseded)
    for c in JSON_COLUMNS:
        df[c] = df[c].map(lambda v: json.dumps(v, sort_keys=True))
    return csv_safe(df)


def read_rows_csv(path: str | os.PathLike) -> pd.DataFrame:
    """Rows written by ``mibench export`` (or ``mibench bench``'s ``rows.csv``), checked and decoded."""
    try:
        df = pd.read_csv(path, keep_default_na=True, dtype={"task_id": str, "estimator": str})
    except FileNotFoundError:
        raise MibenchError(f"no rows file at {str(path)!r}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise MibenchError(f"{str(path)!r} is not a readable rows CSV ({type(exc).__name__})") from None
    required = {"task_id", "truth", "estimator", "estimator_name", "config_hash", "n", "seed", "status", "timestamp"}
    missing = sorted(required - set(df.columns))
    if missing:
        raise MibenchError(f"{str(path)!r} lacks column(s) {missing}: not a file written by `mibench export`")
    df = csv_unsafe(df)
    for c in JSON_COLUMNS:
        if c in df:
            df[c] = df[c].map(lambda v: json.loads(v) if isinstance(v, str) else None)
    if "superseded" in df:
        df = df[~df["superseded"].astype(str).str.lower().isin(["true", "1"])]
    return df.reset_index(drop=True)


def import_rows(store: str | os.PathLike, rows: pd.DataFrame, *, preset: dict[str, Any] | None = None) -> int:
    """Add ``rows`` to the store (a row replaces the current row of its cell, which stays as history);
    with ``preset``, also record its grids as runs, so the imported rows form the preset's leagues.
    Returns the number of rows added."""
    from mibench.execution.grid import machine, package_versions
    from mibench.execution.presets import grids

    records = rows.to_dict("records")
    with Store(store) as db:
        for r in records:
            db.add({c: _clean(r.get(c)) for c in COLUMNS if c != "superseded"})
        for g in grids(preset) if preset else []:
            specs = {canonical_spec(s).text for s in g["estimators"]}
            tasks = set(g.get("tasks") or []) | _suite_tasks(g.get("suites") or [])
            part = rows[rows["estimator"].isin(specs) & rows["task_id"].isin(tasks)]
            if part.empty:
                continue
            db.add_run(now(), {
                "tasks": sorted(tasks), "estimators": sorted(set(part["estimator"])),
                "n": sorted({int(v) for v in part["n"]}), "seeds": sorted({int(v) for v in part["seed"]}),
                "league": g.get("league"), "executor": "import", "cells": len(part), "skipped": len(part),
                "stale": 0, "versions": package_versions(), "machine": machine(),
            })
    return len(records)


def _suite_tasks(suites: list[str]) -> set[str]:
    from mibench.core.registry import list_tasks

    return {t.id for s in suites for t in list_tasks(s)}


def _clean(v):
    """CSV cells as the store expects them: NaN as None, integral floats of integer columns as int."""
    if isinstance(v, float) and math.isnan(v):
        return None
    return v
