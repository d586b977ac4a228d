"""MIENF: mutual information estimation via normalizing flows (Butakov et al., NeurIPS 2024).

``estimator`` (the estimator, its budgets and training loop), ``flows`` (vector couplings, Glow, the
PCA whitening layer, the CCA rotation) and ``targets`` (the Gaussian and tridiagonal targets).
"""

from .estimator import BUDGETS, FLOWS, MARGINALS, MIENF, ROTATIONS, TARGETS
from .flows import GlowFlow, PCAWhiten, VectorFlow, cca_rotate
from .targets import GaussianTarget, TridiagTarget

__all__ = ["BUDGETS", "FLOWS", "MARGINALS", "MIENF", "ROTATIONS", "TARGETS", "GaussianTarget", "GlowFlow",
           "PCAWhiten", "TridiagTarget", "VectorFlow", "cca_rotate"]
