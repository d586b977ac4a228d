"""The information-plane experiment (Butakov et al., "Information Bottleneck Analysis of Deep Neural
Networks via Lossy Compression", ICLR 2024), with any registered MI estimator.

A small classifier with Gaussian noise at every layer's input (kept on at evaluation, so I(X; L) is
finite) trains on digits (or any labelled arrays); before training and every ``eval_every`` epochs,
X and each layer L are compressed (PCA or an autoencoder, fit on the training rows) and I(X; L) and
I(L; Y) are estimated on the held-out rows. The same compression + estimator pipeline is first run on
images with known MI, and its measured error is each point's error bar (``validation``).

Public: ``run`` (returns an ``InfoplaneResult``), ``report_section``, the CLI pair
``add_arguments`` / ``main`` for ``mibench infoplane``, and ``EXPERIMENT``, the object registered
under the ``mibench.experiments`` entry point (options, main, preset table, report section).
"""

from .cli import add_arguments, main
from .entry import EXPERIMENT
from .experiment import COLUMNS, DEFAULTS, TABLE, VALIDATION_TABLE, InfoplaneResult, run, write_outputs
from .report import report_section

__all__ = ["COLUMNS", "DEFAULTS", "EXPERIMENT", "TABLE", "VALIDATION_TABLE", "InfoplaneResult", "add_arguments", "main",
           "report_section", "run", "write_outputs"]
