"""Validation of the compression + estimator pipeline on images with known MI, and the error bars
it gives the information plane.

- I(X; L): the 16 x 16 tasks of the ``images`` suite of one shape at every MI level of the suite
  (0.1 to 10 nats), and a zero level (X and Y from independent draws). The shape is rectangles
  (latent dimension 4) for codes of dimension ``dim`` >= 3, Gaussian bumps (latent dimension 2)
  below: the codes of images with a lower-dimensional latent lie on a manifold of that dimension,
  where the entropy-based kNN estimators (``kl``, ``wkl``) are biased by terms of about
  (dim / latent - 1) log n that do not cancel (``wkl`` read -1.9 nats at a true 0.1 on bumps
  compressed to 4 components), while the codes of a trained layer fill their ``dim`` dimensions.
  Both images are compressed exactly as X and L are (the compressor fit on ``n_fit`` rows, applied
  to ``n_eval`` other rows; same method, same ``dim``) and the estimator is applied to the codes of
  the ``n_eval`` rows: the experiment's sample size.
- I(L; Y): labelled images of the same shape. A label Y uniform on the K classes of the data; a
  latent Z = a m_Y + b E (dimension d = 2 or 4) with m_y K unit vectors (a circle, or a torus knot
  in R^4), E standard normal and a^2 / d + b^2 = 1; the image is the suite's rendering of Phi(Z), an
  injective smooth map, so I(image; Y) = I(Z; Y) (Monte Carlo over 2 x 10^5 draws, standard error
  kept). The ratio a / b sets the MI: 0 (a = 0), then about 0.08 to 2.27 nats (K = 10). The images
  are compressed and the label MI measured by the experiment's rule (``measure.label_mi``).

**Error bar** of an information-plane point with estimate m: the pipeline's root-mean-square error
over the validation seeds at the level whose mean estimate is m, linearly interpolated in the mean
estimate (made non-decreasing; beyond the smallest or largest mean estimate, the value at that
end). Interpolating in the estimate rather than in the truth matters where an estimator saturates:
a measured 5 nats from an estimator that reads 5 for a true 10 gets the large error of the 10-nat
level. The bar is one RMSE (a single estimate falls outside it about a third of the time); it
covers the estimator's bias and seed-to-seed spread on data of known MI at the same dimensions and
sample size, not what compression removes from a real layer beyond what it removes from images.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pandas as pd
from scipy.special import logsumexp, ndtr

import mibench

from .measure import compress, estimate, label_mi

IMAGE_SIZE = 16
LATENT_DIM = {"gauss": 2, "rect": 4}  #: latent dimension of the images suite's shapes
#: a / b of the labelled-image levels per shape (0, then about 0.08 to 2.27 nats for 10 classes)
LABEL_SNR = {"gauss": (0.0, 0.4, 1.0, 2.0, 3.5, 5.5, 9.0), "rect": (0.0, 0.4, 1.0, 1.7, 2.5, 3.3, 4.5)}
TRUTH_DRAWS = 200_000
COLUMNS = ["estimator", "quantity", "task_id", "truth", "truth_stderr", "seed", "n_fit", "n_eval", "compression",
           "dim", "estimate", "error"]


def shape_for(dim: int) -> str:
    """The image family whose latent dimension is nearest the code dimension (rectangles from 3 up)."""
    return "rect" if dim >= 3 else "gauss"


def image_tasks(shape: str) -> list:
    """The ``images`` suite's tasks of one shape at IMAGE_SIZE, every MI level."""
    return [t for t in mibench.list_tasks("images") if t.params.get("size") == IMAGE_SIZE
            and t.params.get("shape") == shape]


