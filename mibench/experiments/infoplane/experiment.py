"""``run``: train the noisy classifier and measure its information plane with any estimators."""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

import mibench
from mibench.core.errors import MibenchError
from mibench.core.registry import resolve_estimator

from . import measure, network, validation

TABLE = "infoplane"
VALIDATION_TABLE = "infoplane_validation"
KEY = ["run_id", "estimator", "epoch", "layer"]
VALIDATION_KEY = ["validation_id", "estimator", "task_id", "seed"]
COLUMNS = ["run_id", "validation_id", "estimator", "label_rule", "epoch", "layer", "layer_index", "layer_dim",
           "code_dim", "i_xl", "i_xl_err", "i_ly", "i_ly_err", "train_acc", "test_acc", "train_loss", "fano_bound",
           "label_entropy", "seed", "error"]
ARCHITECTURES = ("auto", "cnn", "mlp")

#: the default configuration (the paper's network and noise; sizes for digits on 2 CPU cores)
DEFAULTS = {
    "epochs": 60, "eval_every": 1, "architecture": "auto", "widths": (64, 32, 32), "sigma": 1e-3,
    "noise": "relative", "dropout": 0.1, "lr": 1e-3, "batch_size": 32, "test_fraction": 0.5, "compression": "pca",
    "dim": 4, "ae_steps": 1500, "validation_seeds": 5, "seed": 0,
}


@dataclass
class InfoplaneResult:
    """``rows``: one per (estimator, epoch, layer); ``validation``: the pipeline on data of known MI (one
    row per estimator, task, seed); ``config``: the run's parameters and timings."""

    rows: pd.DataFrame
    validation: pd.DataFrame
    config: dict = field(default_factory=dict)

    @property
    def validation_summary(self) -> pd.DataFrame:
        return validation.summary(self.validation)


def run(estimators="wkl", data=None, *, epochs: int = DEFAULTS["epochs"], eval_every: int = DEFAULTS["eval_every"],
        architecture: str = DEFAULTS["architecture"], widths=DEFAULTS["widths"], sigma: float = DEFAULTS["sigma"],
        noise: str = DEFAULTS["noise"], dropout: float = DEFAULTS["dropout"], lr: float = DEFAULTS["lr"],
        batch_size: int = DEFAULTS["batch_size"], test_fraction: float = DEFAULTS["test_fraction"],
        compression: str = DEFAULTS["compression"], dim: int = DEFAULTS["dim"], ae_steps: int = DEFAULTS["ae_steps"],
        validation_seeds: int = DEFAULTS["validation_seeds"], seed: int = DEFAULTS["seed"], store=None,
        out=None, progress: bool = False, threads: int | None = 1) -> InfoplaneResult:
    """Train a noise-injected classifier and measure I(X; L) and I(L; Y) of every layer (nats).

    Args:
        estimators: one spec or a list (``"wkl"``, ``"ksg:k=5"``, ...); all of them measure the same
            training run, each built through ``mibench.get_estimator``.
        data: ``(X, labels)``; X as images (n, h, w) or (n, c, h, w) or vectors (n, d), labels (n,) of any
            discrete type. Default: scikit-learn's ``digits`` (1797 images 8 x 8, pixels / 16, 10 classes).
        epochs, eval_every: Adam epochs; layers are measured before training (epoch 0), every
            ``eval_every`` epochs and after the last one.
        architecture: ``cnn`` (the paper's: conv 8-16-32 with max-pooling and LeakyReLU, dense 32, output;
            images only), ``mlp`` (dense ``widths``, output) or ``auto`` (cnn for images, mlp for vectors).
        sigma, noise: Gaussian noise at every layer's input, also at evaluation: std ``sigma * |activation|``
            (``relative``, the paper's 1e-3) or ``sigma`` (``absolute``). dropout: at the input of the
            conv / hidden layers, training only.
        lr, batch_size: Adam's step and minibatch size (NLL loss).
        test_fraction: share of rows held out (stratified): the test accuracy and every MI estimate
            are computed on them; the training rows fit the compressors.
        compression, dim: ``pca`` or ``ae`` (autoencoder, ``ae_steps`` Adam steps) to ``dim`` components,
            for X and every layer wider than ``dim``.
        validation_seeds: seeds of the validation on images with known MI (0 skips it: no error bars).
        seed: seeds the split, the initialisation, noise, dropout and minibatch order (local generators).
        store: SQLite store; rows go to its tables ``infoplane`` and ``infoplane_validation``
            (re-running the same configuration replaces its rows; stored validation cells are reused).
        out: folder for ``infoplane.csv``, ``infoplane_validation.csv`` and the figures (PNG and SVG).
        progress: a line per measured epoch on stderr.
        threads: BLAS / OpenMP / torch threads during the run (default 1; None leaves them as they are).
    """
    import torch
    from threadpoolctl import threadpool_limits

    cfg = _check({k: v for k, v in locals().items() if k in DEFAULTS})
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise MibenchError(f"infoplane: threads must be a positive integer or None, got {threads!r}")
    if threads is None:
        return _run(cfg, estimators, data, store, out, progress)
    import numba

    # a few thousand rows: extra threads gain little, and on a loaded machine threads that spin-wait
    # for each other made one PCA 50x and, after a numba kernel (KSG) had run, each training epoch
    # 17x slower: numba's OpenMP layer resets the OpenMP thread count that torch shares, so it is
    # capped too (threadpoolctl does not see numba's pool)
    saved = torch.get_num_threads(), numba.get_num_threads()
    try:
        with threadpool_limits(limits=threads):
            torch.set_num_threads(threads)
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            return _run(cfg, estimators, data, store, out, progress)
    finally:
        torch.set_num_threads(saved[0])
        numba.set_num_threads(saved[1])


