"""The one exception type for mistakes a user can fix (bad names, specs, parameters, paths).

The CLI prints these as a single line and exits 2; everything else is a bug and keeps its traceback.
"""


class MibenchError(ValueError):
    """A user error: unknown name, malformed spec, bad parameter, unusable path."""
