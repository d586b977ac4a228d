"""Suites exposed through the ``mibench.tasks`` entry point (suite name -> callable)."""

from mibench.tasks.awgn import awgn_suite
from mibench.tasks.bmi import bmi_suite
from mibench.tasks.digits import digits_suite
from mibench.tasks.flows import flows_suite
from mibench.tasks.gaussian import gaussian_suite
from mibench.tasks.images import images_suite
from mibench.tasks.mixed import mixed_suite
from mibench.tasks.mixtures import mixtures_suite
from mibench.tasks.random_tasks import random_suite
from mibench.tasks.staircase import staircase_suite
from mibench.tasks.sweeps import sweeps_suite

__all__ = ["awgn_suite", "bmi_suite", "digits_suite", "flows_suite", "gaussian_suite", "images_suite",
           "mixed_suite", "mixtures_suite", "random_suite", "staircase_suite",
           "sweeps_suite"]
