"""Gaussian tasks pushed through random invertible normalizing flows (normflows; Stimper et al.,
JOSS 2023): RealNVP affine couplings (Dinh et al. 2017) and rational-quadratic neural-spline
couplings (Durkan et al. 2019).

X and Y of a dense or sparse multinormal task are each mapped by an independent randomly
initialised flow (float64, weights drawn from a seeded torch generator). A flow is a smooth
bijection, so the truth is the base truth. Flows are built lazily on first use (so listing the
suite does not construct networks) and checked for invertibility when built: a flow whose
round trip on a probe sample is off by more than 1e-6 raises MibenchError.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from mibench import MibenchError, Task, TransformedSampler

from .gaussian import SplitNormalSampler, dense_covariance, lvm_correlation, multinormal_dense, multinormal_sparse

KINDS = ("realnvp", "nsf")
DIMS = (2, 5, 10, 25)
ROUND_TRIP_TOL = 1e-6
OUTPUT_GAIN = 3.0  # scale of the last layer of each conditioner network, for visibly non-Gaussian marginals
CHUNK = 8192  # rows per block when applying a flow (cache-sized)
NUM_BINS = 4  # spline bins per coordinate
HIDDEN = 16  # width of the conditioner networks
DEFAULT_LAYERS = {"realnvp": 4, "nsf": 2}  # couplings per flow (splines cost more per layer)


def _spline_coupling_class():
    import normflows as nf
    from normflows.flows.neural_spline.coupling import PiecewiseRationalQuadraticCoupling
    from normflows.nets.resnet import ResidualNet
    from normflows.utils.masks import create_alternating_binary_mask

    class SplineCoupling(nf.flows.Flow):
        """Rational-quadratic spline coupling (normflows / nflows), NUM_BINS bins on [-4, 4], linear tails.

        Like ``nf.flows.CoupledRationalQuadraticSpline`` but without its extra unconditional spline
        on the conditioning half (half the cost; alternating masks still transform every coordinate).
        """

        def __init__(self, dim: int, hidden: int, odd: bool) -> None:
            super().__init__()
            self.coupling = PiecewiseRationalQuadraticCoupling(
                mask=create_alternating_binary_mask(dim, even=odd),
                transform_net_create_fn=lambda i, o: ResidualNet(i, o, hidden_features=hidden, num_blocks=1,
                                                                 use_batch_norm=False),
                num_bins=NUM_BINS, tails="linear", tail_bound=4.0, apply_unconditional_transform=False)

        def forward(self, z):
            z, log_det = self.coupling(z)
            return z, log_det.view(-1)

        def inverse(self, z):
            z, log_det = self.coupling.inverse(z)
            return z, log_det.view(-1)

    return SplineCoupling


def _build_flow(kind: str, dim: int, seed: int, n_layers: int, hidden: int):
    import normflows as nf
    import torch

    _SplineCoupling = _spline_coupling_class()

    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        layers = []
        for i in range(n_layers):
            if kind == "realnvp":
                mask = torch.tensor([(j + i) % 2 for j in range(dim)], dtype=torch.float64)
                t = nf.nets.MLP([dim, hidden, hidden, dim])
                s = nf.nets.MLP([dim, hidden, hidden, dim], output_fn="tanh", output_scale=1.0)
                layers.append(nf.flows.MaskedAffineFlow(mask, t, s))
            else:
                layers.append(_SplineCoupling(dim, hidden, odd=bool(i % 2)))
        for layer in layers:  # default inits are close to the identity: sharpen the output layers
            nets = [layer.t, layer.s] if kind == "realnvp" else [layer.coupling.transform_net]
            for net in nets:
                last = [m for m in net.modules() if isinstance(m, torch.nn.Linear)][-1]
                last.weight.mul_(OUTPUT_GAIN)
                last.bias.mul_(OUTPUT_GAIN)
        flow = torch.nn.ModuleList(layers).double().eval()
        for p in flow.parameters():
            p.requires_grad_(False)
    return flow


def _apply_layer(layer, z, inverse: bool):
    """One coupling layer on a float64 tensor, values only (the log-determinant is not needed to
    sample). Same function as the normflows module's forward/inverse (tested to 1e-12); RealNVP
    skips normflows' non-finite checks, splines use the numba kernel of ``_rqspline``."""
    import torch

    from ._rqspline import rq_spline  # numba: imported when a spline flow first runs, not when listing

    if hasattr(layer, "b"):  # nf.flows.MaskedAffineFlow
        zm = layer.b * z
        scale, shift = layer.s(zm), layer.t(zm)
        if inverse:
            return zm + (1 - layer.b) * (z - shift) * torch.exp(-scale)
        return zm + (1 - layer.b) * (z * torch.exp(scale) + shift)
    cp = layer.coupling
    ident, trans = cp.identity_features, cp.transform_features
    raw = cp.transform_net(z[:, ident])
    out = z.clone()
    out[:, trans] = torch.from_numpy(rq_spline(z[:, trans].numpy(), raw, inverse, float(cp.tail_bound),
                                               math.sqrt(cp.transform_net.hidden_features)))
    return out


