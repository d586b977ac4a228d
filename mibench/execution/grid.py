"""A run's grid: tasks x estimators x sample sizes x seeds, resolved into picklable cell jobs.

Every user error (unknown name, malformed spec, bad parameter value, bad n or seed, an object
that cannot be sent to a worker) surfaces here, before anything runs.
"""

from __future__ import annotations

import functools
import os
import pickle
import platform
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from mibench.core.errors import MibenchError
from mibench.core.estimator import config_hash, estimator_config
from mibench.core.registry import build_estimator, get_task, list_tasks, resolve_estimator
from mibench.core.spec import Spec
from mibench.core.task import Task, check_sample_request

#: the row key of a cell: (task id, canonical estimator spec, n, seed)
CellKey = tuple[str, str, int, int]


@dataclass
class CellJob:
    """One cell, everything a worker needs to compute its row (task and factory pickled)."""

    task_blob: bytes
    factory_blob: bytes
    spec: Spec
    task_id: str
    n: int
    seed: int
    meta: dict[str, Any] = field(default_factory=dict)  # row fields known to the driver
    sys_path: list[str] = field(default_factory=list)
    threads: int | None = None  # native threads (BLAS, OpenMP, torch) this cell may use

    @property
    def key(self) -> CellKey:
        return (self.task_id, self.spec.text, self.n, self.seed)

    @property
    def identity(self) -> tuple[str, str]:
        """What the stored row must have been computed for: (task fingerprint, estimator config hash)."""
        return (self.meta["task_fingerprint"], self.meta["config_hash"])


@dataclass
class BatchJob:
    """Cells of one (task, estimator, n) that differ only by seed, estimated in one ``estimate_batch``
    call (``mibench.execution.batching``); each cell keeps its own row."""

    cells: list[CellJob]

    @property
    def spec(self) -> Spec:
        return self.cells[0].spec

    @property
    def meta(self) -> dict[str, Any]:
        return self.cells[0].meta


def cells_of(job: CellJob | BatchJob) -> list[CellJob]:
    """The cells a job computes: itself, or a batch's cells."""
    return job.cells if isinstance(job, BatchJob) else [job]


def build_grid(tasks, suite, estimators, n, seeds, workers: int = 1) -> list[CellJob]:
    """Resolve names and specs into cells; the same spec twice or a task listed twice runs once."""
    task_list = resolve_tasks(tasks, suite)
    sizes, seed_list = sizes_and_seeds(n, seeds)
    if isinstance(estimators, (str, Spec)):
        estimators = [estimators]
    specs = list(estimators)
    if not specs:
        raise MibenchError("no estimator given (e.g. --estimator ksg)")
    versions = package_versions()
    resolved = []
    for s in specs:
        spec, factory, plugin = resolve_estimator(s)
        est = build_estimator(spec, factory)  # validates parameter values now
        cfg = estimator_config(est)
        resolved.append((spec, _blob(factory, f"estimator {spec.name!r}"), {
            "estimator_name": spec.name, "config": {"spec": spec.params, "resolved": cfg},
            "config_hash": config_hash(spec.name, cfg or spec.params),
            "versions": {**versions, "plugin": plugin.source},
        }))
    sys_path = [p for p in sys.path if p]
    threads = max(1, (os.cpu_count() or 1) // max(1, workers))
    jobs: dict[CellKey, CellJob] = {}
    for task in task_list:
        tblob = _blob(task, f"task {task.id!r}")
        tmeta = {"task_family": task.family, "task_fingerprint": task.fingerprint, "task_params": task.params,
                 "dim_x": task.dim_x, "dim_y": task.dim_y, "is_image": task.is_image,
                 "truth": task.mutual_information, "truth_stderr": task.mi_stderr}
        for size in sizes:
            for seed in seed_list:
                for spec, fblob, emeta in resolved:
                    job = CellJob(tblob, fblob, spec, task.id, size, seed, meta={**tmeta, **emeta},
                                  sys_path=sys_path, threads=threads)
                    jobs.setdefault(job.key, job)
    return list(jobs.values())


def sizes_and_seeds(n, seeds) -> tuple[list[int], list[int]]:
    """A grid's sample sizes and seeds, checked (``seeds``: a count k for 0 .. k-1, or a list)."""
    sizes = [check_sample_request(v, 0)[0] for v in _as_list(n, "n")]
    if isinstance(seeds, bool):
        raise MibenchError(f"seeds must be a count or a list of seeds, got {seeds!r}")
    if isinstance(seeds, int):
        seed_list = list(range(positive_int(seeds, "seeds")))
    else:
        seed_list = [check_sample_request(1, s)[1] for s in _as_list(seeds, "seeds")]
    if not sizes or not seed_list:
        raise MibenchError("the grid needs at least one sample size and one seed")
    return sizes, seed_list


def resolve_tasks(tasks, suite) -> list[Task]:
    """Task objects from suite names and task ids or objects (each id once, first wins)."""
    out: list[Task] = []
    for s in _as_list(suite, "suite") if suite is not None else []:
        out.extend(list_tasks(s))
    if isinstance(tasks, (str, Task)):
        tasks = [tasks]
    for t in tasks or []:
        out.append(t if isinstance(t, Task) else get_task(t))
    if not out:
        raise MibenchError("no tasks selected (give --suite or --task)")
    unique: dict[str, Task] = {}
    for t in out:
        unique.setdefault(t.id, t)
    return list(unique.values())


def positive_int(v, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        raise MibenchError(f"{what} must be a positive integer, got {v!r}")
    return v


def package_versions() -> dict[str, Any]:
    out: dict[str, Any] = {"python": platform.python_version()}
    for dist in ("mibench", "numpy", "scipy", "pandas", "torch", "normflows"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


@functools.cache
def cpu_model() -> str | None:
    """This machine's CPU model name (from /proc/cpuinfo where there is one)."""
    try:
        with open("/proc/cpuinfo") as fh:
            return next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), None)
    except OSError:
        return platform.processor() or None


def machine() -> dict[str, Any]:
    """Where a run ran: host, CPU, cores, memory and GPU (for the report's run table)."""
    info: dict[str, Any] = {"host": platform.node(), "platform": platform.platform(), "cores": os.cpu_count(),
                            "cpu": cpu_model()}
    try:
        info["memory_gb"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def _blob(obj, what: str) -> bytes:
    try:
        return pickle.dumps(obj)
    except Exception as exc:
        raise MibenchError(
            f"{what} cannot be sent to a worker process ({type(exc).__name__}: {exc}); "
            "define it at module level instead of as a lambda or closure"
        ) from None


def _as_list(v, what: str) -> list:
    if isinstance(v, (int, str)):
        return [v]
    if not isinstance(v, Iterable):
        raise MibenchError(f"{what} must be a value or a list of values, got {v!r}")
    return list(v)
