"""A seeded generator of tasks with known MI (suite ``random``, ``random:K`` = the first K of the stream).

Task ``random-{s}`` is drawn from ``np.random.default_rng([STREAM, s])`` alone, so any id resolves
without listing the stream (``mibench.get_task("random-123")``) and ``random:K`` is ``random-0`` ..
``random-{K-1}``. Each task is a Gaussian base in canonical form pushed through exact invariances:

1. **Dimensions**: d_x, d_y log-uniform integers in 1..32.
2. **MI**: uniform on [0, 10] nats (exactly 0 with probability 1/20: independent pairs).
3. **Structure**: the spectrum of the k = min(d_x, d_y) canonical pairs (U_j, V_j), each standard
   bivariate normal with correlation rho_j, carrying I_j = -1/2 log(1 - rho_j^2) nats, sum_j I_j = MI:
   ``dense`` (all k pairs equal), ``sparse`` (1 or 2 pairs), ``latent`` (r = 1..min(k, 4) latent
   factors with a Dirichlet(1) split) and ``staircase`` (I_j proportional to q^j, q uniform on
   [0.3, 0.8]: a geometric spectrum). The other coordinates of the longer side are independent N(0, 1).
4. **Invariances**, per side independently: a Haar-random rotation (probability 1/2, dimension >= 2), then
   ``none``, ``monotone`` (a map drawn per coordinate from ``tasks/transforms.py``: asinh, half-cube,
   wiggly, normal CDF, Gaussian-mixture quantile) or ``flow`` (a random RealNVP or neural-spline
   flow of ``tasks/flows.py``, dimension >= 2). Rotations keep N(0, 1) marginals, so the monotone maps
   always see standard normal coordinates. Every map is a smooth bijection, so the truth is the
   Gaussian MI of the base, sum_j I_j, in closed form.

Listing builds no matrix and no flow: rotations and flows are drawn from their seeds when first
sampled (``random:1000`` lists in ~0.1 s). ``params`` carry the generator's draws (dims, MI,
structure, spectrum, transforms, ``generator`` version) so that leaderboards can group by them.
"""

from __future__ import annotations

import math
import re

import numpy as np

from mibench import MibenchError, Task, TransformedSampler

from . import transforms as tr
from .flows import KINDS as FLOW_KINDS
from .flows import FlowMap

STREAM = 20_260_118  #: root seed of the stream
GENERATOR_VERSION = 1  #: bump whenever a draw below changes (the same id would name another task)
MAX_DIM = 32
MAX_MI = 10.0
DEFAULT_COUNT = 100  #: ``random`` without ``:K``
STRUCTURES = ("dense", "sparse", "latent", "staircase")
NONLINEAR = ("none", "monotone", "flow")
#: strictly increasing smooth maps of R (inverses in tasks/transforms.py), by name
MONOTONE = {
    "asinh": tr.asinh,
    "half_cube": tr.half_cube,
    "wiggly_x": tr.wiggly_x,
    "wiggly_y": tr.wiggly_y,
    "normal_cdf": tr.normal_cdf,
    "bimodal": tr.NormalToMixture([0.3, 0.7], [0.0, 5.0]),
}
_ID = re.compile(r"^random-(0|[1-9][0-9]*)$")


class CanonicalGaussianSampler:
    """(X, Y) with k canonical pairs of correlations ``rhos``, padded with independent N(0, 1)."""

    def __init__(self, rhos, dim_x: int, dim_y: int) -> None:
        self.rhos = np.asarray(rhos, dtype=float)
        self.dim_x, self.dim_y = dim_x, dim_y

    def __call__(self, n: int, rng: np.random.Generator):
        k = len(self.rhos)
        x = rng.standard_normal((n, self.dim_x))
        y = rng.standard_normal((n, self.dim_y))
        y[:, :k] = self.rhos * x[:, :k] + np.sqrt(1.0 - self.rhos**2) * y[:, :k]
        return x, y


class Rotation:
    """x -> x Q^T for a Haar-random orthogonal Q drawn from ``seed`` on first use (pickled without Q)."""

    def __init__(self, dim: int, seed: int) -> None:
        self.dim, self.seed = dim, seed
        self._q = None

    @property
    def q(self) -> np.ndarray:
        if self._q is None:
            from scipy.stats import ortho_group

            self._q = ortho_group.rvs(self.dim, random_state=np.random.default_rng(self.seed))
        return self._q

    def __getstate__(self):
        return {**self.__dict__, "_q": None}

    def __call__(self, x):
        return x @ self.q.T

    def inverse(self, y):
        return y @ self.q


class Coordinatewise:
    """Column j through the monotone map named ``names[j]``."""

    def __init__(self, names: list[str]) -> None:
        self.names = list(names)

    def __call__(self, x):
        return np.column_stack([MONOTONE[nm](x[:, j]) for j, nm in enumerate(self.names)])

    def inverse(self, y):
        return np.column_stack([tr.inverse_of(MONOTONE[nm])(y[:, j]) for j, nm in enumerate(self.names)])


