"""What runs inside a worker process: draw the samples of one cell, time the estimator, build its row.

Samples are generated here from (task, n, seed), so large samples never cross a process boundary.
The task and the estimator factory arrive pickled together with the driver's ``sys.path``,
so factories from packages the driver found (e.g. a plug-in in a temporary folder) import here too.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import pickle
import resource
import sys
import time
from typing import Any

from mibench.core.estimator import call_estimator, call_estimator_batch, estimator_config
from mibench.core.registry import build_estimator
from mibench.execution.grid import BatchJob, CellJob, cells_of, cpu_model


def now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def base_row(job: CellJob) -> dict[str, Any]:
    return {
        **job.meta,
        "task_id": job.task_id,
        "estimator": job.spec.text,
        "estimator_name": job.spec.name,
        "n": job.n,
        "seed": job.seed,
        "estimate": None,
        "ci_low": None,
        "ci_high": None,
        "ci_level": None,
        "seconds": None,
        "cpu_seconds": None,
        "device": None,
        "peak_memory_mb": None,
        "info": {},
        "error": None,
        "timestamp": now(),
        # the CPU that computed the row (the worker's, also on a cluster): float32 training repeats
        # bit for bit only on the same CPU model (numba and MKL pick their vector code by the host's ISA)
        "versions": {**job.meta.get("versions", {}), "cpu": cpu_model()},
    }


def failed_row(job: CellJob, status: str, error: str) -> dict[str, Any]:
    return {**base_row(job), "status": status, "error": error}


def failed_rows(job: CellJob | BatchJob, status: str, error: str) -> list[dict[str, Any]]:
    """A failed/timeout row for every cell of a job (a batch dies or times out as a whole)."""
    return [failed_row(cell, status, error) for cell in cells_of(job)]


def execute_job(job: CellJob | BatchJob) -> list[dict[str, Any]]:
    """The rows of a job: one cell's, or every cell's of a batch of seeds."""
    return execute_batch(job) if isinstance(job, BatchJob) else [execute_cell(job)]


def _prepare(job: CellJob):
    """The task and the estimator of a job's cells, in this worker (its import path and thread cap set)."""
    for p in job.sys_path:
        if p not in sys.path:
            sys.path.append(p)
    task = pickle.loads(job.task_blob)
    factory = pickle.loads(job.factory_blob)
    if job.threads:
        _limit_threads(job.threads)
    return task, build_estimator(job.spec, factory)


def _draw(task, estimator, n: int, seed: int):
    x, y = task.sample(n, seed)
    if task.is_image and not getattr(estimator, "accepts_images", False):
        # estimators written for vectors see images flattened to (n, pixels)
        x, y = x.reshape(len(x), -1), y.reshape(len(y), -1)
    return x, y


def _finish_ok(row: dict[str, Any], estimator, value: float, info: dict[str, Any], cuda) -> None:
    row.update(estimate=value, info=info, status="ok", **interval(info))
    row["device"] = str(info.get("device") or getattr(estimator, "device", None) or "cpu")
    if cuda is not None and row["device"].startswith("cuda"):
        row["peak_memory_mb"] = cuda.max_memory_allocated() / 2**20


def _estimate_into(row: dict[str, Any], estimator, x, y, cuda, extra: dict[str, Any] | None = None) -> None:
    """One timed ``estimate`` (CUDA-synchronised) into ``row``; its exception propagates."""
    t0, c0 = time.perf_counter(), time.process_time()
    value, info = call_estimator(estimator, x, y)
    if cuda is not None:
        cuda.synchronize()
    row["seconds"], row["cpu_seconds"] = time.perf_counter() - t0, time.process_time() - c0
    _finish_ok(row, estimator, value, {**info, **(extra or {})}, cuda)


def execute_cell(job: CellJob) -> dict[str, Any]:
    """Run one cell; every exception becomes a ``failed`` row (crashes and hangs are the driver's)."""
    row = base_row(job)
    peak_reset = _reset_peak_rss()
    try:
        task, estimator = _prepare(job)
        x, y = _draw(task, estimator, job.n, job.seed)
        _estimate_into(row, estimator, x, y, _cuda_start())
    except Exception as exc:  # the estimator's (or sampler's) failure is data, not a crash
        row.update(status="failed", error=_error_text(exc))
    if row["peak_memory_mb"] is None:
        row["peak_memory_mb"] = _peak_rss_mb(peak_reset)
    row["timestamp"] = now()
    return row


