"""What the built-in estimators share: devices, torch threads, input checks for vectors or images,
seeded splits, train-split transforms. Private to ``mibench.estimators`` (plug-ins use the public
``mibench`` API). torch is imported only by the functions that need it."""

from __future__ import annotations

import contextlib

import numpy as np
from scipy.special import ndtri

from mibench import power_of_two_scaled, validate_xy


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when torch sees a GPU, else ``cpu``; ``cuda`` without a GPU is a ValueError
    (a user's request that cannot be met, reported before any work)."""
    if device == "cpu":
        return "cpu"
    try:
        import torch

        available = torch.cuda.is_available()
    except Exception:  # pragma: no cover - a broken CUDA install must not crash a CPU run
        available = False
    if device == "cuda" and not available:
        raise ValueError("device=cuda was requested but torch sees no CUDA device (use device=auto or cpu)")
    return "cuda" if available else "cpu"


@contextlib.contextmanager
def cpu_threads(n: int):
    """Run with ``n`` torch intra-op CPU threads (0: unchanged), restoring the previous setting."""
    import torch

    before = torch.get_num_threads()
    if n and n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


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
    a = power_of_two_scaled(a)  # exact; keeps the squares finite for data near 1e308
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
