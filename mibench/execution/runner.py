"""The harness: a grid of tasks x estimators x sample sizes x seeds, each cell in a worker process.

Every estimator sees the same samples for a given (task, n, seed): each worker draws them from
that triple. An executor (``LocalExecutor`` by default, ``RayExecutor`` for clusters) runs the
cells; rows are written to the SQLite store as cells finish. On a re-run, cells whose current row
was computed for the same task fingerprint and estimator configuration are skipped; stale ones
(a changed default or task definition) are recomputed and their old rows kept as superseded.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence

import pandas as pd

from mibench.core.errors import MibenchError
from mibench.core.spec import Spec
from mibench.core.task import Task
from mibench.execution.batching import check_batch_mode, group_seeds
from mibench.execution.executors import Executor, LocalExecutor, Progress, default_workers, refuse_worker_start
from mibench.execution.grid import BatchJob, CellJob, build_grid, machine, package_versions
from mibench.execution.store import Store
from mibench.execution.worker import now

DEFAULT_STORE = os.path.join("results", "mibench.sqlite")


def run(
    tasks: Iterable[Task | str] | None = None,
    *,
    suite: str | Sequence[str] | None = None,
    estimators: Iterable[str | Spec],
    n: int | Iterable[int] = (1000,),
    seeds: int | Iterable[int] = 5,
    store: str | os.PathLike | None = None,
    workers: int | None = None,
    timeout: float | None = None,
    progress: bool | None = None,
    retry_failed: bool = False,
    executor: str | Executor = "local",
    address: str | None = None,
    league: str | None = None,
    batch_seeds: str = "auto",
) -> pd.DataFrame:
    """Run a grid and return its current rows (finished earlier or now) as a DataFrame.

    Args:
        tasks: Task objects or task ids; ``suite``: suite name(s). Their union is used.
        estimators: spec strings such as ``"ksg:k=5"``.
        n: sample size(s). seeds: a count K (seeds 0..K-1) or explicit seeds.
        store: SQLite path; None: a temporary store, removed before returning.
        workers: cells at once (default and maximum: the number of cores).
        timeout: seconds per cell; a cell running longer becomes a ``timeout`` row.
        progress: show a tqdm bar (default: when stderr is a terminal).
        retry_failed: run again the cells stored as failed/timeout (their rows are kept, superseded).
        executor: ``"local"`` (process pool), ``"ray"`` (with ``address``), or an ``Executor`` object.
        league: the name under which the grid's estimators are ranked against each other in reports
            (presets name their grids; default: the grid itself, unnamed).
        batch_seeds: ``auto`` (default) trains the seeds of one (task, estimator, n) as one batched model
            where the estimator says it pays (the neural bounds on CUDA); ``always`` wherever the estimator
            has ``estimate_batch``; ``never``: each cell alone. Every cell keeps its own row either way.

    ``result.attrs["cells"]`` counts the grid's cells: ``total``, ``done`` (skipped, already
    current), ``stale`` (recomputed because their task or configuration changed), ``computed``.
    """
    # a worker process re-imports the user's script while it starts (the stdlib's own check reads the
    # same flag); a script without the __main__ guard would start a run from inside every worker
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        refuse_worker_start("mibench.run was called while a worker process was importing your script; "
                            "put the call under `if __name__ == '__main__':`")
    executor = make_executor(executor, workers, address)
    check_batch_mode(batch_seeds)
    grid = build_grid(tasks, suite, estimators, n, seeds, executor.workers)
    if league is not None and not (isinstance(league, str) and league):
        raise MibenchError(f"league must be a non-empty string, got {league!r}")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0):
        raise MibenchError(f"timeout must be a positive number of seconds, got {timeout!r}")
    tmpdir = tempfile.mkdtemp(prefix="mibench-") if store is None else None
    try:
        path = os.path.join(tmpdir, "results.sqlite") if tmpdir else store
        with Store(path) as db:
            frame, counts = _run_grid(grid, db, executor, timeout, progress, retry_failed, league, batch_seeds)
    finally:
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)
    frame.attrs["cells"] = counts
    return frame


def make_executor(executor: str | Executor, workers: int | None, address: str | None) -> Executor:
    if executor == "local":
        return LocalExecutor(workers)
    if executor == "ray":
        from mibench.execution.ray_executor import RayExecutor

        return RayExecutor(address=address, num_cpus=default_workers(workers))
    if isinstance(executor, Executor):
        return executor
    raise MibenchError(f"unknown executor {executor!r} (choose local or ray, or pass an Executor)")


def _run_grid(grid: list[CellJob], db: Store, executor: Executor, timeout, progress, retry_failed, league,
              batch_seeds="auto"):
    keys = {job.key for job in grid}
    if retry_failed:
        db.supersede(keys, failed_only=True)
    current = db.current_cells()
    todo, stale = [], 0
    for job in grid:
        stored = current.get(job.key)
        if stored is not None and stored[:2] == job.identity:
            continue
        stale += stored is not None
        todo.append(job)
    jobs = group_seeds(todo, batch_seeds)  # before anything is recorded: a refusal here leaves no trace
    counts = {"total": len(grid), "done": len(grid) - len(todo), "stale": stale, "computed": len(todo)}
    db.add_run(now(), {
        "tasks": sorted({j.task_id for j in grid}), "estimators": sorted({j.spec.text for j in grid}),
        "n": sorted({j.n for j in grid}), "seeds": sorted({j.seed for j in grid}),
        "workers": executor.workers, "timeout": timeout, "executor": executor.name, "cells": len(grid),
        "skipped": counts["done"], "stale": stale, "versions": package_versions(), "league": league,
        "machine": machine(), "batch_seeds": batch_seeds,
        "batches": sum(isinstance(j, BatchJob) for j in jobs),
    })
    bar = Progress(len(todo), progress)
    try:
        for row in executor.run(jobs, timeout):
            db.add(row)
            bar.tick(row)
    finally:
        bar.close()
    df = db.dataframe()
    mask = pd.Series([(t, e, int(nn), int(s)) in keys for t, e, nn, s in
                      zip(df.task_id, df.estimator, df.n, df.seed)], index=df.index, dtype=bool)
    return df[mask].reset_index(drop=True), counts
