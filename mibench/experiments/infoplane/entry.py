"""The experiment object registered under ``mibench.experiments`` as ``infoplane`` (the shape of the
core's Experiment contract: CLI options, a run from parsed options, a preset's table, a report section)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mibench.core.errors import MibenchError

from . import cli, experiment, report

PRESET_KEYS = {"estimators", *experiment.DEFAULTS}


class Infoplane:
    name = "infoplane"
    table = experiment.TABLE
    description = "information plane: I(X; L) and I(L; Y) of a noise-injected classifier's layers while it trains"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        cli.add_arguments(parser)

    def main(self, args: argparse.Namespace) -> int:
        """As ``mibench.experiments.infoplane.main``, but user errors raise ``MibenchError`` (the CLI prints them)."""
        return cli.run_from_args(args)

    def parse_preset(self, config: dict[str, Any], where: str) -> dict[str, Any]:
        """A preset's ``[infoplane]`` table: ``estimators`` (list of specs, default ["wkl"]) and any of
        ``run``'s options (``epochs``, ``sigma``, ``compression``, ...); checked before anything runs."""
        extra = set(config) - PRESET_KEYS
        if extra:
            raise MibenchError(f"{where}: unknown key(s) {sorted(extra)} (known: {sorted(PRESET_KEYS)})")
        est = config.get("estimators", ["wkl"])
        if not isinstance(est, list) or not est or not all(isinstance(s, str) for s in est):
            raise MibenchError(f"{where}: estimators must be a list of estimator specs, got {est!r}")
        specs, _ = experiment._estimators(est)
        opts = experiment._check({**experiment.DEFAULTS, **{k: v for k, v in config.items() if k != "estimators"}})
        return {"estimators": specs, **opts}

    def run_preset(self, config: dict[str, Any], store: str) -> None:
        """The preset's run into the store, unless the store already holds its rows for every estimator."""
        opts = self.parse_preset(config, "[infoplane]")
        specs = opts.pop("estimators")
        _, _, _, _, _, run_id = experiment.prepare(opts, None)
        done = set()
        if Path(store).is_file():
            from mibench.execution.store import open_existing

            with open_existing(store) as db:
                rows = db.read_table(self.table)
            if len(rows):
                done = set(rows.loc[rows["run_id"] == run_id, "estimator"])
        todo = [s for s in specs if s not in done]
        if todo:
            experiment.run(todo, store=store, **opts)

    def report_section(self, db, figdir: Path | None = None, rows=None) -> str | None:
        """HTML from an open store (or ``rows``), figures under ``figdir``; None without rows."""
        return report.report_section(db if rows is None else rows, figdir=figdir) or None


EXPERIMENT = Infoplane()
