"""mibench: a benchmark suite for mutual-information estimators (all values in nats).

The public API, and the only part of mibench that the built-in plug-ins (``mibench.tasks``,
``mibench.estimators``) and third-party packages import.
"""

from mibench.errors import MibenchError
from mibench.estimator import Estimator, call_estimator
from mibench.registry import (
    get_estimator,
    get_task,
    list_estimators,
    list_suites,
    list_tasks,
    register_estimator,
    register_suite,
)
from mibench.runner import run
from mibench.task import Task, TransformedSampler
from mibench.validation import standardize, validate_xy

__version__ = "0.1.0"

__all__ = [
    "Estimator",
    "MibenchError",
    "Task",
    "TransformedSampler",
    "call_estimator",
    "get_estimator",
    "get_task",
    "list_estimators",
    "list_suites",
    "list_tasks",
    "register_estimator",
    "register_suite",
    "run",
    "standardize",
    "validate_xy",
]
