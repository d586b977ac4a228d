"""Neural variational MI estimators (torch): DV, MINE, NWJ, InfoNCE, SMILE and JS.

Submodules: ``bounds`` (pure functions of a critic score matrix), ``critics`` (networks),
``engine`` (training: split, Adam, early stopping, streaming), ``estimators`` (classes, protocols).
"""

from mibench import DivergedError

from .estimators import DV, JS, MINE, NWJ, PROTOCOLS, SMILE, InfoNCE, NeuralEstimator

__all__ = ["DV", "JS", "MINE", "NWJ", "PROTOCOLS", "SMILE", "DivergedError", "InfoNCE", "NeuralEstimator"]
