"""The contracts every other layer builds on: tasks, estimators, specs, validation, errors, the
plug-in registry and the conformance checks. Imports nothing from the rest of mibench."""

from mibench.core.errors import DivergedError, EstimatorFailure, InfrastructureError, MibenchError
from mibench.core.estimator import Estimator, as_estimate, call_estimator, config_hash, estimator_config
from mibench.core.experiment import Experiment
from mibench.core.params import DEVICE, SEED, Bool, Choice, Float, Int, Param, Str
from mibench.core.registry import (
    Alias,
    canonical_spec,
    get_estimator,
    get_experiment,
    get_task,
    list_estimators,
    list_experiments,
    list_suites,
    list_tasks,
    register_estimator,
    register_suite,
    registered,
)
from mibench.core.spec import Spec, parse_spec
from mibench.core.task import Sampler, Task, TransformedSampler
from mibench.core.validation import power_of_two_scaled, standardize, validate_xy

__all__ = [
    "DEVICE", "SEED", "Alias", "Bool", "Choice", "DivergedError", "Estimator", "EstimatorFailure", "Experiment",
    "Float",
    "InfrastructureError", "Int", "MibenchError", "Param", "Sampler", "Spec", "Str", "Task", "TransformedSampler",
    "as_estimate", "call_estimator", "canonical_spec", "config_hash", "estimator_config", "get_estimator",
    "get_experiment", "get_task", "list_estimators", "list_experiments", "list_suites", "list_tasks", "parse_spec",
    "register_estimator", "register_suite", "power_of_two_scaled", "registered", "standardize", "validate_xy",
]
