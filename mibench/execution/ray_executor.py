"""Run cells on a Ray cluster (optional extra ``mibench[ray]``).

The same ``execute_cell`` as the local pool runs as a Ray task with per-cell resources (1 CPU;
1 GPU for estimators whose ``device`` is ``cuda``, or ``auto`` on a cluster with GPUs). Cells
lost with a dead worker or node are retried by Ray (``max_retries``); a cell that still dies
becomes a failed row. The per-cell timeout is a SIGALRM inside the Ray worker (tasks run on its
main thread): the cell becomes a timeout row (an estimator stuck inside C code that ignores
signals is not interrupted until it returns). Only the driver writes to the SQLite store, so
resume and leaderboards work unchanged.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator, Sequence
from typing import Any

from mibench.core.errors import InfrastructureError, MibenchError
from mibench.execution.grid import CellJob
from mibench.execution.worker import execute_cell, failed_row

MAX_RETRIES = 2


class _CellTimeout(BaseException):
    """Raised by the alarm; a BaseException so that execute_cell's ``except Exception`` lets it through."""


def _alarm(signum, frame):
    raise _CellTimeout


def ray_cell(job: CellJob, timeout: float | None):
    """execute_cell under a per-cell alarm (runs inside a Ray worker)."""
    if timeout:
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return execute_cell(job)
    except _CellTimeout:
        return failed_row(job, "timeout", f"exceeded the per-cell timeout of {timeout:g} s")
    finally:
        if timeout:
            signal.setitimer(signal.ITIMER_REAL, 0)


class RayExecutor:
    """Cells as Ray tasks: on a cluster at ``address`` (``ray start --head`` prints it), or on a local
    Ray instance with ``num_cpus`` CPUs when no address is given."""

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        try:
            import ray  # noqa: F401
        except ImportError:
            raise MibenchError("the ray executor needs Ray: pip install 'mibench[ray]'") from None
        self.address, self.num_cpus = address, num_cpus
        self.workers = num_cpus or 1

    def run(self, jobs: Sequence[CellJob], timeout: float | None) -> Iterator[dict[str, Any]]:
        import ray

        if not jobs:
            return
        started_here = not ray.is_initialized()
        if started_here:
            try:
                ray.init(address=self.address, num_cpus=None if self.address else self.num_cpus,
                         include_dashboard=False, log_to_driver=False, configure_logging=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise InfrastructureError(f"cannot connect to Ray at {self.address or 'a local instance'}: "
                                          f"{exc}") from None
        try:
            has_gpu = ray.cluster_resources().get("GPU", 0) > 0
            remote = ray.remote(max_retries=MAX_RETRIES)(ray_cell)
            refs = {}
            for job in jobs:
                device = str(job.meta.get("config", {}).get("resolved", {}).get("device", "cpu"))
                gpus = 1 if device.startswith("cuda") or (device == "auto" and has_gpu) else 0
                refs[remote.options(num_cpus=1, num_gpus=gpus).remote(job, timeout)] = job
            pending = list(refs)
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    job = refs[ref]
                    try:
                        row = ray.get(ref)
                    except ray.exceptions.RayError as exc:
                        row = failed_row(job, "failed",
                                         f"worker lost after {MAX_RETRIES} retries: {type(exc).__name__}")
                    yield row
        finally:
            if started_here:
                ray.shutdown()
