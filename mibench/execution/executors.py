"""Executors run cell jobs and yield their rows as cells finish; the runner stores them.

The ``Executor`` protocol is what ``mibench.run(executor=...)`` accepts: ``LocalExecutor`` (a
process pool on this machine, the default) and ``RayExecutor`` (a Ray cluster,
``mibench.execution.ray_executor``). An estimator's failure, crash, hang or out-of-memory kill
becomes a ``failed``/``timeout`` row; a failure of the executor itself (the pool broke, workers
cannot start) raises ``InfrastructureError`` and is never stored as an estimator's result.
The progress bar shared by the executors lives here too.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import sys
import warnings
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

from mibench.core.errors import InfrastructureError
from mibench.execution.grid import BatchJob, CellJob, cells_of, positive_int
from mibench.execution.worker import execute_job, failed_rows, worker_started

_PRELOAD = ["mibench", "mibench.execution.worker", "numpy", "scipy.special", "scipy.spatial", "pandas"]

#: what a user sees when worker processes die while starting, before running any cell
_START_FAILURE = (
    "worker processes could not start. If you called mibench.run from a script, put the call under "
    "`if __name__ == '__main__':` (workers import your script); otherwise a plug-in may fail to import "
    "in a fresh process. No row was stored for the affected cells; re-run to resume."
)


@runtime_checkable
class Executor(Protocol):
    """Runs jobs (cells, or batches of seeds: ``mibench.execution.batching``); ``run`` yields one row (a
    dict) per cell, in completion order."""

    #: a short name for the run record (``local``, ``ray``)
    name: str
    #: how many cells run at once (used to share the cores' threads between cells)
    workers: int

    def run(self, jobs: Sequence[CellJob | BatchJob], timeout: float | None) -> Iterator[dict[str, Any]]: ...


def default_workers(workers: int | None) -> int:
    """``workers`` validated; default and cap: the number of cores (more processes than cores
    only oversubscribe them, and each cell already uses its share of the cores' threads)."""
    cores = os.cpu_count() or 1
    if workers is None:
        return cores
    positive_int(workers, "workers")
    if workers > cores:
        warnings.warn(f"workers={workers} exceeds the {cores} cores of this machine; using {cores}",
                      RuntimeWarning, stacklevel=3)
        return cores
    return workers


class LocalExecutor:
    """A pebble process pool on this machine: workers forked from a fork server that preloads the
    heavy imports and reused across cells; pebble replaces a worker that crashed or was killed for a
    timeout. Workers exit when the driver process disappears (even on SIGKILL), and the pool is
    shut down in order, so a normal run leaves no processes or semaphores behind."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers(workers)

    def run(self, jobs: Sequence[CellJob | BatchJob], timeout: float | None) -> Iterator[dict[str, Any]]:
        from concurrent.futures.process import BrokenProcessPool

        from pebble import ProcessExpired, ProcessPool

        if not jobs:
            return
        ctx = multiprocessing.get_context("forkserver")
        # torch is preloaded only when the grid's estimators imported it here (it is slow to import)
        ctx.set_forkserver_preload(_PRELOAD + (["torch"] if "torch" in sys.modules else []))
        pool = ProcessPool(max_workers=min(self.workers, len(jobs)), max_tasks=0, context=ctx,
                           initializer=worker_started, initargs=(os.getpid(),))
        finished = False
        started_any = False
        try:
            futures = {pool.schedule(execute_job, args=(job,), timeout=job_timeout(job, timeout)): job
                       for job in jobs}
            for fut in cf.as_completed(futures):
                job = futures[fut]
                try:
                    rows = fut.result()
                except cf.TimeoutError:
                    rows = failed_rows(job, "timeout", timeout_text(job, timeout))
                except ProcessExpired as exc:
                    if exc.exitcode == _START_EXIT:
                        raise InfrastructureError(_START_FAILURE) from None
                    rows = failed_rows(job, "failed", death_reason(exc.exitcode))
                except (BrokenProcessPool, RuntimeError, OSError, EOFError) as exc:
                    if not started_any or isinstance(exc, BrokenProcessPool):
                        raise InfrastructureError(f"{_START_FAILURE} ({type(exc).__name__}: {exc})") from None
                    raise
                started_any = True
                yield from rows
            finished = True
        finally:
            locks = _channel_locks(pool)
            if finished:
                pool.close()  # every cell is done: let the workers exit on their own
            else:
                pool.stop()  # interrupted or broken: terminate the workers now
            pool.join()
            del locks  # every worker has been joined: the semaphores can go now


def job_timeout(job: CellJob | BatchJob, timeout: float | None) -> float | None:
    """A job's time limit: the per-cell timeout, times the number of seeds for a batch."""
    return None if timeout is None else timeout * len(cells_of(job))


def timeout_text(job: CellJob | BatchJob, timeout: float | None) -> str:
    k = len(cells_of(job))
    if k == 1:
        return f"exceeded the per-cell timeout of {timeout:g} s"
    return f"its batch of {k} seeds exceeded {k} x the per-cell timeout of {timeout:g} s"


def _channel_locks(pool) -> tuple:
    """The semaphores of the pool's worker channel, to keep them alive until ``pool.join()`` has
    joined every worker. ``join`` drops pebble's references to them (which unlinks them) before it
    stops the workers, and a worker launched just before (the replacement of one that crashed in the
    last cell) opens them by name while it unpickles its channel: unlinked, it fails with a
    traceback from the fork server's child. pebble internals: without them, nothing is kept."""
    channel = getattr(getattr(getattr(pool, "_pool_manager", None), "worker_manager", None), "workers_channel", None)
    mutex = getattr(channel, "mutex", None)
    return tuple(lock for lock in (getattr(mutex, "reader_mutex", None), getattr(mutex, "writer_mutex", None))
                 if lock is not None)


#: exit status of a worker process that refused to start (see ``refuse_worker_start``)
_START_EXIT = 86


def refuse_worker_start(message: str) -> None:
    """Called by ``mibench.run`` when it finds itself inside a worker that is importing the user's
    script (no ``__main__`` guard): one line on stderr and a distinctive exit status the driver
    recognises, instead of a traceback and a stored failure."""
    print(f"mibench: error: {message}", file=sys.stderr)
    os._exit(_START_EXIT)


def death_reason(exitcode) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        extra = " (out of memory?)" if name == "SIGKILL" else ""
        return f"worker process died: killed by {name}{extra}"
    return f"worker process died with exit code {exitcode}"


class Progress:
    """A tqdm bar of finished cells with the count of failures (shown when stderr is a terminal,
    or when asked)."""

    def __init__(self, total: int, show: bool | None) -> None:
        from tqdm import tqdm

        self.failed = 0
        show = sys.stderr.isatty() if show is None else show
        self.bar = tqdm(total=total, unit="cell", desc="mibench", dynamic_ncols=True) if show and total else None

    def tick(self, row: dict[str, Any]) -> None:
        if row["status"] != "ok":
            self.failed += 1
        if self.bar is not None:
            self.bar.set_postfix(failed=self.failed, refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
