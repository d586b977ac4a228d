"""Real images with exactly known MI: scikit-learn's handwritten digits (suite ``digits``; Lee & Rhee,
"A Benchmark Suite for Evaluating Neural Mutual Information Estimators on Unstructured Datasets", 2024).

Construction of one sample: labels L = (L_1..L_m) iid uniform over the 10 classes; L'_j = L_j with
probability 1 - eps, otherwise uniform over the 9 other labels (a symmetric channel, independently
per position); X is m images drawn uniformly (with replacement) among the data set's images of labels
L_1..L_m, placed side by side (8 x 8m), Y likewise for L', independently of X given the labels.

Truth: the label is a function of the image (the 1797 images of the data set are pairwise distinct,
checked in the tests) and X, Y are independent given (L, L'), so I(X; Y) = I(L; L') =
m (log 10 - H_eps), H_eps = -(1 - eps) log(1 - eps) - eps log(eps / 9), exactly.

Nuisance variants with the same truth (the clean image stays a function of the observed one, and the
nuisance is independent of everything else):

- ``noise``: uniform dequantisation, pixel (v + 0.05 + 0.9 U) / 17 for the integer value v in 0..16 and
  U ~ U(0, 1): v = floor(17 x) is recovered exactly, and X has a density (no atoms, no constant pixels).
- ``shift``: each 8 x 8 block moved by (dr, dc) uniform in {-1, 0, 1}^2, zero fill; no shifted image
  of one label equals a shifted image of another label (checked on the data set in the tests), so
  the label is still a function of X.

Ids: ``digits-{m}-{eps}``, ``digits-noise-{m}-{eps}``, ``digits-shift-{m}-{eps}`` for m in {1, 2, 4},
eps in {0.0, 0.1, 0.3, 0.6} (36 tasks, up to 9.21 nats). Samples: float32 (n, 1, 8, 8m) in [0, 1]
(plain: pixel / 16). The data ship with scikit-learn (no download); they are loaded on first sample.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from mibench import MibenchError, Task

from .mixed import channel_entropy, symmetric_channel

BLOCKS = (1, 2, 4)
EPSILONS = (0.0, 0.1, 0.3, 0.6)
NUISANCES = ("none", "noise", "shift")
N_CLASSES = 10
SIDE = 8
LEVELS = 16  #: pixel values of the data set are the integers 0..16


@functools.lru_cache(maxsize=1)
def digits_data() -> tuple[np.ndarray, np.ndarray]:
    """The 1797 images (integer-valued float64, (1797, 8, 8), values 0..16) and their labels."""
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.images, data.target.astype(np.int64)


@functools.lru_cache(maxsize=1)
def _by_label() -> list[np.ndarray]:
    images, labels = digits_data()
    return [images[labels == c] for c in range(N_CLASSES)]


def digits_mi(m: int, eps: float) -> float:
    """I(X; Y) = m (log 10 - H_eps) nats."""
    return m * (math.log(N_CLASSES) - channel_entropy(N_CLASSES, eps))


def shift_blocks(blocks: np.ndarray, dr: np.ndarray, dc: np.ndarray) -> np.ndarray:
    """Blocks (n, 8, 8) moved by (dr, dc) in {-1, 0, 1} each (per block), zero fill."""
    padded = np.pad(blocks, ((0, 0), (1, 1), (1, 1)))
    rows = (np.arange(SIDE)[None, :] + 1 - dr[:, None])[:, :, None]
    cols = (np.arange(SIDE)[None, :] + 1 - dc[:, None])[:, None, :]
    return padded[np.arange(len(blocks))[:, None, None], rows, cols]


class DigitsSampler:
    """Picklable sampler (only m, eps and the nuisance travel; the data are loaded in each process).

    ``labels(n, rng)`` and ``clean_blocks(labels, rng)`` expose the first steps for tests; ``__call__``
    draws labels, clean blocks of X, of Y, then the nuisance of X, of Y, from one generator."""

    def __init__(self, m: int, eps: float, nuisance: str = "none") -> None:
        if isinstance(m, bool) or not isinstance(m, int) or m < 1:
            raise MibenchError(f"digits: the number of digits per image m must be a positive integer, got {m!r}")
        if not 0 <= eps < 1:
            raise MibenchError(f"digits: the channel's error probability eps must lie in [0, 1), got {eps!r}")
        if nuisance not in NUISANCES:
            raise MibenchError(f"digits: nuisance must be one of {', '.join(NUISANCES)}, got {nuisance!r}")
        self.m, self.eps, self.nuisance = m, float(eps), nuisance

    def labels(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        lx = rng.integers(0, N_CLASSES, size=(n, self.m))
        return lx, symmetric_channel(lx, N_CLASSES, self.eps, rng)

    def __call__(self, n: int, rng: np.random.Generator):
        lx, ly = self.labels(n, rng)
        # clean images of both sides first, then the nuisance: for the same seed, every variant shows
        # the same underlying digits (the tests recover them)
        bx, by = self.clean_blocks(lx, rng), self.clean_blocks(ly, rng)
        return self._finish(bx, rng), self._finish(by, rng)

    def clean_blocks(self, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Integer-valued blocks (n, m, 8, 8): for each label an image of that class, uniformly."""
        pools = _by_label()
        counts = np.array([len(p) for p in pools])
        pick = (rng.random(labels.shape) * counts[labels]).astype(np.int64)  # uniform index within the class
        blocks = np.empty((*labels.shape, SIDE, SIDE))
        for c in range(N_CLASSES):
            where = labels == c
            blocks[where] = pools[c][pick[where]]
        return blocks

    def _finish(self, blocks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The nuisance, pixel scaling and layout: (n, m, 8, 8) -> float32 (n, 1, 8, 8m)."""
        n = len(blocks)
        if self.nuisance == "shift":
            d = rng.integers(-1, 2, size=(2, n * self.m))
            blocks = shift_blocks(blocks.reshape(-1, SIDE, SIDE), d[0], d[1]).reshape(n, self.m, SIDE, SIDE)
        if self.nuisance == "noise":
            pixels = (blocks + 0.05 + 0.9 * rng.random(blocks.shape)) / (LEVELS + 1)
        else:
            pixels = blocks / LEVELS
        # block j occupies columns 8j .. 8j + 7
        return pixels.transpose(0, 2, 1, 3).reshape(n, 1, SIDE, SIDE * self.m).astype(np.float32)


def digits_task(m: int, eps: float, nuisance: str = "none") -> Task:
    eps = float(eps)
    sampler = DigitsSampler(m, eps, nuisance)
    tag = "" if nuisance == "none" else f"{nuisance}-"
    what = {"none": "", "noise": ", dequantised", "shift": ", shifted"}[nuisance]
    return Task(
        f"digits-{tag}{m}-{eps}", family="digits" if nuisance == "none" else f"digits-{nuisance}",
        sampler=sampler, mutual_information=digits_mi(m, eps),
        x_shape=(1, SIDE, SIDE * m), y_shape=(1, SIDE, SIDE * m),
        name=f"{m} digit(s) side by side, label channel eps={eps}{what}",
        params={"digits": m, "eps": eps, "nuisance": nuisance, "height": SIDE, "width": SIDE * m},
        description="scikit-learn digits drawn by label; Y's labels through a symmetric channel",
    )


def digits_suite() -> list[Task]:
    """Suite ``digits``: m in {1, 2, 4} digits per image, eps in {0, 0.1, 0.3, 0.6}, plain and two nuisances."""
    return [digits_task(m, eps, nu) for nu in NUISANCES for m in BLOCKS for eps in EPSILONS]
