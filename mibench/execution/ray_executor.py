"""Run cells on a Ray cluster (optional extra ``mibench[ray]``).

The same ``execute_job`` as the local pool runs as a Ray task with per-cell resources (1 CPU;
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
from mibench.execution.executors import job_timeout, timeout_text
from mibench.execution.grid import BatchJob, CellJob
from mibench.execution.worker import execute_job, failed_rows

MAX_RETRIES = 2


class _CellTimeout(BaseException):
    """Raised by the alarm; a BaseException so that execute_cell's ``except Exception`` lets it through."""


def _alarm(signum, frame):
    raise _CellTimeout


def ray_job(job: CellJob | BatchJob, timeout: float | None) -> list[dict[str, Any]]:
    """execute_job under the job's alarm (runs inside a Ray worker)."""
    limit = job_timeout(job, timeout)
    if limit:
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        return execute_job(job)
    except _CellTimeout:
        return failed_rows(job, "timeout", timeout_text(job, timeout))
    finally:
        if limit:
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

    def run(self, jobs: Sequence[CellJob | BatchJob], timeout: float | None) -> Iterator[dict[str, Any]]:
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
            remote = ray.remote(max_retries=MAX_RETRIES)(ray_job)
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
                        rows = ray.get(ref)
                    except ray.exceptions.RayError as exc:
                        rows = failed_rows(job, "failed",
                                           f"worker lost after {MAX_RETRIES} retries: {type(exc).__name__}")
                    yield from rows
        finally:
            if started_here:
                ray.shutdown()
