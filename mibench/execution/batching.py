"""Batches of seeds: the cells of one (task, estimator, n) that differ only by seed, as one job.

An estimator with ``estimate_batch(xs, ys, seeds)`` can train several seeds as one batched model.
That pays where tiny models are bound by kernel launches (a GPU), not on CPU, so by default
(``auto``) cells are batched only for estimators that say it pays (``batch_pays`` true: the neural
bounds on CUDA). ``always`` batches every estimator that has ``estimate_batch`` (to check the batched
path on CPU); ``never`` runs every cell alone. Each cell of a batch still gets its own row, and a
seed that fails, fails alone.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence

from mibench.core.errors import MibenchError
from mibench.core.registry import build_estimator
from mibench.execution.grid import BatchJob, CellJob

BATCH_MODES = ("auto", "always", "never")


def check_batch_mode(mode) -> str:
    if mode not in BATCH_MODES:
        raise MibenchError(f"batch_seeds must be one of {', '.join(BATCH_MODES)}, got {mode!r}")
    return mode


def group_seeds(jobs: Sequence[CellJob], mode: str = "auto", max_batch: int | None = None) -> list[CellJob | BatchJob]:
    """``jobs`` with the cells of each batchable (task, estimator, n) merged into batches of at most
    ``max_batch`` seeds (all of them when None), in the order of each group's first cell; a group of
    one cell stays a plain cell."""
    check_batch_mode(mode)
    if mode == "never":
        return list(jobs)
    verdicts: dict[str, bool] = {}
    groups: dict[tuple, list[CellJob]] = {}
    order: list[tuple] = []
    for job in jobs:
        text = job.spec.text
        if text not in verdicts:
            verdicts[text] = _batchable(job, mode)
        key = (job.task_id, text, job.n) if verdicts[text] else ("cell", id(job))
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(job)
    out: list[CellJob | BatchJob] = []
    for key in order:
        cells = groups[key]
        size = max_batch or len(cells)
        for i in range(0, len(cells), size):
            chunk = cells[i:i + size]
            out.append(chunk[0] if len(chunk) == 1 else BatchJob(chunk))
    return out


def _batchable(job: CellJob, mode: str) -> bool:
    """Asked in the driver. An estimator that cannot answer here (``device=cuda`` on a Ray head node
    without a GPU) runs cell by cell, as before batching existed; ``always`` batches it anyway."""
    est = build_estimator(job.spec, pickle.loads(job.factory_blob))
    if not callable(getattr(est, "estimate_batch", None)):
        return False
    if mode == "always":
        return True
    try:
        return bool(est.batch_pays)
    except Exception:
        return False
