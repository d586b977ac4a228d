"""Fused CPU kernels for the concat critic's pair MLP, wrapped as a torch autograd Function.

The concat critic scores all n x m pairs of a batch, ``s_ij = MLP(relu(a_i + b_j))`` with
``a = W_x x + b``, ``b = W_y y`` (the split first layer). Eager torch materialises each layer's
(n, m, width) activations, ReLU masks and gradients as full-size tensors (~4 MB each for the
``bmi`` protocol's 256 x 256 pairs at width 16) and runs a dozen operators over them, so its
training step is bound by memory traffic and per-operator overhead. These kernels take the pairs
of one row i at a time, vectorised over j, with every hidden unit of a pair in a register: for
the MLP's layer widths, ``KernelSource`` writes the network out as straight-line code (one
statement per unit, the weights as scalars), which numba compiles.

- forward: the (n, m) scores (also the held-out evaluation, without gradient);
- backward: given dL/ds (n, m), recomputes row i's activations (cheaper than storing all n x m
  x width of them), keeps them and the hidden layers' pre-activation gradients in row buffers
  (one pass over j per layer, so few values are live at once), and accumulates the gradients of
  a, b and every weight and bias after the first layer (weight gradients as sums over j of
  those buffers, each row's sums added into float64 totals).

Only ReLU hidden layers qualify (``SUPPORTED_ACTIVATIONS``) and only small MLPs (at most
``MAX_PAIR_MACS`` multiply-adds per pair after the first layer: the generated code grows with
them, and wide MLPs are compute-bound, where eager torch's matrix products do well); other
critics use the eager path. The ReLU propagates NaN as torch's does, so divergence is still
detected, and its gradient at 0 is 0, as in torch. Arithmetic is float32 and sums run in another
order than eager torch's, so scores and gradients equal eager autograd's to float32 rounding, not
bit for bit (tests/test_neural_fused.py). The kernels are serial (the harness runs one cell per
core). The generated source is written to a cache directory (``cache_dir``), so that numba
compiles each width combination once per machine (~10-30 s) and later processes load it.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

SUPPORTED_ACTIVATIONS = ("relu",)
#: largest MLP (multiply-adds per pair after the first layer) kernels are generated for
MAX_PAIR_MACS = 512
#: columns j per kernel call (the caller splits longer rows). The kernels keep all their vectors
#: over j (a copy of b^T, activations, gradients) as rows of one buffer with a literal row
#: length, so that LLVM sees that the rows cannot overlap (with a runtime length it gives up on
#: vectorising the loops that write many of them) ...
CHUNK = 256
#: ... and the row stride (floats) is not CHUNK: rows 1 KiB apart sit at the same address modulo
#: 4 KiB every fourth row, where a load after a store falsely aliases it, which made the kernels
#: 3-5x slower (and their speed depend on where the allocator put b^T). With a stride of 21 x 64
#: bytes, rows up to 16 apart are at least 16 x 64 bytes apart modulo 4 KiB
STRIDE = 21 * 16
#: no nnan/ninf: NaN must propagate so that divergence is detected; reassociation lets the sums
#: over j vectorise
FASTMATH = {"reassoc", "contract", "nsz", "arcp"}


def _sum(terms: list[str]) -> str:
    return " + ".join(terms)


class KernelSource:
    """Python source of ``forward`` and ``backward`` for hidden widths ``widths`` (then one score).

    Names in the generated code: layer r maps hidden layer r (``h{r}_{k}``, width widths[r]) to
    hidden layer r + 1 or, for the last layer, to the score; its weights are ``w{r}_{o}_{k}`` and
    biases ``c{r}_{o}``; ``d{lay}_{k}`` is dL/d(pre-activation of hidden unit k of layer lay).
    """

    def __init__(self, widths: tuple[int, ...]) -> None:
        self.widths = tuple(widths)
        self.dims = [*self.widths, 1]  # layer r maps dims[r] -> dims[r + 1]
        self.layers = range(len(self.widths))
        self.last = len(self.widths) - 1
        self.args = ", ".join(f"w{r}, c{r}" for r in self.layers)
        # the kernels' buffer rows: a copy of b^T, then (backward) h{lay} of each hidden layer, d{lay}
        # and the running dL/db^T, or (forward) the row's scores
        self.hrow, self.drow, rows = {}, {}, self.widths[0]
        for lay in self.layers:
            self.hrow[lay], rows = rows, rows + self.widths[lay]
        for lay in self.layers:
            self.drow[lay], rows = rows, rows + self.widths[lay]
        self.grow, self.rows = rows, rows + self.widths[0]

    def _weights(self) -> list[str]:
        lines = []
        for r in self.layers:
            for o in range(self.dims[r + 1]):
                lines.append(f"c{r}_{o} = c{r}[{o}]")
                lines += [f"w{r}_{o}_{k} = w{r}[{o}, {k}]" for k in range(self.dims[r])]
        return lines

    def _hidden(self, store: bool) -> list[str]:
        """Pair (i, j): the hidden activations, optionally also into the buffer."""
        lines = []
        for r in self.layers:
            for o in range(self.widths[r]):
                if r == 0:
                    lines.append(f"t = a_{o} + buf[{o}, j]")
                else:
                    lines.append("t = " + _sum([f"c{r - 1}_{o}"] + [f"w{r - 1}_{o}_{k} * h{r - 1}_{k}"
                                                                    for k in range(self.widths[r - 1])]))
                lines.append(f"h{r}_{o} = zero if t < zero else t")
                if store:
                    lines.append(f"buf[{self.hrow[r] + o}, j] = h{r}_{o}")
        return lines

    def _store_d(self, lay: int, k: int, value: str) -> list[str]:
        lines = [f"buf[{self.drow[lay] + k}, j] = {value}"]
        if lay == 0:
            lines.append(f"buf[{self.grow + k}, j] += {value}")
        return lines

    def _copy_bT(self) -> list[str]:
        return [f"    for k in range({self.widths[0]}):", "        for j in range(m):",
                "            buf[k, j] = bT[k, j]"]

    def forward(self) -> str:
        last, w = self.last, self.widths
        score = _sum([f"c{last}_0"] + [f"w{last}_0_{k} * h{last}_{k}" for k in range(w[last])])
        lines = [
            f"def forward(a, bT, {self.args}):",
            f"    n, m = a.shape[0], min(bT.shape[1], {CHUNK})",
            "    zero = np.float32(0)",
            "    out = np.empty((n, m), np.float32)",
            f"    buf = np.empty(({w[0] + 1}, {STRIDE}), np.float32)",
            *self._copy_bT(),
            *("    " + s for s in self._weights()),
            "    for i in range(n):",
            *(f"        a_{k} = a[i, {k}]" for k in range(w[0])),
            "        for j in range(m):",
            *("            " + s for s in self._hidden(store=False)),
            f"            buf[{w[0]}, j] = {score}",
            "        for j in range(m):",
            f"            out[i, j] = buf[{w[0]}, j]",
            "    return out",
        ]
        return "\n".join(lines) + "\n"

    def backward(self) -> str:
        last, w = self.last, self.widths
        i2, i3, i4 = " " * 8, " " * 12, " " * 16
        lines = [
            f"def backward(a, bT, G, {self.args}):",
            f"    n, m = a.shape[0], min(bT.shape[1], {CHUNK})",
            "    zero = np.float32(0)",
            f"    ga = np.empty((n, {w[0]}), np.float32)",
            f"    gbT = np.empty(({w[0]}, m), np.float32)",
            f"    buf = np.empty(({self.rows}, {STRIDE}), np.float32)",
            *self._copy_bT(),
            *(f"    gw{r} = np.zeros(w{r}.shape, np.float64)" for r in self.layers),
            *(f"    gc{r} = np.zeros(c{r}.shape, np.float64)" for r in self.layers),
            *("    " + s for s in self._weights()),
            f"    for q in range({self.grow}, {self.rows}):",
            "        for j in range(m):",
            "            buf[q, j] = zero",
            "    for i in range(n):",
            *(f"{i2}a_{k} = a[i, {k}]" for k in range(w[0])),
            # pass 1: the activations, and the last hidden layer's d from the score's gradient
            f"{i2}for j in range(m):",
            *(i3 + s for s in self._hidden(store=True)),
            f"{i3}g = G[i, j]",
        ]
        for k in range(w[last]):
            lines += [f"{i3}t = g * w{last}_0_{k} if h{last}_{k} > zero else zero",
                      *(i3 + s for s in self._store_d(last, k, "t"))]
        # one pass per hidden layer below: d{lay-1} from d{lay}, through layer lay-1's weights and ReLU
        for lay in range(last, 0, -1):
            lines.append(f"{i2}for j in range(m):")
            lines += [f"{i3}d{lay}_{o} = buf[{self.drow[lay] + o}, j]" for o in range(w[lay])]
            for k in range(w[lay - 1]):
                lines += [i3 + "t = " + _sum([f"w{lay - 1}_{o}_{k} * d{lay}_{o}" for o in range(w[lay])]),
                          f"{i3}t = t if buf[{self.hrow[lay - 1] + k}, j] > zero else zero",
                          *(i3 + s for s in self._store_d(lay - 1, k, "t"))]
        # weight and bias gradients of layer r: sums over j of (its upstream gradient) x (its input)
        for r in self.layers:
            up = "G[i, j]" if r == last else f"buf[{self.drow[r + 1]} + o, j]"
            lines += [
                f"{i2}for o in range({self.dims[r + 1]}):",
                f"{i3}acc_b = zero",
                *(f"{i3}acc_{k} = zero" for k in range(w[r])),
                f"{i3}for j in range(m):",
                f"{i4}u = {up}",
                f"{i4}acc_b += u",
                *(f"{i4}acc_{k} += u * buf[{self.hrow[r] + k}, j]" for k in range(w[r])),
                f"{i3}gc{r}[o] += acc_b",
                *(f"{i3}gw{r}[o, {k}] += acc_{k}" for k in range(w[r])),
            ]
        lines += [
            f"{i2}for k in range({w[0]}):",
            f"{i3}acc = zero",
            f"{i3}for j in range(m):",
            f"{i4}acc += buf[{self.drow[0]} + k, j]",
            f"{i3}ga[i, k] = acc",
            f"    for k in range({w[0]}):",
            "        for j in range(m):",
            f"            gbT[k, j] = buf[{self.grow} + k, j]",
            f"    return ga, gbT, {', '.join(f'gw{r}, gc{r}' for r in self.layers)}",
        ]
        return "\n".join(lines) + "\n"

    def module(self) -> str:
        flags = "{" + ", ".join(repr(f) for f in sorted(FASTMATH)) + "}"  # sorted: the same text in every process
        jit = f"@numba.njit(cache=True, fastmath={flags}, error_model='numpy')\n"
        head = f'"""Generated by mibench.estimators.neural.fused for hidden widths {self.widths}; do not edit."""\n'
        return head + "import numba\nimport numpy as np\n\n\n" + jit + self.forward() + "\n\n" + jit + self.backward()


def cache_dir() -> Path:
    """Where generated kernel modules (and numba's compiled code, beside them) are kept:
    $MIBENCH_KERNEL_CACHE, else $XDG_CACHE_HOME/mibench/kernels or ~/.cache/mibench/kernels."""
    if os.environ.get("MIBENCH_KERNEL_CACHE"):
        return Path(os.environ["MIBENCH_KERNEL_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mibench" / "kernels"


@functools.cache
def kernels(widths: tuple[int, ...]):
    """The compiled (forward, backward) kernels for ReLU hidden layers of these widths."""
    source = KernelSource(widths).module()
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    name = f"pair_mlp_{'_'.join(map(str, widths))}_{digest}"
    try:
        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.py"
        if not path.exists():  # written once, atomically: numba's cache is keyed on the file's time stamp
            fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
            with os.fdopen(fd, "w") as fh:
                fh.write(source)
            os.replace(tmp, path)
        spec = importlib.util.spec_from_file_location(f"mibench_{name}", path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod  # numba's cache re-imports the module of a cached function by name
        spec.loader.exec_module(mod)
        return mod.forward, mod.backward
    except OSError:  # no writable cache: compile in memory, once per process
        import numba

        namespace: dict = {"np": np, "numba": numba}
        exec(compile(source, f"<{name}>", "exec"), namespace)
        jit = numba.njit(fastmath=FASTMATH, error_model="numpy")
        return jit(namespace["forward"].py_func), jit(namespace["backward"].py_func)


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().contiguous().numpy()


def _columns(arr: np.ndarray, j0: int) -> np.ndarray:
    """Columns j0 .. j0 + CHUNK - 1, C-contiguous (one compiled signature per kernel)."""
    return np.ascontiguousarray(arr[:, j0 : j0 + CHUNK])


class PairMLP(torch.autograd.Function):
    """``s = PairMLP.apply(a, b, n_layers, w0, c0, w1, c1, ...)``: s_ij = MLP(relu(a_i + b_j)), where
    (w_r, c_r) are the layers after the first (the last maps to one score). CPU float32."""

    @staticmethod
    def forward(ctx, a, b, widths, *params):
        ctx.widths = widths
        ctx.save_for_backward(a, b, *params)
        forward, _ = kernels(widths)
        a_np, bT, ps = _numpy(a), _numpy(b.T), [_numpy(p) for p in params]
        chunks = [forward(a_np, _columns(bT, j0), *ps) for j0 in range(0, bT.shape[1], CHUNK)]
        return torch.from_numpy(chunks[0] if len(chunks) == 1 else np.concatenate(chunks, axis=1))

    @staticmethod
    def backward(ctx, grad):
        a, b, *params = ctx.saved_tensors
        _, backward = kernels(ctx.widths)
        a_np, bT, G, ps = _numpy(a), _numpy(b.T), _numpy(grad), [_numpy(p) for p in params]
        ga, gbT, grads = None, [], None
        for j0 in range(0, bT.shape[1], CHUNK):
            ga_c, gbT_c, *grads_c = backward(a_np, _columns(bT, j0), _columns(G, j0), *ps)
            ga = ga_c if ga is None else ga + ga_c
            grads = grads_c if grads is None else [u + v for u, v in zip(grads, grads_c)]
            gbT.append(gbT_c)
        gb = np.ascontiguousarray(np.concatenate(gbT, axis=1).T)
        return (torch.from_numpy(ga), torch.from_numpy(gb), None,
                *(torch.from_numpy(g.astype(np.float32)) for g in grads))


def pair_macs(widths: tuple[int, ...]) -> int:
    """Multiply-adds per pair after the first layer."""
    return sum(p * q for p, q in zip(widths, [*widths[1:], 1]))


def unsupported(activation: str, widths: tuple[int, ...], device, dtype: torch.dtype) -> str | None:
    """None when the fused kernels apply to this MLP on this device and dtype, else why not."""
    if activation not in SUPPORTED_ACTIVATIONS:
        return f"activation {activation} (the fused kernels support {', '.join(SUPPORTED_ACTIVATIONS)})"
    if pair_macs(widths) > MAX_PAIR_MACS:
        return (f"hidden layers {'-'.join(map(str, widths))} ({pair_macs(widths)} multiply-adds per pair after "
                f"the first layer; the fused kernels are generated for at most {MAX_PAIR_MACS})")
    if torch.device(device).type != "cpu":
        return f"device {device} (the fused kernels run on CPU)"
    if dtype != torch.float32:
        return f"dtype {dtype} (the fused kernels run in float32)"
    return None


def pair_scores(a: torch.Tensor, b: torch.Tensor, layers) -> torch.Tensor:
    """Scores (len(a), len(b)) from first-layer terms a (n, h0), b (m, h0) and the later ``Dense`` layers."""
    widths = (a.shape[1], *(layer.weight.shape[0] for layer in layers[:-1]))
    params = [t for layer in layers for t in (layer.weight, layer.bias)]
    return PairMLP.apply(a, b, widths, *params)