def _run(cfg, estimators, data, store, out, progress) -> InfoplaneResult:
    import torch

    specs, ests = _estimators(estimators)
    x, y, train, test, cfg, run_id = prepare(cfg, data)
    val_cfg = {k: cfg[k] for k in ("compression", "dim", "ae_steps", "validation_seeds", "n_train", "n_test",
                                   "n_classes")}
    validation_id = _digest(val_cfg)
    log = (lambda msg: print(f"infoplane: {msg}", file=sys.stderr, flush=True)) if progress else (lambda msg: None)
    timings = {}

    t0 = time.perf_counter()
    val = _validation(specs, ests, val_cfg, validation_id, store, log)
    timings["validation_s"] = time.perf_counter() - t0

    scale = float(x[train].std()) or 1.0
    xt = torch.from_numpy(((x - x[train].mean()) / scale).astype(np.float32))
    yt = torch.from_numpy(y.astype(np.int64))
    net = network.build_network(cfg["architecture"], x.shape[1:], cfg["n_classes"], sigma=cfg["sigma"],
                                mode=cfg["noise"],
                                dropout=cfg["dropout"], widths=cfg["widths"], seed=cfg["seed"])
    opt = torch.optim.Adam(net.parameters(), lr=cfg["lr"])
    x_codes = measure.compress(x, train, test, method=cfg["compression"], dim=cfg["dim"], seed=cfg["seed"],
                               ae_steps=cfg["ae_steps"])
    label_entropy = measure.plugin_entropy(y[test])
    rng = np.random.default_rng([cfg["seed"], 1])
    rows, loss = [], float("nan")
    measured = sorted({0, cfg["epochs"], *range(cfg["eval_every"], cfg["epochs"] + 1, cfg["eval_every"])})
    timings.update(train_s=0.0, measure_s=0.0)
    for epoch in range(cfg["epochs"] + 1):
        if epoch > 0:
            t1 = time.perf_counter()
            loss = network.train_epoch(net, opt, xt[train], yt[train], cfg["batch_size"], rng)
            timings["train_s"] += time.perf_counter() - t1
        if epoch not in measured:
            continue
        t1 = time.perf_counter()
        rows += _measure_epoch(net, xt, y, train, test, x_codes, ests, cfg, epoch, loss, label_entropy)
        timings["measure_s"] += time.perf_counter() - t1
        last = rows[-1]
        log(f"epoch {epoch}: train acc {last['train_acc']:.3f}, test acc {last['test_acc']:.3f}, "
            f"loss {loss:.3f}")
    frame = pd.DataFrame(rows)
    frame.insert(0, "run_id", run_id)
    frame.insert(1, "validation_id", validation_id)
    frame["seed"] = cfg["seed"]
    for spec in specs:
        sel = frame["estimator"] == spec
        for q in ("i_xl", "i_ly"):
            frame.loc[sel, f"{q}_err"] = validation.error_bars(val, spec, q, frame.loc[sel, q])
    frame = frame[COLUMNS]
    cfg.update({k: round(v, 2) for k, v in timings.items()}, run_id=run_id, validation_id=validation_id,
               estimators=specs)
    result = InfoplaneResult(frame, val, cfg)
    if store is not None:
        from mibench.execution.store import Store

        with Store(store) as db:
            db.write_table(TABLE, frame.assign(config=json.dumps(_jsonable(cfg), sort_keys=True)), KEY)
            db.write_table(VALIDATION_TABLE, val.assign(validation_id=validation_id), VALIDATION_KEY)
    if out is not None:
        write_outputs(result, out)
    return result


