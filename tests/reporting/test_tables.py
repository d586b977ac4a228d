"""Leaderboard tables stay tables whatever a plug-in names its tasks and specs."""

import csv
import io

import pandas as pd

from mibench.reporting.tables import render
from tests.execution.test_store import _row


def _rows():
    return pd.DataFrame([
        _row(task_id="pipe|task", estimator="est:label=a|b", seed=0, estimate=1.1),
        _row(task_id="pipe|task", estimator="est:label=a|b", seed=1, estimate=0.9),
        _row(task_id="=1+2", estimator="@SUM(A1)", seed=0, estimate=1.0),
        _row(task_id="=1+2", estimator="@SUM(A1)", seed=1, estimate=1.2),
    ])


def test_markdown_escapes_pipes_so_every_row_keeps_its_columns():
    text = render(_rows(), "md")
    tables, current = [], []
    for line in text.splitlines() + [""]:  # consecutive table lines form one table
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    assert len(tables) >= 2  # a league ranking and the per-task table
    for lines in tables:
        columns = lines[0].count("|") - lines[0].count("\\|")
        for line in lines[2:]:
            assert line.count("|") - line.count("\\|") == columns, line
    assert "pipe\\|task" in text and "a\\|b" in text


def test_csv_cells_that_start_like_formulas_are_quoted_as_text():
    parsed = list(csv.DictReader(io.StringIO(render(_rows(), "csv"))))
    tasks = {r["task_id"] for r in parsed}
    ests = {r["estimator"] for r in parsed}
    assert "'=1+2" in tasks and "=1+2" not in tasks
    assert "'@SUM(A1)" in ests and "pipe|task" in tasks  # a pipe is harmless in CSV
