"""Neural variational MI estimators (torch): DV, MINE, NWJ, InfoNCE, SMILE and JS.

Submodules: ``bounds`` (pure functions of a critic score matrix), ``critics`` (networks),
``fused`` (fused CPU kernels of the concat critic), ``engine`` (training: split, Adam, early
stopping, streaming, step cost), ``batched`` (several seeds as one batched model, for GPUs),
``estimators`` (classes, protocols).
"""

from mibench import DivergedError

from .estimators import DV, JS, MINE, NWJ, PROTOCOLS, SMILE, InfoNCE, NeuralEstimator

__all__ = ["DV", "JS", "MINE", "NWJ", "PROTOCOLS", "SMILE", "DivergedError", "InfoNCE", "NeuralEstimator"]
