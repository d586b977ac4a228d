"""The one exception hierarchy of mibench.

- ``MibenchError``: a mistake the user can fix (unknown name, malformed spec, bad parameter,
  unusable path). The CLI prints it as one line and exits 2. It is a ``ValueError`` so that code
  that validates inputs the usual Python way catches it too.
- ``EstimatorFailure``: an estimator ran and failed on its data (e.g. ``DivergedError``, training
  went non-finite). The harness stores it as a ``failed`` row; it never stops a run.
- ``InfrastructureError``: the harness itself could not run a cell (the worker pool broke, a
  worker could not start, the store could not be written). It is never stored as an
  estimator's result: the run stops with the message and finished cells stay in the store.

Everything else is a bug and keeps its traceback.
"""


class MibenchError(ValueError):
    """A user error: unknown name, malformed spec, bad parameter, unusable path."""


class EstimatorFailure(RuntimeError):
    """An estimator failed on its data (stored as a failed row with this message)."""


class DivergedError(EstimatorFailure):
    """Training produced a NaN or infinite objective."""


class InfrastructureError(RuntimeError):
    """The harness could not run cells (worker pool broken, worker failed to start, store unwritable)."""
