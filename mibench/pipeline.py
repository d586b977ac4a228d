"""``mibench.bench``: run a preset end to end, then write its leaderboards, report and figures.

What ``make bench`` and ``mibench bench`` do, as a library function.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mibench.core.errors import MibenchError
from mibench.core.registry import get_experiment
from mibench.execution.presets import experiment_sections, load_preset, run_preset
from mibench.execution.rows_csv import export_frame
from mibench.execution.store import Store
from mibench.reporting.report import build_report
from mibench.reporting.tables import FORMATS, render


def bench(preset: str = "quick", out: str | Path = "results", *, store: str | Path | None = None,
          workers: int | None = None, progress: bool | None = None, executor: str = "local",
          address: str | None = None) -> pd.DataFrame:
    """Run every grid and experiment of ``preset`` into ``store`` (default ``OUT/PRESET.sqlite``;
    finished cells are reused), then write ``OUT/rows.csv`` (every row, as ``mibench export``),
    ``OUT/leaderboard.{md,csv,html,tex}`` (tex: the LaTeX table), ``OUT/report.html`` and ``OUT/figures/``.
    ``executor``, ``address``: as in ``mibench.run`` (e.g. a Ray cluster). Returns the grid's rows
    (``attrs["cells"]`` counts them)."""
    cfg = load_preset(preset)  # every key checked before anything runs
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MibenchError(f"output folder {str(out)!r} cannot be created ({exc.strerror})") from None
    store = str(store or out / f"{Path(preset).stem}.sqlite")
    rows = run_preset(cfg, store=store, workers=workers, progress=progress, executor=executor, address=address)
    for name, section in experiment_sections(cfg).items():
        get_experiment(name).run_preset(section, store)
    with Store(store, readonly=True) as db:
        runs = db.runs()
        export_frame(db).to_csv(out / "rows.csv", index=False)
    suffix = {"latex": "tex"}
    for fmt in FORMATS:
        (out / f"leaderboard.{suffix.get(fmt, fmt)}").write_text(render(rows, fmt, runs), encoding="utf-8")
    rows.attrs["report"] = str(build_report(store, out))
    rows.attrs["store"] = store
    return rows
