"""The SQLite result store (stdlib sqlite3, WAL mode).

One row per finished cell, written once in its own transaction; the UNIQUE key
(task_id, estimator, n, seed) makes a resumed run skip what is done and makes duplicates
impossible. A killed run loses only the cells that were in flight.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mibench.errors import MibenchError

COLUMNS = [
    "task_id", "task_family", "truth", "truth_stderr", "estimator", "estimator_name",
    "config_hash", "config", "n", "seed", "estimate", "seconds", "device", "peak_memory_mb",
    "status", "error", "info", "versions", "timestamp",
]
JSON_COLUMNS = ("config", "info", "versions")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY,
    task_id TEXT NOT NULL, task_family TEXT, truth REAL NOT NULL, truth_stderr REAL,
    estimator TEXT NOT NULL, estimator_name TEXT NOT NULL, config_hash TEXT NOT NULL, config TEXT,
    n INTEGER NOT NULL, seed INTEGER NOT NULL,
    estimate REAL, seconds REAL, device TEXT, peak_memory_mb REAL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'timeout')), error TEXT,
    info TEXT, versions TEXT, timestamp TEXT NOT NULL,
    UNIQUE (task_id, estimator, n, seed)
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, started TEXT NOT NULL, config TEXT NOT NULL
);
"""


_STAIRCASE_SCHEMA = """
CREATE TABLE IF NOT EXISTS staircase (
    id INTEGER PRIMARY KEY,
    estimator TEXT NOT NULL, seed INTEGER NOT NULL, dim INTEGER NOT NULL, cubic INTEGER NOT NULL,
    steps_per_level INTEGER NOT NULL, step INTEGER NOT NULL, true_mi REAL NOT NULL, estimate REAL NOT NULL,
    UNIQUE (estimator, seed, dim, cubic, steps_per_level, step)
);
"""


def _plain(v):
    """NumPy scalars as Python numbers for sqlite3."""
    return v.item() if hasattr(v, "item") else v