def prepare(cfg: dict, data) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict, str]:
    """Checked data, integer labels, the stratified split, the completed configuration and its
    ``run_id`` (a digest of everything that determines the training run and its measurements,
    the data's contents included, not the estimators)."""
    x, labels, source = _data(data)
    classes, y = np.unique(labels, return_inverse=True)
    if len(classes) < 2:
        raise MibenchError("infoplane: the labels have a single class; I(L; Y) needs at least two")
    cfg = dict(cfg)
    arch = cfg["architecture"]
    if arch == "auto":
        arch = "cnn" if x.ndim == 4 else "mlp"
    if arch == "cnn" and (x.ndim != 4 or min(x.shape[2:]) < 8):
        raise MibenchError(f"infoplane: architecture cnn needs images of at least 8 x 8, got data of shape {x.shape} "
                           "(use architecture=mlp for vectors)")
    train, test = _split(y, cfg["test_fraction"], cfg["seed"])
    data_hash = hashlib.sha256(np.ascontiguousarray(x).tobytes() + np.ascontiguousarray(y).tobytes()).hexdigest()
    cfg.update(architecture=arch, data=source, data_hash=data_hash[:12], n=len(x), n_train=len(train),
               n_test=len(test), n_classes=len(classes))
    run_id = _digest({k: v for k, v in cfg.items() if k != "validation_seeds"})
    return x, y, train, test, cfg, run_id


def _measure_epoch(net, xt, y, train, test, x_codes, ests, cfg, epoch, loss, label_entropy) -> list[dict]:
    layers_tr = network.probe(net, xt[train])
    layers_te = network.probe(net, xt[test])
    train_acc = float(np.mean(layers_tr[-1].argmax(1) == y[train]))
    test_acc = float(np.mean(layers_te[-1].argmax(1) == y[test]))
    n_classes = layers_te[-1].shape[1]
    fano = measure.fano_bound(test_acc, n_classes, label_entropy)
    rows = []
    idx = np.arange(len(train) + len(test))
    for i, (name, tr, te) in enumerate(zip(net.layer_names, layers_tr, layers_te)):
        both = np.concatenate([tr, te])
        codes = measure.compress(both, idx[: len(tr)], idx[len(tr):], method=cfg["compression"], dim=cfg["dim"],
                                 seed=cfg["seed"] + 1 + i, ae_steps=cfg["ae_steps"])
        for spec, est in ests.items():
            i_xl, err_xl = measure.estimate(est, x_codes, codes)
            i_ly, err_ly = measure.label_mi(est, codes, y[test])
            rows.append({"estimator": spec, "label_rule": measure.label_rule(est), "epoch": epoch, "layer": name,
                         "layer_index": i + 1, "layer_dim": int(tr.shape[1]), "code_dim": int(codes.shape[1]),
                         "i_xl": i_xl, "i_ly": i_ly, "train_acc": train_acc, "test_acc": test_acc,
                         "train_loss": loss, "fano_bound": fano, "label_entropy": label_entropy,
                         "error": "; ".join(e for e in (err_xl, err_ly) if e) or None})
    return rows


def _validation(specs, ests, val_cfg, validation_id, store, log) -> pd.DataFrame:
    """The validation cells for every estimator: reused from the store when complete there, else computed."""
    if val_cfg["validation_seeds"] == 0:
        return pd.DataFrame(columns=validation.COLUMNS)
    cached = pd.DataFrame()
    if store is not None and Path(store).is_file():
        from mibench.execution.store import open_existing

        with open_existing(store) as db:
            cached = db.read_table(VALIDATION_TABLE)
    want = validation.n_validation_cells(val_cfg["dim"], val_cfg["validation_seeds"])
    done, todo = [], {}
    for spec in specs:
        part = cached[(cached["validation_id"] == validation_id) & (cached["estimator"] == spec)] if len(cached) \
            else cached
        if len(part) == want:
            done.append(part[validation.COLUMNS])
        else:
            todo[spec] = ests[spec]
    if todo:
        log(f"validating {', '.join(todo)} on images with known MI ({want} cells each)")
        done.append(validation.validate(todo, n_fit=val_cfg["n_train"], n_eval=val_cfg["n_test"],
                                        n_classes=val_cfg["n_classes"], compression=val_cfg["compression"],
                                        dim=val_cfg["dim"], seeds=val_cfg["validation_seeds"],
                                        ae_steps=val_cfg["ae_steps"]))
    return pd.concat(done, ignore_index=True)


