"""Helpers shared by the torch-based estimators of this package (mienf, ae): input checks for
vectors or images, devices, seeded splits. Private to ``mibench.estimators``."""

from __future__ import annotations

import numpy as np
import torch
from scipy.special import ndtri

from mibench import validate_xy

DEVICES = ("auto", "cpu", "cuda")


def check_device(device) -> None:
    if device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")


def resolve_device(device: str) -> torch.device:
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device=cuda was requested but torch sees no CUDA device")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


def check_int(name: str, value, lo: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {value!r}")


def check_float(name: str, value, lo: float, hi: float, *, lo_open: bool = True, hi_open: bool = True) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok:
        v = float(value)
        ok = (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
    if not ok:
        lb, rb = "(" if lo_open else "[", ")" if hi_open else "]"
        raise ValueError(f"{name} must be a number in {lb}{lo}, {hi}{rb}, got {value!r}")


def validate_vectors_or_images(x, y, *, name: str, min_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Arrays (n, d) -> float64 (n, d); images (n, 1, h, w) -> float32, unchanged layout.

    Everything else (1-d, 3-d, multi-channel images, NaN/inf, mismatched lengths, non-numeric)
    raises ValueError naming the problem. Images need not be square (e.g. the 8 x 8m digits).
    """
    out = []
    for label, a in (("x", x), ("y", y)):
        arr = np.asarray(a)
        if arr.ndim == 4:
            if arr.shape[1] != 1:
                raise ValueError(
                    f"{name}: {label} images must have shape (n, 1, h, w), got {arr.shape}"
                )
        elif arr.ndim != 2:
            raise ValueError(
                f"{name}: {label} must be a 2-d array (n, dim) or images (n, 1, h, w), "
                f"got a {arr.ndim}-d array of shape {arr.shape}"
            )
        out.append(arr)
    xa, ya = out
    # numeric / finite / length / sample-count checks on flat views (images are never copied twice)
    validate_xy(xa.reshape(len(xa), -1), ya.reshape(len(ya), -1), min_samples=min_samples, name=name)
    conv = lambda a: a.astype(np.float32, copy=False) if a.ndim == 4 else a.astype(np.float64, copy=False)
    return conv(xa), conv(ya)


def split_indices(n: int, test_fraction: float, seed: int, *, min_each: int, name: str):
    """A seeded random split of range(n) into (train, test) index arrays."""
    n_test = int(round(n * test_fraction))
    if n_test < min_each or n - n_test < min_each:
        raise ValueError(
            f"{name}: {n} samples are too few for a train/test split with test_fraction={test_fraction} "
            f"(need at least {min_each} in each part)"
        )
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def standardize_train(a: np.ndarray, train: np.ndarray) -> np.ndarray:
    """Affine standardisation of vector columns with the training split's mean and std (an invertible
    map, so MI is unchanged); constant training columns are left centred only."""
    mu = a[train].mean(axis=0)
    sd = a[train].std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return (a - mu) / sd


def gaussianize_train(a: np.ndarray, train: np.ndarray) -> np.ndarray:
    """Each column through its training split's empirical CDF (linearly interpolated between order
    statistics) and the standard normal quantile function: a strictly increasing map on the range of
    the training values, so MI is unchanged there. Values outside that range (a fraction of about
    2 / n_train per column) are clamped to the extreme quantiles (1/2 and n_train - 1/2 over n_train)."""
    out = np.empty_like(a, dtype=np.float64)
    m = len(train)
    q = (np.arange(m) + 0.5) / m
    for j in range(a.shape[1]):
        xs = np.sort(a[train, j])
        if xs[0] == xs[-1]:
            out[:, j] = 0.0
            continue
        # ties: average the quantiles of equal values so that the map stays a function
        uniq, inv = np.unique(xs, return_inverse=True)
        qu = np.bincount(inv, weights=q) / np.bincount(inv)
        out[:, j] = ndtri(np.interp(a[:, j], uniq, qu))
    return out