class FlowMap:
    """A random normflows flow on R^dim as a NumPy map (n, dim) -> (n, dim), with ``inverse``.

    Picklable: only (kind, dim, seed, n_layers, hidden) travel; the network is rebuilt, bit for
    bit, from the seed in each process.
    """

    def __init__(self, kind: str, dim: int, seed: int, n_layers: int | None = None, hidden: int = HIDDEN) -> None:
        if n_layers is None:
            n_layers = DEFAULT_LAYERS.get(kind, 4)
        if kind not in KINDS:
            raise MibenchError(f"flow kind must be one of {KINDS}, got {kind!r}")
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 2:
            raise MibenchError(f"a coupling flow needs dimension >= 2, got {dim!r}")
        if n_layers < 1 or hidden < 1:
            raise MibenchError(f"n_layers and hidden must be >= 1, got {n_layers}, {hidden}")
        if seed < 0:
            raise MibenchError(f"seed must be >= 0, got {seed}")
        self.kind, self.dim, self.seed, self.n_layers, self.hidden = kind, int(dim), int(seed), n_layers, hidden
        self._flow = None

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_flow"] = None
        return state

    @property
    def flow(self):
        if self._flow is None:
            flow = _build_flow(self.kind, self.dim, self.seed, self.n_layers, self.hidden)
            self._flow = flow
            try:
                check_invertible(self)
            except MibenchError:
                self._flow = None  # never keep a flow that failed the check
                raise
        return self._flow

    def _apply(self, a: np.ndarray, inverse: bool) -> np.ndarray:
        import torch

        a = np.asarray(a, dtype=np.float64)
        if a.ndim != 2 or a.shape[1] != self.dim:
            raise MibenchError(f"flow on R^{self.dim} got an array of shape {a.shape}")
        layers = list(reversed(self.flow)) if inverse else list(self.flow)
        out = np.empty_like(a)

        def block(start):
            with torch.no_grad():  # thread-local in torch: set in each worker thread
                z = torch.from_numpy(np.ascontiguousarray(a[start : start + CHUNK]))
                for layer in layers:
                    z = _apply_layer(layer, z, inverse)
                out[start : start + CHUNK] = z.numpy()

        starts = range(0, len(a), CHUNK)
        threads = torch.get_num_threads()
        if threads == 1 or len(starts) == 1:
            for start in starts:
                block(start)
            return out
        # cache-sized blocks on single-threaded torch ops, one block per thread (the ops release the
        # GIL): ~2x on two cores, where torch's own threads gain nothing on these small matrices
        torch.set_num_threads(1)
        try:
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(block, starts))
        finally:
            torch.set_num_threads(threads)
        return out

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self._apply(x, inverse=False)

    def inverse(self, y: np.ndarray) -> np.ndarray:
        return self._apply(y, inverse=True)

    def __repr__(self) -> str:
        return f"FlowMap({self.kind!r}, dim={self.dim}, seed={self.seed})"


def check_invertible(fmap, n: int = 2048, seed: int = 12345, tol: float = ROUND_TRIP_TOL) -> float:
    """Round-trip a probe sample (standard normal, scaled by 2 to reach the tails) through a map
    with ``inverse``; MibenchError when the error exceeds ``tol`` or outputs are not finite."""
    probe = 2.0 * np.random.default_rng(seed).standard_normal((n, fmap.dim))
    out = fmap(probe)
    back = fmap.inverse(out)
    err = float(np.max(np.abs(back - probe))) if np.all(np.isfinite(out)) and np.all(np.isfinite(back)) else np.inf
    if not err <= tol:
        raise MibenchError(f"{fmap!r} fails the invertibility check: round-trip error {err:.3g} > {tol:g}")
    return err


def flow_task(base: str, dim: int, kind: str, seed: int = 0, n_layers: int | None = None, hidden: int = HIDDEN,
              build: bool = False) -> Task:
    """A ``multinormal-dense-d-d-0.5`` (``base="dense"``) or ``multinormal-sparse-d-d-2-2.0``
    (``base="sparse"``) task with X and Y pushed through independent ``kind`` flows
    (seeds 2 seed and 2 seed + 1). Built lazily: the flows are constructed (and checked for
    invertibility) at first sample, or here with ``build=True``."""
    if base == "dense":
        base_task, cov = multinormal_dense(dim, dim, 0.5), dense_covariance(dim, dim, 0.5)
    elif base == "sparse":
        base_task, cov = multinormal_sparse(dim, dim, 2, 2.0), lvm_correlation(dim, dim, 2, lambd=2.0, eta=2.0)
    else:
        raise MibenchError(f"base must be 'dense' or 'sparse', got {base!r}")
    fx = FlowMap(kind, dim, 2 * seed, n_layers, hidden)
    fy = FlowMap(kind, dim, 2 * seed + 1, n_layers, hidden)
    if build:
        fx.flow, fy.flow  # noqa: B018 (builds and checks both flows now)
    tag = kind if seed == 0 else f"{kind}-s{seed}"
    # Task(...) with TransformedSampler rather than base.transformed(...): the latter draws a trial
    # sample, which would build both networks whenever the suite is listed.
    return Task(
        f"{tag}-{base_task.id}", family=f"flow-{kind}",
        sampler=TransformedSampler(SplitNormalSampler(cov, dim), fx, fy),
        mutual_information=base_task.mutual_information, dim_x=dim, dim_y=dim,
        name=f"{kind} flow @ {base_task.name}",
        params={"base": base_task.id, "flow": kind, "seed": seed, "n_layers": fx.n_layers, "hidden": hidden,
                **base_task.params},
    )


def flows_suite() -> list[Task]:
    """Suite ``flows``: dense and sparse multinormals, d in {2, 5, 10, 25}, RealNVP and neural-spline flows."""
    return [flow_task(b, d, k) for k in KINDS for b in ("dense", "sparse") for d in DIMS]
