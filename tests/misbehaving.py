"""Deliberately misbehaving estimators for the isolation, gate and conformance tests.

Module-level so that worker processes can import them by reference.
"""

import math
import os
import time

import numpy as np


def raising(x, y):
    raise RuntimeError("boom from the estimator")


def hard_exit(x, y):
    os._exit(1)


def sleeping(x, y):
    time.sleep(60)
    return 0.0


def returns_nan(x, y):
    return float("nan")


def returns_string(x, y):
    return "0.5"


def correlation_mi(x, y):
    """Gaussian MI of the first coordinates (a quick, deterministic, plausible estimator)."""
    r = np.corrcoef(np.asarray(x)[:, 0], np.asarray(y)[:, 0])[0, 1]
    return -0.5 * math.log(1 - r**2)


class Slow:
    """Sleeps ``delay`` seconds, then returns the first-coordinate Gaussian MI."""

    def __init__(self, delay: float = 0.5) -> None:
        self.delay = delay

    def estimate(self, x, y):
        time.sleep(self.delay)
        return correlation_mi(x, y)


class Biased:
    """The first-coordinate Gaussian MI plus a constant offset (a 'broken' estimator for the gate)."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def estimate(self, x, y):
        return correlation_mi(x, y) + self.offset


class BiasedBy03(Biased):
    """A regression: 0.3 nats of bias."""

    def __init__(self) -> None:
        super().__init__(offset=0.3)


def allocates_400mb(x, y):
    a = np.ones(50_000_000)  # 400 MB, touched
    return float(a[0]) - 1.0


_worker_locks: list = []


def holds_semaphores(x, y):
    """The first-coordinate Gaussian MI, after creating named semaphores that the worker keeps for
    its lifetime, as numba does when it first starts its threads (an RLock, which multiprocessing
    registers with its resource tracker and unlinks when the process exits). Many of them, so that
    the worker's exit takes long enough for a badly timed SIGTERM to land in it."""
    import multiprocessing

    if not _worker_locks:
        _worker_locks.extend(multiprocessing.get_context().RLock() for _ in range(64))
    return correlation_mi(x, y)


class BatchedCorrelation:
    """The first-coordinate Gaussian MI, with an ``estimate_batch`` that misbehaves on request:
    ``fail_seed_index`` k makes the k-th seed of a batch an exception (the others go on);
    ``mode`` ``raise`` fails the whole call, ``raise_all`` fails it and every single estimate too,
    ``exit`` kills the worker, ``sleep`` hangs.
    ``batch_pays`` is set by the constructor, to check that ``auto`` follows it."""

    def __init__(self, fail_seed_index: int = -1, mode: str = "ok", pays: bool = False) -> None:
        self.fail_seed_index, self.mode, self.batch_pays = fail_seed_index, mode, pays

    def get_params(self):
        return {"fail_seed_index": self.fail_seed_index, "mode": self.mode, "pays": self.batch_pays, "seed": 7}

    def estimate(self, x, y):
        if self.mode == "raise_all":
            raise RuntimeError("this estimate failed too")
        return correlation_mi(x, y)

    def estimate_batch(self, xs, ys, seeds):
        if self.mode in ("raise", "raise_all"):
            raise RuntimeError("the whole batch failed")
        if self.mode == "exit":
            os._exit(1)
        if self.mode == "sleep":
            time.sleep(60)
        return [ValueError(f"seed index {k} diverged") if k == self.fail_seed_index
                else (correlation_mi(x, y), {"seeds_seen": list(seeds)}) for k, (x, y) in enumerate(zip(xs, ys))]