_OWN_TABLES = ("results", "runs", "staircase")
_SCALARS = (str, bytes, int, float, bool, np.generic)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_identifier(name, what: str) -> None:
    if not isinstance(name, str) or not _IDENTIFIER.match(name) or name.lower().startswith("sqlite_"):
        raise ValueError(f"{what} must be letters, digits and underscores (not starting with a digit or "
                         f"sqlite_), got {name!r}")


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _sql_type(column: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_integer_dtype(column):
        return "INTEGER"
    if pd.api.types.is_float_dtype(column):
        return "REAL"
    return "TEXT"


class Store:
    """A results database at ``path`` (created with its parent folder if missing)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_file():
            raise MibenchError(f"store path {str(self.path)!r} exists and is not a file")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MibenchError(f"store path {str(self.path)!r}: cannot create its folder ({exc.strerror})") from None
        if self.path.exists():
            if not os.access(self.path, os.R_OK | os.W_OK):
                raise MibenchError(f"store path {str(self.path)!r} is not a readable and writable file")
            with open(self.path, "rb") as fh:
                head = fh.read(16)
            if head and head != b"SQLite format 3\x00":
                raise MibenchError(f"store path {str(self.path)!r} is not an SQLite database")
        elif not os.access(self.path.parent, os.W_OK):
            raise MibenchError(f"store path {str(self.path)!r}: its folder is not writable")
        try:
            self._conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise MibenchError(f"store path {str(self.path)!r}: {exc}") from None

    def close(self) -> None:
        self._conn.close()

    def write_staircase(self, rows: pd.DataFrame) -> None:
        """Per-step rows of the streaming staircase (``mibench staircase --store``), in one transaction."""
        self._conn.executescript(_STAIRCASE_SCHEMA)
        keys = ["estimator", "seed", "dim", "cubic", "steps_per_level"]
        with self._transaction() as cur:
            for key, _ in rows.groupby(keys):
                cur.execute("DELETE FROM staircase WHERE estimator=? AND seed=? AND dim=? AND cubic=? "
                            "AND steps_per_level=?", tuple(_plain(v) for v in key))
            cur.executemany(
                "INSERT INTO staircase (estimator, seed, dim, cubic, steps_per_level, step, true_mi, estimate) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [tuple(_plain(v) for v in r) for r in rows[keys + ["step", "true_mi", "estimate"]].itertuples(
                    index=False)])

    def staircase_frame(self) -> pd.DataFrame:
        """Every stored staircase row (empty frame when there are none)."""
        self._conn.executescript(_STAIRCASE_SCHEMA)
        return pd.read_sql_query("SELECT estimator, seed, dim, cubic, steps_per_level, step, true_mi, estimate "
                                 "FROM staircase ORDER BY estimator, seed, step", self._conn)

    def write_table(self, name: str, rows: pd.DataFrame, key: list[str]) -> None:
        """Store ``rows`` in the experiment table ``name``, in one transaction.

        The table is created from the frame's columns when missing (INTEGER for integer and bool
        columns, REAL for floats, TEXT otherwise); columns the table lacks are added. Stored rows
        whose ``key`` values equal those of a new row are replaced. NaN is stored as NULL. An empty
        frame writes nothing (and creates no table, whose column types it could not tell).
        """
        _check_identifier(name, "table name")
        if name in _OWN_TABLES:
            raise MibenchError(f"table {name!r} belongs to the store itself; choose another name")
        if not isinstance(rows, pd.DataFrame):
            raise TypeError(f"write_table: rows must be a pandas DataFrame, got {type(rows).__name__}")
        columns = [str(c) for c in rows.columns]
        if len(set(columns)) != len(columns):
            raise ValueError(f"write_table({name!r}): duplicate column names in {columns}")
        key = list(key)
        missing = [k for k in key if k not in columns]
        if not key or missing:
            raise ValueError(f"write_table({name!r}): key columns {missing or key} are not columns of the rows "
                             f"({columns})")
        if rows.empty:
            return
        if rows.duplicated(subset=key).any():
            raise ValueError(f"write_table({name!r}): several rows share the same key {key}")
        types = {c: _sql_type(rows[c]) for c in columns}
        for c in columns:
            odd = [v for v in rows[c] if not isinstance(v, _SCALARS) and not pd.isna(v)] if types[c] == "TEXT" else []
            if odd:
                raise TypeError(f"write_table({name!r}): column {c!r} holds a {type(odd[0]).__name__} value; "
                                "only numbers, strings and missing values can be stored")
        cells = rows.astype(object).where(rows.notna(), None)
        values = [tuple(_plain(v) for v in r) for r in cells.itertuples(index=False)]
        keys = [tuple(_plain(v) for v in r) for r in cells[key].itertuples(index=False)]
        q = _quote
        with self._transaction() as cur:
            cur.execute(f"CREATE TABLE IF NOT EXISTS {q(name)} ({', '.join(f'{q(c)} {types[c]}' for c in columns)})")
            present = {r[1] for r in cur.execute(f"PRAGMA table_info({q(name)})")}
            for c in columns:
                if c not in present:
                    cur.execute(f"ALTER TABLE {q(name)} ADD COLUMN {q(c)} {types[c]}")
            cur.executemany(f"DELETE FROM {q(name)} WHERE {' AND '.join(f'{q(k)} IS ?' for k in key)}", keys)
            cur.executemany(f"INSERT INTO {q(name)} ({', '.join(map(q, columns))}) "
                            f"VALUES ({', '.join('?' * len(columns))})", values)

    def read_table(self, name: str) -> pd.DataFrame:
        """Every row of the experiment table ``name`` in insertion order (an empty frame if it does not
        exist); numeric columns come back numeric (NULL as NaN), also when every value is NULL."""
        _check_identifier(name, "table name")
        info = self._conn.execute(f"PRAGMA table_info({_quote(name)})").fetchall()
        if not info:
            return pd.DataFrame()
        frame = pd.read_sql_query(f"SELECT * FROM {_quote(name)} ORDER BY rowid", self._conn)
        for _, col, decl, *_ in info:
            if decl in ("REAL", "INTEGER"):  # a column of NULLs would come back as objects
                frame[col] = pd.to_numeric(frame[col])
        return frame

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def done_keys(self) -> set[tuple[str, str, int, int]]:
        rows = self._conn.execute("SELECT task_id, estimator, n, seed FROM results")
        return {tuple(r) for r in rows}

    def delete_failed(self, keys: Iterable[tuple[str, str, int, int]]) -> int:
        """Remove failed/timeout rows among ``keys`` so that they run again (``--retry-failed``)."""
        with self._transaction() as cur:
            count = 0
            for k in keys:
                cur.execute(
                    "DELETE FROM results WHERE task_id=? AND estimator=? AND n=? AND seed=? AND status != 'ok'", k
                )
                count += cur.rowcount
        return count

    def add(self, row: dict[str, Any]) -> bool:
        """Insert one finished cell in its own transaction; False if that cell is already stored."""
        values = [json.dumps(row.get(c), sort_keys=True, default=repr) if c in JSON_COLUMNS else row.get(c)
                  for c in COLUMNS]
        try:
            with self._transaction() as cur:
                cur.execute(
                    f"INSERT INTO results ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                    values,
                )
        except sqlite3.IntegrityError:
            return False
        return True

    def add_run(self, started: str, config: dict[str, Any]) -> None:
        with self._transaction() as cur:
            cur.execute("INSERT INTO runs (started, config) VALUES (?, ?)",
                        (started, json.dumps(config, sort_keys=True)))

    def runs(self) -> list[dict[str, Any]]:
        rows = self._conn.execute("SELECT started, config FROM runs ORDER BY id")
        return [{"started": s, **json.loads(c)} for s, c in rows]

    def dataframe(self) -> pd.DataFrame:
        """Every row, JSON columns decoded, in insertion order."""
        df = pd.read_sql_query(f"SELECT {', '.join(COLUMNS)} FROM results ORDER BY id", self._conn)
        for c in JSON_COLUMNS:
            df[c] = df[c].map(lambda s: json.loads(s) if isinstance(s, str) else s)
        return df

    def _transaction(self):
        return _Tx(self._conn)


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on error (the connection is in autocommit mode)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Cursor:
        self.cur = self.conn.cursor()
        self.cur.execute("BEGIN IMMEDIATE")
        return self.cur

    def __exit__(self, exc_type, *_):
        self.cur.execute("ROLLBACK" if exc_type else "COMMIT")
        return False


def open_existing(path: str | os.PathLike) -> Store:
    """Open a store that must already exist (for export, leaderboard, report)."""
    if not Path(path).is_file():
        raise MibenchError(f"no store at {str(path)!r} (run `mibench run --store {path}` first)")
    return Store(path)