def _check(args: dict) -> dict:
    cfg = {k: args[k] for k in DEFAULTS}
    for name in ("epochs", "eval_every", "batch_size", "dim", "ae_steps", "validation_seeds", "seed"):
        v = cfg[name]
        lo = 0 if name in ("epochs", "validation_seeds", "seed") else 1
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise MibenchError(f"infoplane: {name} must be an integer >= {lo}, got {v!r}")
        cfg[name] = int(v)
    for name, lo, hi in (("sigma", 0.0, np.inf), ("dropout", 0.0, 1.0), ("lr", 0.0, np.inf),
                         ("test_fraction", 0.0, 1.0)):
        v = cfg[name]
        ok = isinstance(v, (int, float, np.floating)) and not isinstance(v, bool) and np.isfinite(v)
        if not ok or not (lo <= v < hi) or (name in ("lr", "test_fraction") and v == 0):
            raise MibenchError(f"infoplane: {name} must be a finite number in [{lo}, {hi}) "
                               f"{'(not 0) ' if name in ('lr', 'test_fraction') else ''}got {v!r}")
        cfg[name] = float(v)
    for name, allowed in (("noise", network.NOISE_MODES), ("compression", measure.COMPRESSIONS),
                          ("architecture", ARCHITECTURES)):
        if cfg[name] not in allowed:
            raise MibenchError(f"infoplane: {name} must be one of {', '.join(allowed)}, got {cfg[name]!r}")
    widths = tuple(cfg["widths"]) if not isinstance(cfg["widths"], (int, str)) else ()
    if not widths or any(isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1 for w in widths):
        raise MibenchError(f"infoplane: widths must be a non-empty sequence of positive integers, "
                           f"got {cfg['widths']!r}")
    cfg["widths"] = tuple(int(w) for w in widths)
    return cfg


def _estimators(estimators) -> tuple[list[str], dict]:
    specs = [estimators] if isinstance(estimators, str) else list(estimators)
    if not specs:
        raise MibenchError("infoplane: give at least one estimator spec")
    ests = {}
    for s in specs:
        spec, _, _ = resolve_estimator(s)
        if spec.text in ests:
            raise MibenchError(f"infoplane: estimator {spec.text!r} is given twice")
        ests[spec.text] = mibench.get_estimator(spec)
    return list(ests), ests


def _data(data) -> tuple[np.ndarray, np.ndarray, str]:
    """(X as float64 images (n, c, h, w) or vectors (n, d), labels (n,), a description)."""
    if data is None:
        from sklearn.datasets import load_digits

        digits = load_digits()
        return digits.images[:, None] / 16.0, digits.target, "digits"
    try:
        x, labels = data
    except (TypeError, ValueError):
        raise MibenchError("infoplane: data must be a pair (X, labels)") from None
    x, labels = np.asarray(x), np.asarray(labels)
    if x.dtype == object or not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise MibenchError(f"infoplane: X must be a real numeric array, got dtype {x.dtype}")
    if x.ndim not in (2, 3, 4):
        raise MibenchError(f"infoplane: X must be vectors (n, d) or images (n, h, w) / (n, c, h, w), "
                           f"got shape {x.shape}")
    if labels.ndim != 1 or len(labels) != len(x):
        raise MibenchError(f"infoplane: labels must be a 1-d array with one label per row of X ({len(x)}), "
                           f"got shape {labels.shape}")
    x = x.astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise MibenchError(f"infoplane: X contains {int(np.sum(~np.isfinite(x)))} NaN or infinite value(s)")
    return (x[:, None] if x.ndim == 3 else x), labels, f"arrays {x.shape}"


def _split(y: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    try:
        train, test = train_test_split(np.arange(len(y)), test_size=test_fraction, stratify=y, random_state=seed)
    except ValueError as exc:
        raise MibenchError(f"infoplane: cannot split {len(y)} rows with test_fraction={test_fraction} "
                           f"stratified by label ({exc})") from None
    return np.sort(train), np.sort(test)


def _jsonable(cfg: dict) -> dict:
    return json.loads(json.dumps(cfg, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v)))


def _digest(cfg: dict) -> str:
    return hashlib.sha256(json.dumps(_jsonable(cfg), sort_keys=True).encode()).hexdigest()[:12]


def write_outputs(result: InfoplaneResult, out) -> list[Path]:
    """``infoplane.csv``, ``infoplane_validation.csv`` and the figures (PNG + SVG) in the folder ``out``."""
    from . import plots

    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MibenchError(f"infoplane: cannot create the folder {str(out)!r} ({exc.strerror})") from None
    paths = [out / "infoplane.csv", out / "infoplane_validation.csv"]
    result.rows.to_csv(paths[0], index=False, float_format="%.6g")
    result.validation_summary.to_csv(paths[1], index=False, float_format="%.6g")
    paths += plots.save_figures(result.rows, out, result.validation_summary)
    return paths
