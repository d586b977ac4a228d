"""Shared helpers for the task-zoo tests (not a test module)."""

import json
import math
import pathlib

import numpy as np

DATA = pathlib.Path(__file__).parents[1] / "data"


def bmi_reference() -> dict:
    return json.loads((DATA / "bmi_reference.json").read_text())


def assert_mc_agrees(pmi: np.ndarray, truth: float, truth_se: float = 0.0, n_se: float = 4.0) -> None:
    """The Monte-Carlo mean of pointwise MI values agrees with ``truth`` within n_se standard errors."""
    pmi = np.asarray(pmi, dtype=float)
    assert np.all(np.isfinite(pmi))
    se = math.sqrt(pmi.var(ddof=1) / len(pmi) + truth_se**2)
    diff = abs(pmi.mean() - truth)
    assert diff <= n_se * se, f"MC {pmi.mean():.5f} vs truth {truth:.5f}: {diff / se:.2f} standard errors"


def gaussian_logpdf(z: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """log N(z; 0, cov) via an eigen-decomposition (independent of the samplers' Cholesky code)."""
    w, v = np.linalg.eigh(cov)
    proj = (z @ v) / np.sqrt(w)
    return -0.5 * np.sum(proj**2, axis=1) - 0.5 * np.sum(np.log(w)) - 0.5 * z.shape[1] * math.log(2 * math.pi)