class Chain:
    """Maps applied in order (inverse in reverse order)."""

    def __init__(self, maps: list) -> None:
        self.maps = list(maps)

    def __call__(self, x):
        for f in self.maps:
            x = f(x)
        return x

    def inverse(self, y):
        for f in reversed(self.maps):
            y = f.inverse(y)
        return y


def _log_uniform_dim(rng) -> int:
    return int(min(MAX_DIM, math.floor(math.exp(rng.uniform(0.0, math.log(MAX_DIM + 1))))))


def split_mi(structure: str, mi: float, k: int, rng) -> np.ndarray:
    """Per-pair MI (length k, sums to mi) for a spectrum structure."""
    share = np.zeros(k)
    if structure == "dense":
        share[:] = 1.0
    elif structure == "sparse":
        share[: min(k, int(rng.integers(1, 3)))] = 1.0
    elif structure == "latent":
        r = int(rng.integers(1, min(k, 4) + 1))
        share[:r] = rng.dirichlet(np.ones(r))
    else:  # staircase: a geometric spectrum
        share[:] = rng.uniform(0.3, 0.8) ** np.arange(k)
    return mi * share / share.sum()


def _side(dim: int, rng) -> tuple[list, str, dict]:
    """The invariance maps of one side, a label, and their parameters."""
    maps, parts, params = [], [], {}
    if dim >= 2 and rng.random() < 0.5:
        seed = int(rng.integers(2**31))
        maps.append(Rotation(dim, seed))
        parts.append("rotation")
    options = NONLINEAR if dim >= 2 else NONLINEAR[:2]
    kind = options[int(rng.integers(len(options)))]
    if kind == "monotone":
        names = [list(MONOTONE)[i] for i in rng.integers(len(MONOTONE), size=dim)]
        maps.append(Coordinatewise(names))
        parts.append("monotone")
        params["monotone"] = names
    elif kind == "flow":
        flow_kind = FLOW_KINDS[int(rng.integers(len(FLOW_KINDS)))]
        maps.append(FlowMap(flow_kind, dim, int(rng.integers(2**31))))
        parts.append(f"flow-{flow_kind}")
    return maps, "+".join(parts) or "none", params


def random_task(seed: int) -> Task:
    """Task ``random-{seed}`` of the stream (its draws depend on the seed alone)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise MibenchError(f"random task seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    rng = np.random.default_rng([STREAM, seed])
    dx, dy = _log_uniform_dim(rng), _log_uniform_dim(rng)
    mi = 0.0 if rng.random() < 0.05 else float(rng.uniform(0.0, MAX_MI))
    structure = STRUCTURES[int(rng.integers(len(STRUCTURES)))]
    k = min(dx, dy)
    pair_mi = split_mi(structure, mi, k, rng)
    rhos = np.sqrt(-np.expm1(-2.0 * pair_mi))
    maps_x, label_x, px = _side(dx, rng)
    maps_y, label_y, py = _side(dy, rng)
    sampler = TransformedSampler(CanonicalGaussianSampler(rhos, dx, dy),
                                 Chain(maps_x) if maps_x else None, Chain(maps_y) if maps_y else None)
    params = {
        "generator": GENERATOR_VERSION, "seed": seed, "dim_x": dx, "dim_y": dy, "mi": mi,
        "structure": structure, "active_pairs": int(np.count_nonzero(pair_mi)),
        "pair_mi": [float(v) for v in pair_mi],
        "transform_x": label_x, "transform_y": label_y,
        **{f"{key}_x": v for key, v in px.items()}, **{f"{key}_y": v for key, v in py.items()},
    }
    return Task(
        f"random-{seed}", family=f"random-{structure}", sampler=sampler, mutual_information=float(pair_mi.sum()),
        dim_x=dx, dim_y=dy, params=params,
        name=f"random #{seed}: {dx} x {dy}, {structure}, {mi:.3g} nats, x: {label_x}, y: {label_y}",
    )


def resolve(task_id: str) -> Task | None:
    """``random-{s}`` -> that task; None for any other id (the registry's resolve hook)."""
    match = _ID.match(task_id)
    return random_task(int(match.group(1))) if match else None


def random_suite(argument: str | None = None) -> list[Task]:
    """Suite ``random:K``: the first K tasks of the stream (``random`` alone: the first 100)."""
    if argument is None:
        count = DEFAULT_COUNT
    else:
        try:
            count = int(argument)
        except ValueError:
            count = -1
        if count < 1:
            raise MibenchError(f"suite random:K needs a positive integer K, got {argument!r}")
    return [random_task(s) for s in range(count)]


random_suite.resolve = resolve
