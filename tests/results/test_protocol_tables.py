"""The protocol tables quoted in the README are what the table tools print from the committed rows today
(so a re-run protocol and its quoted numbers cannot drift apart)."""

import importlib.util
from pathlib import Path

import pytest

from mibench.execution.rows_csv import read_rows_csv

ROOT = Path(__file__).resolve().parents[2]


def _tool(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("table", ["curves", "error_vs_n"])
def test_sweeps_tables_in_the_readme(table):
    rows = read_rows_csv(ROOT / "results" / "sweeps" / "rows.csv")
    text = getattr(_tool("sweeps_table"), table)(rows)
    assert text.count("\n") >= 5, text  # a header, its rule and rows of estimators
    assert text in (ROOT / "README.md").read_text(), f"README's sweeps {table} table is stale:\n{text}"


@pytest.mark.parametrize("size", [16])
def test_mienf_images_table_in_the_readme(size):
    rows = read_rows_csv(ROOT / "results" / "mienf-images" / "rows.csv")
    text = _tool("mienf_images_table").compact(rows, size)
    assert text in (ROOT / "README.md").read_text(), f"README's mienf-images table is stale:\n{text}"
