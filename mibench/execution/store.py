"""The SQLite result store (stdlib sqlite3, WAL mode).

One row per finished cell, written once, in its own transaction. A cell is identified by
(task id, canonical estimator spec, n, seed); a stored row is *current* for a run when it was
computed for the same task fingerprint (id, params, truth, version) and the same estimator
configuration hash. A cell whose current row was computed for another fingerprint or
configuration is *stale*: the run recomputes it, and the new row supersedes the old one in the
same transaction (the old row stays, marked ``superseded``; history is never deleted). A killed
run loses only the cells that were in flight.

Read-only commands (export, leaderboard, report) open the store with ``readonly=True``: nothing
is created or migrated, and a database that is not a mibench store is refused.
Experiments keep their rows in tables of their own (``write_table`` / ``read_table``).
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

from mibench.core.errors import InfrastructureError, MibenchError

SCHEMA_VERSION = 2
COLUMNS = [
    "task_id", "task_family", "truth", "truth_stderr", "task_fingerprint", "task_params", "dim_x", "dim_y", "is_image",
    "estimator", "estimator_name",
    "config_hash", "config", "n", "seed", "estimate", "ci_low", "ci_high", "ci_level", "seconds", "cpu_seconds",
    "device", "peak_memory_mb", "status", "error", "info", "versions", "timestamp", "superseded",
]
JSON_COLUMNS = ("task_params", "config", "info", "versions")
#: the columns of a version-1 store (before fingerprints, intervals and supersession)
_V1_COLUMNS = {"task_id", "task_family", "truth", "truth_stderr", "estimator", "estimator_name", "config_hash",
               "config", "n", "seed", "estimate", "seconds", "device", "peak_memory_mb", "status", "error", "info",
               "versions", "timestamp"}
#: columns that schema version 2 gained after its first release (added to older version-2 stores)
_ADDED_COLUMNS = {"task_params": "TEXT", "dim_x": "INTEGER", "dim_y": "INTEGER", "is_image": "INTEGER"}
_RESERVED = {"results", "runs", "sqlite_sequence"}
_BUSY_SECONDS = 30

_RESULTS = """
CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY,
    task_id TEXT NOT NULL, task_fingerprint TEXT, task_params TEXT, dim_x INTEGER, dim_y INTEGER, is_image INTEGER,
    task_family TEXT,
    truth REAL NOT NULL, truth_stderr REAL,
    estimator TEXT NOT NULL, estimator_name TEXT NOT NULL, config_hash TEXT NOT NULL, config TEXT,
    n INTEGER NOT NULL, seed INTEGER NOT NULL,
    estimate REAL, ci_low REAL, ci_high REAL, ci_level REAL, seconds REAL, cpu_seconds REAL, device TEXT,
    peak_memory_mb REAL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'timeout')), error TEXT,
    info TEXT, versions TEXT, timestamp TEXT NOT NULL, superseded INTEGER NOT NULL DEFAULT 0
)"""
# at most one current row per cell
_CURRENT = ("CREATE UNIQUE INDEX IF NOT EXISTS current_cell ON results (task_id, estimator, n, seed) "
            "WHERE superseded = 0")
_RUNS = "CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, started TEXT NOT NULL, config TEXT NOT NULL)"


def _plain(v):
    """NumPy scalars as Python numbers for sqlite3."""
    return v.item() if hasattr(v, "item") else v


class Store:
    """A results database at ``path``.

    ``readonly=False`` (runs): created with its parent folder if missing, migrated from version 1.
    ``readonly=True`` (reports): must exist and be a mibench store; opened with SQLite's read-only
    mode, so it is never changed (not even switched to WAL).
    """

    def __init__(self, path: str | os.PathLike, *, readonly: bool = False) -> None:
        if str(path) in ("", ":memory:") or str(path).startswith("file:"):
            raise MibenchError(f"store path {str(path)!r} would keep nothing on disk; give a file path")
        self.path = Path(path)
        self.readonly = readonly
        if self.path.exists() and not self.path.is_file():
            raise MibenchError(f"store path {str(self.path)!r} exists and is not a file")
        if readonly:
            self._open_readonly()
        else:
            self._open_writable()

    # ---- opening ----------------------------------------------------------------------------

    def _check_header(self) -> None:
        with open(self.path, "rb") as fh:
            head = fh.read(16)
        if head and head != b"SQLite format 3\x00":
            raise MibenchError(f"store path {str(self.path)!r} is not an SQLite database")

    def _open_readonly(self) -> None:
        if not self.path.is_file():
            raise MibenchError(f"no store at {str(self.path)!r} (run `mibench run --store {self.path}` first)")
        if not os.access(self.path, os.R_OK):
            raise MibenchError(f"store path {str(self.path)!r} is not readable")
        self._check_header()
        try:
            self._conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                                         timeout=_BUSY_SECONDS, isolation_level=None)
            columns = self._columns("results")
        except sqlite3.DatabaseError as exc:
            raise MibenchError(f"store path {str(self.path)!r}: {exc}") from None
        if not columns or not _V1_COLUMNS <= columns:
            self._conn.close()
            raise MibenchError(f"{str(self.path)!r} is not a mibench store (no results table of mibench's schema)")

    def _open_writable(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MibenchError(f"store path {str(self.path)!r}: cannot create its folder ({exc.strerror})") from None
        if self.path.exists():
            if not os.access(self.path, os.R_OK | os.W_OK):
                raise MibenchError(f"store path {str(self.path)!r} is not a readable and writable file")
            self._check_header()
        elif not os.access(self.path.parent, os.W_OK):
            raise MibenchError(f"store path {str(self.path)!r}: its folder is not writable")
        try:
            self._conn = sqlite3.connect(self.path, timeout=_BUSY_SECONDS, isolation_level=None)
            existing = self._columns("results")
            if existing and not _V1_COLUMNS <= existing:
                self._conn.close()
                raise MibenchError(f"{str(self.path)!r} is not a mibench store (its results table has another "
                                   "schema); choose another --store path")
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            with self._transaction() as cur:
                if existing and "superseded" not in existing:
                    self._migrate_v1(cur)
                for statement in (_RESULTS, _CURRENT, _RUNS):
                    cur.execute(statement)
                have = {r[1] for r in cur.execute("PRAGMA table_info(results)")}
                for column, kind in _ADDED_COLUMNS.items():  # columns added within schema version 2
                    if column not in have:
                        cur.execute(f"ALTER TABLE results ADD COLUMN {column} {kind}")
                cur.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.OperationalError as exc:
            raise self._locked_or(exc) from None
        except sqlite3.DatabaseError as exc:
            raise MibenchError(f"store path {str(self.path)!r}: {exc}") from None

    def _columns(self, table: str) -> set[str]:
        return {r[1] for r in self._conn.execute(f"PRAGMA table_info({table})")}

    @staticmethod
    def _migrate_v1(cur: sqlite3.Cursor) -> None:
        """Version 1 keyed rows by (task, spec, n, seed) only. Its rows are kept, with an unknown task
        fingerprint: the next run treats them as stale and recomputes them (the old rows stay, superseded)."""
        cur.execute("ALTER TABLE results RENAME TO results_v1")
        cur.execute(_RESULTS)
        cols = ", ".join(sorted(_V1_COLUMNS))
        cur.execute(f"INSERT INTO results (id, {cols}) SELECT id, {cols} FROM results_v1 ORDER BY id")
        cur.execute("DROP TABLE results_v1")

    def _locked_or(self, exc: sqlite3.OperationalError) -> Exception:
        if "locked" in str(exc) or "busy" in str(exc):
            return InfrastructureError(
                f"store {str(self.path)!r} is locked by another process (waited {_BUSY_SECONDS} s); "
                "finished cells are kept, re-run to resume once it is free")
        return MibenchError(f"store path {str(self.path)!r}: {exc}")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- cells ------------------------------------------------------------------------------

    def current_cells(self) -> dict[tuple[str, str, int, int], tuple[str | None, str, str]]:
        """(task, spec, n, seed) -> (task fingerprint, config hash, status) of each current row."""
        rows = self._conn.execute("SELECT task_id, estimator, n, seed, task_fingerprint, config_hash, status "
                                  "FROM results WHERE superseded = 0")
        return {(t, e, n, s): (f, h, st) for t, e, n, s, f, h, st in rows}

    def supersede(self, keys: Iterable[tuple[str, str, int, int]], *, failed_only: bool = False) -> int:
        """Mark the current rows of ``keys`` superseded (``--retry-failed``: only failed/timeout ones)."""
        extra = " AND status != 'ok'" if failed_only else ""
        count = 0
        with self._transaction() as cur:
            for k in keys:
                cur.execute("UPDATE results SET superseded = 1 WHERE task_id=? AND estimator=? AND n=? AND seed=? "
                            f"AND superseded = 0{extra}", k)
                count += cur.rowcount
        return count

    def add(self, row: dict[str, Any]) -> None:
        """Insert one finished cell; a current row of the same cell (stale) becomes superseded in the
        same transaction, so the cell is never without a row."""
        values = [json.dumps(row.get(c), sort_keys=True, default=repr) if c in JSON_COLUMNS else _plain(row.get(c))
                  for c in COLUMNS]
        values[COLUMNS.index("superseded")] = 0
        key = (row["task_id"], row["estimator"], row["n"], row["seed"])
        with self._transaction() as cur:
            cur.execute("UPDATE results SET superseded = 1 WHERE task_id=? AND estimator=? AND n=? AND seed=? "
                        "AND superseded = 0", key)
            cur.execute(f"INSERT INTO results ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                        values)

    def add_run(self, started: str, config: dict[str, Any]) -> None:
        with self._transaction() as cur:
            cur.execute("INSERT INTO runs (started, config) VALUES (?, ?)",
                        (started, json.dumps(config, sort_keys=True, default=repr)))

    def runs(self) -> list[dict[str, Any]]:
        if not self._columns("runs"):
            return []
        rows = self._conn.execute("SELECT started, config FROM runs ORDER BY id")
        return [{"started": s, **json.loads(c)} for s, c in rows]

    def dataframe(self, *, superseded: bool = False) -> pd.DataFrame:
        """Every current row (``superseded=True``: every row ever stored), JSON columns decoded, in
        insertion order. A version-1 store read read-only gets the newer columns empty."""
        have = self._columns("results")
        select = ", ".join(c if c in have else f"NULL AS {c}" for c in COLUMNS if c != "superseded")
        flag = "superseded" if "superseded" in have else "0 AS superseded"
        where = "" if superseded or "superseded" not in have else " WHERE superseded = 0"
        df = pd.read_sql_query(f"SELECT {select}, {flag} FROM results{where} ORDER BY id", self._conn)
        for c in JSON_COLUMNS:
            df[c] = df[c].map(lambda s: json.loads(s) if isinstance(s, str) else s)
        df["superseded"] = df["superseded"].astype(bool)
        return df

    # ---- experiment tables ------------------------------------------------------------------

    def write_table(self, name: str, rows: pd.DataFrame, key: list[str]) -> None:
        """Store an experiment's ``rows`` in table ``name``, in one transaction.

        The table is created from the frame's columns when missing (INTEGER for integer and bool
        columns, REAL for floats, TEXT otherwise); columns the table lacks are added. Stored rows
        whose ``key`` values equal those of a new row are replaced (a key may group many rows, e.g.
        the steps of one run). NaN is stored as NULL. An empty
        frame writes nothing (and creates no table, whose column types it could not tell).
        """
        self._check_table_name(name)
        if not isinstance(rows, pd.DataFrame):
            raise TypeError(f"write_table: rows must be a pandas DataFrame, got {type(rows).__name__}")
        columns = [str(c) for c in rows.columns]
        for c in columns:
            _check_identifier(c, "column")
        if len(set(columns)) != len(columns):
            raise ValueError(f"write_table({name!r}): duplicate column names in {columns}")
        key = list(key)
        missing = [k for k in key if k not in columns]
        if not key or missing:
            raise ValueError(f"write_table({name!r}): key column(s) {missing or key} not in the rows ({columns})")
        if rows.empty:
            return
        types = {c: _affinity(rows[c]) for c in columns}
        for c in columns:
            odd = [v for v in rows[c] if not isinstance(v, _SCALARS) and not pd.isna(v)] if types[c] == "TEXT" else []
            if odd:
                raise TypeError(f"write_table({name!r}): column {c!r} holds a {type(odd[0]).__name__} value; "
                                "only numbers, strings and missing values can be stored")
        cells = rows.astype(object).where(rows.notna(), None)
        values = [tuple(_plain(v) for v in r) for r in cells.itertuples(index=False)]
        keys = [tuple(_plain(v) for v in r) for r in cells[key].itertuples(index=False)]
        with self._transaction() as cur:
            cur.execute(f'CREATE TABLE IF NOT EXISTS "{name}" ({", ".join(f"{_q(c)} {types[c]}" for c in columns)})')
            present = {r[1] for r in cur.execute(f'PRAGMA table_info("{name}")')}
            for c in columns:
                if c not in present:
                    cur.execute(f'ALTER TABLE "{name}" ADD COLUMN {_q(c)} {types[c]}')
            cur.executemany(f'DELETE FROM "{name}" WHERE {" AND ".join(f"{_q(k)} IS ?" for k in key)}',
                            list(dict.fromkeys(keys)))
            cur.executemany(f'INSERT INTO "{name}" ({", ".join(map(_q, columns))}) '
                            f'VALUES ({", ".join("?" * len(columns))})', values)

    def read_table(self, name: str) -> pd.DataFrame:
        """Every row of the experiment table ``name`` in insertion order (an empty frame if it does not
        exist); numeric columns come back numeric (NULL as NaN), also when every value is NULL."""
        self._check_table_name(name)
        info = self._conn.execute(f'PRAGMA table_info("{name}")').fetchall()
        if not info:
            return pd.DataFrame()
        frame = pd.read_sql_query(f'SELECT * FROM "{name}" ORDER BY rowid', self._conn)
        for _, col, decl, *_ in info:
            if decl in ("REAL", "INTEGER"):  # a column of NULLs would come back as objects
                frame[col] = pd.to_numeric(frame[col])
        return frame.drop(columns=["id"], errors="ignore")  # tables of version 1 had an id column

    @staticmethod
    def _check_table_name(name: str) -> None:
        _check_identifier(name, "table")
        if name in _RESERVED:
            raise ValueError(f"table name {name!r} is reserved by the store")

    def _transaction(self):
        if self.readonly:
            raise MibenchError(f"store {str(self.path)!r} was opened read-only")
        return _Tx(self)


def _check_identifier(name: str, what: str) -> None:
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or name.lower().startswith(
            "sqlite_"):
        raise ValueError(f"{what} name must be a plain identifier (letters, digits, underscores; not sqlite_...), "
                         f"got {name!r}")


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


_SCALARS = (str, bytes, int, float, bool, np.generic)


def _affinity(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_integer_dtype(series):
        return "INTEGER"
    if pd.api.types.is_float_dtype(series):
        return "REAL"
    return "TEXT"


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on error (the connection is in autocommit mode); a
    store locked by another writer for longer than the busy timeout is an InfrastructureError."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __enter__(self) -> sqlite3.Cursor:
        self.cur = self.store._conn.cursor()
        try:
            self.cur.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise self.store._locked_or(exc) from None
        return self.cur

    def __exit__(self, exc_type, *_):
        if exc_type is None:
            try:
                self.cur.execute("COMMIT")
                return False
            except sqlite3.OperationalError as exc:
                self.cur.execute("ROLLBACK")
                raise self.store._locked_or(exc) from None
        self.cur.execute("ROLLBACK")
        return False


def open_existing(path: str | os.PathLike) -> Store:
    """Open an existing store read-only (export, leaderboard, report)."""
    return Store(path, readonly=True)
