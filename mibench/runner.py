"""The harness: a grid of tasks x estimators x sample sizes x seeds, each cell in its own process.

Every estimator sees the same samples for a given (task, n, seed): each worker draws them from
that triple. Cells run in a pebble process pool (workers forked from a forkserver that preloads
the heavy imports, and reused across cells), so an exception, a hard crash, a hang past the
timeout or an out-of-memory kill becomes a row with status ``failed``/``timeout`` and its reason
(pebble replaces the dead or killed worker).
Rows are written to the SQLite store as cells finish; finished cells are skipped on re-run.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import pickle
import platform
import signal
import sys
import tempfile
from collections.abc import Iterable, Sequence
from importlib import metadata
from typing import Any

import pandas as pd

from mibench.errors import MibenchError
from mibench.estimator import config_hash, estimator_config
from mibench.registry import build_estimator, get_task, list_tasks, resolve_estimator
from mibench.spec import Spec
from mibench.store import Store
from mibench.task import Task, check_sample_request
from mibench.worker import CellJob, execute_cell, failed_row, now

DEFAULT_STORE = os.path.join("results", "mibench.sqlite")
_PRELOAD = ["mibench", "mibench.worker", "numpy", "scipy.special", "scipy.spatial", "pandas"]


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
    executor: str = "local",
    address: str | None = None,
) -> pd.DataFrame:
    """Run a grid and return its rows (finished earlier or now) as a DataFrame.

    Args:
        tasks: Task objects or task ids; ``suite``: suite name(s). Their union is used.
        estimators: spec strings such as ``"ksg:k=5"``.
        n: sample size(s). seeds: a count K (seeds 0..K-1) or explicit seeds.
        store: SQLite path (a temporary file when None). workers: processes (default: cores).
        timeout: seconds per cell; a cell running longer becomes a ``timeout`` row.
        progress: show a tqdm bar (default: when stderr is a terminal).
        retry_failed: run again the cells stored as failed/timeout.
        executor: ``local`` (process pool) or ``ray``; ``address``: Ray cluster address.
    """
    if multiprocessing.parent_process() is not None and "__mp_main__" in sys.modules:
        raise MibenchError(
            "mibench.run was called while a worker process was importing your script; "
            "put the call under `if __name__ == '__main__':`"
        )
    workers = _positive_int(workers if workers is not None else (os.cpu_count() or 1), "workers")
    grid = build_grid(tasks, suite, estimators, n, seeds, workers)
    if store is None:
        store = os.path.join(tempfile.mkdtemp(prefix="mibench-"), "results.sqlite")
    if timeout is not None and not timeout > 0:
        raise MibenchError(f"timeout must be a positive number of seconds, got {timeout!r}")
    with Store(store) as db:
        keys = {job.key for job in grid}
        if retry_failed:
            db.delete_failed(keys)
        done = db.done_keys()
        todo = [job for job in grid if job.key not in done]
        db.add_run(now(), {
            "tasks": sorted({j.task_id for j in grid}), "estimators": sorted({j.spec.text for j in grid}),
            "n": sorted({j.n for j in grid}), "seeds": sorted({j.seed for j in grid}),
            "workers": workers, "timeout": timeout, "executor": executor, "cells": len(grid),
            "skipped": len(grid) - len(todo), "versions": _versions(),
        })
        if todo:
            if executor == "local":
                _run_local(todo, db, workers, timeout, progress)
            elif executor == "ray":
                from mibench.ray_executor import run_ray

                run_ray(todo, db, timeout=timeout, progress=progress, address=address, num_cpus=workers)
            else:
                raise MibenchError(f"unknown executor {executor!r} (choose local or ray)")
        df = db.dataframe()
    mask = pd.Series([(t, e, int(nn), int(s)) in keys for t, e, nn, s in
                      zip(df.task_id, df.estimator, df.n, df.seed)], index=df.index, dtype=bool)
    return df[mask].reset_index(drop=True)


def build_grid(tasks, suite, estimators, n, seeds, workers: int = 1) -> list[CellJob]:
    """Resolve names and specs (user errors surface here, before anything runs) into cells."""
    task_list = _resolve_tasks(tasks, suite)
    sizes = [check_sample_request(v, 0)[0] for v in _as_list(n)]
    seed_list = list(range(_positive_int(seeds, "seeds"))) if isinstance(seeds, int) else [
        check_sample_request(1, s)[1] for s in seeds]
    if not sizes or not seed_list:
        raise MibenchError("the grid needs at least one sample size and one seed")
    specs = list(estimators)
    if not specs:
        raise MibenchError("no estimator given (e.g. --estimator ksg)")
    versions = _versions()
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
    jobs = []
    for task in task_list:
        tblob = _blob(task, f"task {task.id!r}")
        tmeta = {"task_family": task.family, "truth": task.mutual_information, "truth_stderr": task.mi_stderr}
        for size in sizes:
            for seed in seed_list:
                for spec, fblob, emeta in resolved:
                    jobs.append(CellJob(tblob, fblob, spec, task.id, size, seed,
                                        meta={**tmeta, **emeta}, sys_path=sys_path, threads=threads))
    seen = set()
    unique = []
    for j in jobs:  # the same spec twice, or a task listed twice, runs once
        if j.key not in seen:
            seen.add(j.key)
            unique.append(j)
    return unique


def _run_local(todo: list[CellJob], db: Store, workers: int, timeout, progress) -> None:
    from pebble import ProcessExpired, ProcessPool

    ctx = multiprocessing.get_context("forkserver")
    # torch is preloaded only when the grid's estimators imported it here (it is slow to import)
    ctx.set_forkserver_preload(_PRELOAD + (["torch"] if "torch" in sys.modules else []))
    bar = _progress(len(todo), progress)
    # workers are reused across cells (imports and JIT caches load once per worker); pebble replaces
    # a worker that crashed or was killed for a timeout
    pool = ProcessPool(max_workers=min(workers, len(todo)), max_tasks=0, context=ctx)
    try:
        futures = {pool.schedule(execute_cell, args=(job,), timeout=timeout): job for job in todo}
        for fut in cf.as_completed(futures):
            job = futures[fut]
            try:
                row = fut.result()
            except cf.TimeoutError:
                row = failed_row(job, "timeout", f"exceeded the per-cell timeout of {timeout:g} s")
            except ProcessExpired as exc:
                row = failed_row(job, "failed", _death_reason(exc.exitcode))
            except Exception as exc:  # e.g. the job could not be sent to the worker
                row = failed_row(job, "failed", f"{type(exc).__name__}: {exc}")
            db.add(row)
            _tick(bar, row)
    finally:
        pool.stop()
        pool.join()
        if bar is not None:
            bar.close()


def _progress(total: int, progress):
    from tqdm import tqdm

    show = sys.stderr.isatty() if progress is None else progress
    if not show:
        return None
    bar = tqdm(total=total, unit="cell", desc="mibench", dynamic_ncols=True)
    bar.failed = 0
    return bar


def _tick(bar, row) -> None:
    if bar is None:
        return
    if row["status"] != "ok":
        bar.failed += 1
    bar.set_postfix(failed=bar.failed, refresh=False)
    bar.update(1)


def _death_reason(exitcode) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        extra = " (out of memory?)" if name == "SIGKILL" else ""
        return f"worker process died: killed by {name}{extra}"
    return f"worker process died with exit code {exitcode}"


def _resolve_tasks(tasks, suite) -> list[Task]:
    out: list[Task] = []
    for s in _as_list(suite) if suite is not None else []:
        out.extend(list_tasks(s))
    for t in tasks or []:
        out.append(t if isinstance(t, Task) else get_task(t))
    if not out:
        raise MibenchError("no tasks selected (give --suite or --task)")
    unique: dict[str, Task] = {}
    for t in out:
        unique.setdefault(t.id, t)
    return list(unique.values())


def _blob(obj, what: str) -> bytes:
    try:
        return pickle.dumps(obj)
    except Exception as exc:
        raise MibenchError(
            f"{what} cannot be sent to a worker process ({type(exc).__name__}: {exc}); "
            "define it at module level instead of as a lambda or closure"
        ) from None


def _as_list(v) -> list:
    return [v] if isinstance(v, (int, str)) else list(v)


def _positive_int(v, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        raise MibenchError(f"{what} must be a positive integer, got {v!r}")
    return v


def _versions() -> dict[str, Any]:
    out: dict[str, Any] = {"python": platform.python_version()}
    for dist in ("mibench", "numpy", "scipy", "pandas", "torch", "normflows"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out
