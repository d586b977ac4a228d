"""The report section of the information-plane experiment (HTML, figures embedded)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from mibench.reporting import html

from . import plots, validation
from .experiment import TABLE, VALIDATION_TABLE, InfoplaneResult

_SHOWN = ["layer", "i_xl", "i_xl_err", "i_ly", "i_ly_err", "train_acc", "test_acc", "fano_bound"]


def report_section(source, figdir=None) -> str:
    """HTML for the report: per stored run, the information plane, the curves, the last epoch's
    values and the validation summary. ``source``: a store path, an open store, an
    ``InfoplaneResult``, or the rows (a DataFrame as ``run`` returns; no validation table then).
    Figures are embedded; ``figdir`` keeps their PNG and SVG files too. Empty string without rows."""
    rows, val = _load(source)
    if rows.empty:
        return ""
    parts = ["<h2>Information plane</h2>",
             "<p class='note'>I(X; L) and I(L; Y) of every layer of a noise-injected classifier while it trains "
             "(Butakov et al., ICLR 2024), X and L compressed, then estimated on held-out rows (nats). Error bars: "
             "RMSE of the same compression + estimator pipeline on images with known MI at the same dimensions "
             "and sample size, interpolated at the measured value.</p>"]
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp if figdir is None else figdir)
        for run_id, part in rows.groupby("run_id", sort=False):
            ests = ", ".join(html.esc(str(e)) for e in dict.fromkeys(part["estimator"]))
            parts.append(f"<h3>Run {html.esc(str(run_id))}: {ests}</h3>")
            for name, fig, caption in (
                ("plane", plots.information_plane(part), "Information plane per layer, coloured by epoch."),
                ("curves", plots.curves(part), "I(X; L), I(L; Y) and accuracy against the epoch."),
            ):
                png = plots.figures.save(fig, where / f"infoplane_{run_id}_{name}")[0]
                parts.append(html.figure(png, caption))
            last = part[part["epoch"] == part["epoch"].max()]
            parts.append(f"<p class='note'>Epoch {int(last['epoch'].iloc[0])}.</p>")
            parts.append(html.table(last[["estimator", *_SHOWN]]))
            if val is not None and "validation_id" in part and len(val):
                vids = set(part["validation_id"])
                v = val[val["validation_id"].isin(vids)] if "validation_id" in val else val
                if len(v):
                    parts.append("<p class='note'>Validation (mean, bias, std, RMSE over seeds and image "
                                 "families; nats).</p>")
                    parts.append(html.table(validation.summary(v)))
    return "\n".join(parts)


def _load(source) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    if isinstance(source, InfoplaneResult):
        return source.rows, source.validation.assign(validation_id=source.config.get("validation_id"))
    if isinstance(source, pd.DataFrame):
        return source, None
    if hasattr(source, "read_table"):  # an open store
        return source.read_table(TABLE), source.read_table(VALIDATION_TABLE)
    if isinstance(source, (str, os.PathLike)):
        from mibench.execution.store import open_existing

        with open_existing(source) as db:
            return db.read_table(TABLE), db.read_table(VALIDATION_TABLE)
    raise TypeError(f"report_section: expected a store (path or open), an InfoplaneResult or a DataFrame, "
                    f"got {type(source).__name__}")
