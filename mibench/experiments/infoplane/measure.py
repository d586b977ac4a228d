"""Lossy compression and the two MI quantities of the information plane, for any estimator.

Compression (fit on the training rows, applied to the evaluation rows, so the codes never adapt to
the sample they are measured on): ``pca`` (scikit-learn, the default) or ``ae`` (the MLP autoencoder of
the ``ae`` estimator, trained on the training rows). A variable with at most ``dim`` coordinates is
only standardised.

I(L; Y) for a discrete label Y:

- estimators with an ``entropy(a)`` method (``kl``, ``wkl``) give H(L) - sum_y p(y) H(L | Y = y), the
  entropies by that same rule (the paper's method). A one-hot label has atoms, which the k-NN entropy
  of the joint (L, Y) cannot handle (zero distances, and dimension K - 1 more), so these estimators
  are never given one.
- every other estimator gets I(L; onehot(Y)) through ``call_estimator``, the label coded as K - 1
  indicator columns (a bijection of the label that keeps the covariance non-singular). For ``ksg``
  this is Ross's (2014) nearest-neighbour estimator for a discrete variable whenever the k-th
  neighbour is nearer than the distance between two classes' one-hot vectors: the k-th joint neighbour then
  lies in the point's own class and the label counts are the class sizes.

A failing estimate becomes NaN with its error text (the run goes on).
"""

from __future__ import annotations

import numpy as np

import mibench

COMPRESSIONS = ("pca", "ae")


def compress(a: np.ndarray, train: np.ndarray, test: np.ndarray, *, method: str, dim: int, seed: int,
             ae_steps: int = 1500) -> np.ndarray:
    """Codes (len(test), <= dim) of the rows ``test`` of ``a`` (n, d), the compressor fit on the rows ``train``."""
    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    if a.shape[1] <= dim:
        mu, sd = a[train].mean(axis=0), a[train].std(axis=0)
        return (a[test] - mu) / np.where(sd > 0, sd, 1.0)
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=dim, svd_solver="covariance_eigh").fit(a[train]).transform(a[test])
    ae = mibench.get_estimator(f"ae:latent_dim={dim},steps={ae_steps},seed={seed},device=cpu")
    codes, _ = ae.encode(a, train, test, salt=1)
    return codes


def estimate(est, x: np.ndarray, y: np.ndarray) -> tuple[float, str | None]:
    """(estimate, None), or (NaN, error text) when the estimator fails."""
    try:
        return mibench.call_estimator(est, x, y)[0], None
    except Exception as exc:  # a failing estimator never kills the run
        return float("nan"), f"{type(exc).__name__}: {exc}"


def label_mi(est, codes: np.ndarray, labels: np.ndarray) -> tuple[float, str | None]:
    """I(L; Y) for integer labels (see the module docstring for which rule applies)."""
    classes, y = np.unique(labels, return_inverse=True)
    try:
        if hasattr(est, "entropy"):
            h_cond = sum(np.mean(y == c) * est.entropy(codes[y == c]) for c in range(len(classes)))
            return float(est.entropy(codes) - h_cond), None
    except Exception as exc:
        return float("nan"), f"{type(exc).__name__}: {exc}"
    return estimate(est, codes, onehot(y, len(classes)))


def label_rule(est) -> str:
    """Which rule ``label_mi`` applies to this estimator: ``entropy`` or ``onehot``."""
    return "entropy" if hasattr(est, "entropy") else "onehot"


def onehot(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Indicator columns of classes 0..K-2 (class K-1 is the all-zero row), float64."""
    return np.eye(n_classes)[y][:, : max(1, n_classes - 1)]


def fano_bound(accuracy: float, n_classes: int, label_entropy: float) -> float:
    """Lower bound on I(L; Y) for a layer L from which Y is predicted with this accuracy (Fano):
    H(Y | L) <= H(Y | Yhat) <= h(Pe) + Pe log(K - 1), so I(L; Y) >= H(Y) - h(Pe) - Pe log(K - 1)."""
    pe = 1.0 - accuracy
    h = 0.0 if pe in (0.0, 1.0) else -(pe * np.log(pe) + (1 - pe) * np.log1p(-pe))
    return float(label_entropy - h - pe * np.log(max(n_classes - 1, 1)))


def plugin_entropy(labels: np.ndarray) -> float:
    """Empirical entropy of integer labels, nats."""
    p = np.unique(labels, return_counts=True)[1] / len(labels)
    return float(-(p * np.log(p)).sum())
