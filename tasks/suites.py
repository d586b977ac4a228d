"""Suites exposed through the ``mibench.tasks`` entry point (suite name -> callable)."""

from mibench.tasks.gaussian import gaussian_suite
from mibench.tasks.images import images_suite
from mibench.tasks.staircase import staircase_suite

__all__ = ["gaussian_suite", "images_suite", "staircase_suite"]
