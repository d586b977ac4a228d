"""The ``mibench`` command (``mibench.cli.main``)."""

from mibench.cli.main import main

__all__ = ["main"]
