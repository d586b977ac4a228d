"""The Experiment contract: a named procedure that is not a task x estimator grid.

An experiment (the streaming staircase, the information plane, self-consistency checks) is an
object registered under the ``mibench.experiments`` entry point. It owns its run, the table of
the store its rows go to, its figures and its report section; the CLI gives each registered
experiment a subcommand ``mibench NAME`` and ``mibench report`` asks each for its section.
"""

from __future__ import annotations

import argparse
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Experiment(Protocol):
    #: the subcommand and registry name, e.g. ``staircase``
    name: str
    #: one line for ``mibench --help`` and ``mibench list experiments``
    description: str
    #: the store table its rows go to
    table: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Declare the experiment's command-line options."""

    def main(self, args: argparse.Namespace) -> int:
        """Run from parsed options (user errors raise ``MibenchError``); returns an exit code."""

    def parse_preset(self, config: dict[str, Any], where: str) -> Any:
        """Check a preset's ``[NAME]`` table (``where`` names it in messages; raise ``MibenchError``)
        and return the options it sets; called when the preset is loaded, before anything runs."""

    def run_preset(self, config: dict[str, Any], store: str) -> None:
        """Run the experiment as a preset's ``[NAME]`` table asks, into the store (``mibench bench``);
        what the store already holds is not run again."""

    def report_section(self, store: Any, figdir: Any, rows: Any = None) -> str | None:
        """HTML for ``mibench report`` from an open store (figures written under ``figdir``; ``rows``
        replace the store's rows when given), or None when there are no rows of this experiment."""