class LabelledImages:
    """Images whose d-dimensional latent depends on a uniform label (see the module docstring)."""

    def __init__(self, shape: str, n_classes: int, snr: float) -> None:
        self.shape, self.k, self.snr = shape, int(n_classes), float(snr)
        self.d = LATENT_DIM[shape]
        angle = 2 * np.pi * np.arange(self.k) / self.k
        # K unit vectors spread over a circle (d = 2) or a torus knot (d = 4)
        parts = [np.cos(angle), np.sin(angle)] + ([np.cos(3 * angle), np.sin(3 * angle)] if self.d == 4 else [])
        self.means = np.stack(parts, axis=1) / math.sqrt(len(parts) / 2)
        self.b = 1.0 / math.sqrt(1.0 + self.snr**2 / self.d)
        self.a = self.snr * self.b
        self.id = f"labelled-{shape}-{IMAGE_SIZE}-{self.k}-{self.snr:g}"

    def latents(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, self.k, n)
        return self.a * self.means[y] + self.b * rng.standard_normal((n, self.d)), y

    def sample(self, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        from mibench.samplers import ImageSampler

        z, y = self.latents(n, np.random.default_rng([zlib.crc32(self.id.encode()), seed]))
        render = ImageSampler(self.shape, IMAGE_SIZE, 1.0, rotation_seed=0).render
        return render(ndtr(z)), y

    def truth(self, draws: int = TRUTH_DRAWS) -> tuple[float, float]:
        """Monte-Carlo I(Z; Y) = E[log p(z | y) - log p(z)] and its standard error (fixed seed)."""
        z, y = self.latents(draws, np.random.default_rng(2026))
        logp = -0.5 * ((z[:, None, :] - self.a * self.means[None]) ** 2).sum(-1) / self.b**2
        ratio = logp[np.arange(draws), y] - (logsumexp(logp, axis=1) - math.log(self.k))
        return float(ratio.mean()), float(ratio.std() / math.sqrt(draws))


class IndependentImages:
    """The zero level: X and Y images of a task from two independent draws (I = 0 exactly)."""

    def __init__(self, task) -> None:
        self.task = task
        self.id = task.id.rsplit("-", 1)[0] + "-independent"

    def sample(self, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        return self.task.sample(n, seed)[0], self.task.sample(n, seed + 7919)[1]


def validate(estimators: dict, *, n_fit: int, n_eval: int, n_classes: int, compression: str, dim: int,
             seeds: int, ae_steps: int = 1500, progress=None) -> pd.DataFrame:
    """One row per (estimator, quantity, validation task, seed): the estimate on data of known MI."""
    rows = []
    n = n_fit + n_eval
    fit, ev = np.arange(n_fit), np.arange(n_fit, n)
    jobs = []
    tasks = image_tasks(shape_for(dim))
    jobs.append(("i_xl", IndependentImages(tasks[0]).id, 0.0, 0.0, IndependentImages(tasks[0]).sample))
    for task in tasks:
        jobs.append(("i_xl", task.id, task.mutual_information, 0.0, task.sample))
    for snr in LABEL_SNR[shape_for(dim)]:
        lb = LabelledImages(shape_for(dim), n_classes, snr)
        jobs.append(("i_ly", lb.id, *lb.truth(), lb.sample))
    for quantity, task_id, truth, truth_se, sample in jobs:
        for seed in range(seeds):
            x, y = sample(n, seed)
            cx = compress(x, fit, ev, method=compression, dim=dim, seed=seed, ae_steps=ae_steps)
            cy = None
            if quantity == "i_xl":
                cy = compress(y, fit, ev, method=compression, dim=dim, seed=seed + 1000, ae_steps=ae_steps)
            for spec, est in estimators.items():
                value, err = estimate(est, cx, cy) if quantity == "i_xl" else label_mi(est, cx, y[ev])
                rows.append({"estimator": spec, "quantity": quantity, "task_id": task_id, "truth": truth,
                             "truth_stderr": truth_se, "seed": seed, "n_fit": n_fit, "n_eval": n_eval,
                             "compression": compression, "dim": dim, "estimate": value, "error": err})
            if progress is not None:
                progress()
    return pd.DataFrame(rows, columns=COLUMNS)


def n_validation_cells(dim: int, seeds: int) -> int:
    return (1 + len(image_tasks(shape_for(dim))) + len(LABEL_SNR[shape_for(dim)])) * seeds


def summary(validation: pd.DataFrame) -> pd.DataFrame:
    """Per (estimator, quantity, truth level): the task family, mean estimate, bias, std and RMSE over seeds."""
    ok = validation.dropna(subset=["estimate"]).copy()
    ok["sq"] = (ok["estimate"] - ok["truth"]) ** 2
    ok["level"] = ok["truth"].round(6)
    ok["tasks"] = ok["task_id"].str.rsplit("-", n=1).str[0]  # the family: the id without its level
    g = ok.groupby(["estimator", "quantity", "level"])
    out = g.agg(tasks=("tasks", "first"), truth=("truth", "mean"), mean=("estimate", "mean"),
                std=("estimate", "std"), mse=("sq", "mean"), cells=("estimate", "size")).reset_index()
    out["bias"] = out["mean"] - out["truth"]
    out["rmse"] = np.sqrt(out.pop("mse"))
    failed = validation[validation["estimate"].isna()].groupby(["estimator", "quantity"]).size()
    out["failed"] = [int(failed.get((e, q), 0)) for e, q in zip(out["estimator"], out["quantity"])]
    return out[["estimator", "quantity", "tasks", "truth", "mean", "bias", "std", "rmse", "cells", "failed"]]


def error_bars(validation: pd.DataFrame, estimator: str, quantity: str, values) -> np.ndarray:
    """Half-widths for measured ``values`` (see the module docstring); NaN where the validation has no level."""
    values = np.asarray(values, dtype=float)
    s = summary(validation)
    s = s[(s["estimator"] == estimator) & (s["quantity"] == quantity)].sort_values("truth")
    if s.empty:
        return np.full(values.shape, np.nan)
    xp = np.maximum.accumulate(s["mean"].to_numpy())
    # equal mean estimates (a saturated estimator): keep the largest error among them
    table = pd.DataFrame({"x": xp, "rmse": s["rmse"].to_numpy()}).groupby("x")["rmse"].max()
    return np.interp(values, table.index.to_numpy(), table.to_numpy())