def execute_batch(batch: BatchJob) -> list[dict[str, Any]]:
    """Run a batch of seeds as one ``estimate_batch`` call. Each cell gets its own row with its own
    estimate or failure; a seed whose sampling or estimate fails, fails alone. The seeds train with
    the estimator's own seed (as every unbatched cell does: the cell's seed is the data's), and the
    wall and CPU time of the call are shared out evenly (``info["batch"]`` keeps the totals). If the
    batched call fails as a whole, each cell runs alone (``info["batch_fallback"]`` says why)."""
    rows = [base_row(cell) for cell in batch.cells]
    peak_reset = _reset_peak_rss()
    try:
        task, estimator = _prepare(batch.cells[0])
        live, xs, ys = [], [], []
        for k, cell in enumerate(batch.cells):
            try:
                x, y = _draw(task, estimator, cell.n, cell.seed)
            except Exception as exc:
                rows[k].update(status="failed", error=_error_text(exc))
                continue
            live.append(k)
            xs.append(x)
            ys.append(y)
        own_seed = estimator_config(estimator).get("seed", 0)
        cuda = _cuda_start()
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            results = call_estimator_batch(estimator, xs, ys, [own_seed] * len(live)) if live else []
        except Exception as exc:  # the batched call as a whole (CUDA out of memory, say): each cell alone
            _run_alone(rows, live, xs, ys, estimator, cuda, _error_text(exc))
        else:
            if cuda is not None:
                cuda.synchronize()
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            total = {"size": len(live), "seconds": wall, "cpu_seconds": cpu}  # the seeds estimated together
            for k, res in zip(live, results):
                if isinstance(res, Exception):
                    rows[k].update(status="failed", error=_error_text(res))
                    continue
                rows[k]["seconds"], rows[k]["cpu_seconds"] = wall / len(live), cpu / len(live)
                _finish_ok(rows[k], estimator, res[0], {**res[1], "batch": total}, cuda)
    except Exception as exc:  # set-up or the whole call failed: every cell without a result fails with it
        for row in rows:
            if "status" not in row:
                row.update(status="failed", error=_error_text(exc))
    peak = _peak_rss_mb(peak_reset)
    for row in rows:
        if row["peak_memory_mb"] is None:
            row["peak_memory_mb"] = peak
        row["timestamp"] = now()
    return rows


def _run_alone(rows, live, xs, ys, estimator, cuda, why: str) -> None:
    """The cells of a batch whose batched call failed as a whole, one by one (their rows say why)."""
    for k, x, y in zip(live, xs, ys):
        try:
            _estimate_into(rows[k], estimator, x, y, cuda, {"batch_fallback": why})
        except Exception as exc:
            rows[k].update(status="failed", error=_error_text(exc))


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def interval(info: dict[str, Any]) -> dict[str, float | None]:
    """The row's interval columns from ``info["ci"] = {"low", "high", "level"}`` (nats); a malformed
    interval is dropped (the estimate itself stands), never guessed."""
    ci = info.get("ci")
    try:
        low, high, level = float(ci["low"]), float(ci["high"]), float(ci["level"])
    except (TypeError, KeyError, ValueError):
        return {"ci_low": None, "ci_high": None, "ci_level": None}
    if not (math.isfinite(low) and math.isfinite(high) and low <= high and 0 < level < 1):
        return {"ci_low": None, "ci_high": None, "ci_level": None}
    return {"ci_low": low, "ci_high": high, "ci_level": level}


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS counter of this (reused) worker so the cell's own peak is measured."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _peak_rss_mb(was_reset: bool) -> float:
    """Peak resident set (MB) since the reset (VmHWM); else the process's lifetime peak."""
    if was_reset:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _limit_threads(n: int) -> None:
    """Cap BLAS/OpenMP/torch thread pools: W workers x T threads must not oversubscribe the cores
    (OpenBLAS threads spin-wait, and oversubscription slowed a QR 60-fold here)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(n)
    # numba's parallel kernels (KSG, KD-tree queries) have their own pool, which threadpoolctl does
    # not see; its OpenMP layer also resets the shared OpenMP thread count (torch's) on each launch
    # to the pool size, so an uncapped numba would undo the torch cap as well. numba reads the
    # variable when first imported (not importing it here keeps workers that never need it small)
    numba = sys.modules.get("numba")
    if numba is None:
        os.environ["NUMBA_NUM_THREADS"] = str(n)
    else:
        numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))


def _cuda_start():
    """torch.cuda when a GPU is in use (synchronised around timing), else None."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return None
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    return torch.cuda



def worker_started(driver_pid: int, interval: float = 0.5) -> None:
    """Worker initialiser. Makes a SIGTERM that arrives while the worker is already exiting let that
    exit finish (see ``_defer_sigterm_while_exiting``), and exits the worker as soon as the driver
    is gone (killed with SIGKILL, say), so that no worker outlives its run. A daemon thread polls
    the driver's pid (the worker's own parent is the fork server)."""
    import threading

    _defer_sigterm_while_exiting()

    def poll() -> None:
        while True:
            time.sleep(interval)
            try:
                os.kill(driver_pid, 0)
            except ProcessLookupError:
                os._exit(3)
            except PermissionError:  # the pid was reused by another user's process: the driver is gone
                os._exit(3)

    threading.Thread(target=poll, name="mibench-watch-driver", daemon=True).start()


def _defer_sigterm_while_exiting() -> None:
    """Wrap the worker's SIGTERM handler (pebble's: run multiprocessing's finalizers, then
    ``os._exit``) so that it does nothing once the worker is already exiting. pebble closes the
    workers' channel and terminates them right away, so an idle worker that saw the channel close
    is often inside its own exit, running the finalizers that unlink the semaphores it created
    (numba creates one when it starts its threads) and unregister them from the resource tracker;
    the handler then exits between the two (or before either), and at shutdown the tracker prints
    "leaked semaphore objects" and "'/mp-...': No such file or directory". The exit in progress
    finishes in milliseconds (pebble kills a worker that is still there after 3 s)."""
    import signal
    from multiprocessing import util

    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum, frame) -> None:
        if getattr(util, "_exiting", False):  # set as multiprocessing's exit function starts running the finalizers
            return
        if callable(previous):
            previous(signum, frame)
        else:
            signal.signal(signum, previous)
            os.kill(os.getpid(), signum)

    signal.signal(signal.SIGTERM, on_sigterm)
