"""The Task contract: a joint distribution P(X, Y) whose mutual information is known.

A task is data plus a *sampler*, a pure function ``sampler(n, rng) -> (x, y)`` of a NumPy
``Generator``. ``Task.sample(n, seed)`` builds that generator from the seed alone, so samples
never depend on global RNG state and are bit-identical for the same seed. Samplers must be
picklable (module-level functions or small classes) because samples are drawn inside worker
processes from (task, n, seed).
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from mibench.core.errors import MibenchError

Sampler = Callable[[int, np.random.Generator], "tuple[np.ndarray, np.ndarray]"]
"""The sampler protocol: ``sampler(n, rng) -> (x, y)``, a pure function of a NumPy Generator."""

#: seeds are stored as SQLite INTEGER (signed 64-bit)
MAX_SEED = 2**63 - 1


def check_sample_request(n, seed) -> tuple[int, int]:
    """Validate a sample size and a seed; both must be plain integers (n > 0, 0 <= seed < 2**63)."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n <= 0:
        raise MibenchError(f"sample size n must be a positive integer, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed <= MAX_SEED:
        raise MibenchError(f"seed must be a non-negative integer below 2**63, got {seed!r}")
    return int(n), int(seed)


class Task:
    """A joint distribution of (X, Y) with known mutual information.

    Attributes:
        id: stable unique identifier, used in stores and baselines (e.g. ``1v1-normal-0.75``).
        name: human-readable name.
        family: task family (``multinormal``, ``student``, ...), used for per-family tables.
        params: JSON-serialisable parameters of the distribution.
        x_shape, y_shape: shape of one sample of X / Y: ``(d,)`` for vectors, ``(1, s, s)`` for images.
        dim_x, dim_y: number of coordinates of X / Y (the product of the shape).
        mutual_information: the ground truth in nats.
        mi_stderr: standard error of the truth where it is a Monte-Carlo value, else ``None``.
        version: bumped by the task's author whenever its definition changes without its id
            changing; part of ``fingerprint``, so stored results of the old definition are recomputed.
        fingerprint: a hash of id, params, shapes, truth and version, stored with every result.
    """

    def __init__(
        self,
        id: str,
        *,
        family: str,
        sampler: Sampler,
        mutual_information: float,
        dim_x: int | None = None,
        dim_y: int | None = None,
        x_shape: tuple[int, ...] | None = None,
        y_shape: tuple[int, ...] | None = None,
        name: str | None = None,
        params: dict[str, Any] | None = None,
        mi_stderr: float | None = None,
        description: str = "",
        version: int = 1,
    ) -> None:
        if not isinstance(id, str) or not id or any(c.isspace() for c in id) or "," in id:
            raise MibenchError(f"task id must be a non-empty string without spaces or commas, got {id!r}")
        self.id = id
        self.name = name or id
        self.family = family
        self.params = dict(params or {})
        try:
            json.dumps(self.params)
        except TypeError as exc:
            raise MibenchError(f"task {id}: params must be JSON-serialisable ({exc})") from None
        self.x_shape = _shape(x_shape, dim_x, id, "x")
        self.y_shape = _shape(y_shape, dim_y, id, "y")
        mi = float(mutual_information)
        if not math.isfinite(mi) or mi < 0:
            raise MibenchError(f"task {id}: mutual information must be finite and >= 0, got {mi}")
        self.mutual_information = mi
        self.mi_stderr = None if mi_stderr is None else float(mi_stderr)
        self.description = description
        if isinstance(version, bool) or not isinstance(version, numbers.Integral) or version < 1:
            raise MibenchError(f"task {id}: version must be a positive integer, got {version!r}")
        self.version = int(version)
        self._sampler = sampler

    @property
    def fingerprint(self) -> str:
        """What a stored result was computed for: a changed definition gives a new fingerprint."""
        blob = json.dumps(_rounded({
            "id": self.id, "params": self.params, "x_shape": self.x_shape, "y_shape": self.y_shape,
            "mi": self.mutual_information, "mi_stderr": self.mi_stderr, "version": self.version,
        }), sort_keys=True, default=repr)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @property
    def dim_x(self) -> int:
        return int(np.prod(self.x_shape))

    @property
    def dim_y(self) -> int:
        return int(np.prod(self.y_shape))

    @property
    def is_image(self) -> bool:
        """True when samples are images (n, 1, s, s) rather than vectors (n, d)."""
        return len(self.x_shape) > 1 or len(self.y_shape) > 1

    def sample(self, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Draw n pairs deterministically from ``seed``: float64 (n, d) vectors, float32 images."""
        n, seed = check_sample_request(n, seed)
        rng = np.random.default_rng(seed)
        x, y = self._sampler(n, rng)
        return self._checked(x, self.x_shape, n, "x"), self._checked(y, self.y_shape, n, "y")

    def _checked(self, a, shape, n, label) -> np.ndarray:
        dtype = np.float32 if len(shape) > 1 else np.float64
        a = np.asarray(a)
        if a.shape != (n, *shape):
            raise RuntimeError(
                f"task {self.id}: sampler returned {label} of shape {a.shape}, expected {(n, *shape)}"
            )
        return np.ascontiguousarray(a, dtype=dtype)

    def transformed(
        self,
        fx: Callable[[np.ndarray], np.ndarray] | None = None,
        fy: Callable[[np.ndarray], np.ndarray] | None = None,
        *,
        id: str,
        name: str | None = None,
        family: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> Task:
        """A new task: this one with ``fx`` applied to X and ``fy`` to Y (row-wise maps on (n, d) arrays).

        The truth is unchanged, which holds only when each map is injective and smooth on the
        support of its variable (mutual information is invariant under such maps). Output
        dimensions are read off a two-point trial sample.
        """
        sampler = TransformedSampler(self._sampler, fx, fy)
        trial_x, trial_y = sampler(2, np.random.default_rng(0))
        merged = {"base": self.id, **self.params}
        merged.update(params or {})
        return Task(
            id,
            family=family or self.family,
            sampler=sampler,
            mutual_information=self.mutual_information,
            mi_stderr=self.mi_stderr,
            x_shape=np.asarray(trial_x).shape[1:],
            y_shape=np.asarray(trial_y).shape[1:],
            name=name,
            params=merged,
            description=self.description,
            version=self.version,
        )

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly description (what ``mibench list tasks`` prints)."""
        return {
            "id": self.id,
            "family": self.family,
            "dim_x": self.dim_x if len(self.x_shape) == 1 else "x".join(map(str, self.x_shape)),
            "dim_y": self.dim_y if len(self.y_shape) == 1 else "x".join(map(str, self.y_shape)),
            "mi": self.mutual_information,
            "mi_stderr": self.mi_stderr,
        }

    def __repr__(self) -> str:
        return f"Task({self.id!r}, mi={self.mutual_information:.6g} nats)"


class TransformedSampler:
    """A base sampler followed by maps on X and Y (picklable, unlike a closure)."""

    def __init__(self, base: Sampler, fx=None, fy=None) -> None:
        self.base, self.fx, self.fy = base, fx, fy

    def __call__(self, n: int, rng: np.random.Generator):
        x, y = self.base(n, rng)
        if self.fx is not None:
            x = self.fx(x)
        if self.fy is not None:
            y = self.fy(y)
        return x, y


def _rounded(v):
    """Floats to 12 significant digits, so that a last-bit difference of libm between machines does
    not change a fingerprint."""
    if isinstance(v, float):
        return f"{v:.12g}"
    if isinstance(v, dict):
        return {k: _rounded(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_rounded(x) for x in v]
    return v


def _shape(shape, dim, task_id, label) -> tuple[int, ...]:
    if shape is None:
        if dim is None:
            raise MibenchError(f"task {task_id}: give dim_{label} or {label}_shape")
        shape = (dim,)
    shape = tuple(int(s) for s in shape)
    if not shape or any(s < 1 for s in shape):
        raise MibenchError(f"task {task_id}: dimensions of {label} must be >= 1, got {shape}")
    return shape
