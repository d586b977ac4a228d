"""Declarative estimator parameters: one table per class, checked in one place.

An estimator class declares ``PARAMS = {"k": Int(5, min=1), "metric": Choice("euclidean", METRICS), ...}``;
``mibench.Estimator`` stores, validates (``set_params``) and reports (``get_params``) them, and derives
the constructor signature from the table, so the registry can reject an unknown parameter before
anything runs. Every check raises ``ValueError`` with one message shape: ``"<name> must be <what>,
got <value>"``. Values from spec strings arrive as int, float, bool or str (``mibench.core.spec``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

_MAX_SHOWN = 60  # a huge value is echoed shortened, not in full


def shown(value: Any) -> str:
    """``repr`` of a value, shortened to at most ~60 characters for error messages."""
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else f"{text[:_MAX_SHOWN - 15]}... ({len(text)} characters)"


class Param:
    """A parameter: its default, a description, and a check that returns the accepted value.

    ``optional=True`` also accepts ``None`` (e.g. "take the value from the protocol").
    """

    def __init__(self, default: Any, doc: str = "", *, optional: bool = False,
                 check: Callable[[str, Any], Any] | None = None) -> None:
        self.default, self.doc, self.optional, self._check = default, doc, optional, check

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.optional:
            return None
        return self.validate(name, value)

    def validate(self, name: str, value: Any) -> Any:
        return value if self._check is None else self._check(name, value)

    def describe(self) -> str:
        """What values are accepted, for ``mibench list estimators`` and docs."""
        return "any value"


class Int(Param):
    """An integer in [min, max] (booleans and floats such as 1e3 are refused: write 1000)."""

    def __init__(self, default, doc: str = "", *, min: int | None = None, max: int | None = None,
                 optional: bool = False) -> None:
        super().__init__(default, doc, optional=optional)
        self.min, self.max = min, max

    def validate(self, name, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            hint = " (an integer literal such as 1000, not 1e3 or 1000.0)" if isinstance(value, float) else ""
            raise ValueError(f"{name} must be {self.describe()}{hint}, got {shown(value)}")
        value = int(value)
        if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
            raise ValueError(f"{name} must be {self.describe()}, got {shown(value)}")
        return value

    def describe(self) -> str:
        kind = {0: "a non-negative integer", 1: "a positive integer"}.get(self.min) if self.min is not None else None
        if self.max is not None:
            upper = "2**63" if self.max == 2**63 - 1 else str(self.max + 1)
            return f"{kind} below {upper}" if kind else f"an integer in [{self.min}, {self.max}]"
        if kind:
            return kind
        if self.min is not None:
            return f"an integer >= {self.min}"
        if self.max is not None:
            return f"an integer <= {self.max}"
        return "an integer"


class Float(Param):
    """A finite real number in an interval; ``min_open``/``max_open`` exclude the ends."""

    def __init__(self, default, doc: str = "", *, min: float | None = None, max: float | None = None,
                 min_open: bool = False, max_open: bool = False, optional: bool = False) -> None:
        super().__init__(default, doc, optional=optional)
        self.min, self.max, self.min_open, self.max_open = min, max, min_open, max_open

    def validate(self, name, value):
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))
        if ok:
            v = float(value)
            if self.min is not None:
                ok = v > self.min if self.min_open else v >= self.min
            if ok and self.max is not None:
                ok = v < self.max if self.max_open else v <= self.max
        if not ok:
            raise ValueError(f"{name} must be {self.describe()}, got {shown(value)}")
        return float(value)

    def describe(self) -> str:
        if self.min is None and self.max is None:
            return "a finite number"
        lo = "-inf" if self.min is None else f"{self.min:g}"
        hi = "inf" if self.max is None else f"{self.max:g}"
        left = "(" if self.min_open or self.min is None else "["
        right = ")" if self.max_open or self.max is None else "]"
        return f"a number in {left}{lo}, {hi}{right}"


class Bool(Param):
    def validate(self, name, value):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false, got {shown(value)}")
        return value

    def describe(self) -> str:
        return "true or false"


class Choice(Param):
    """One of a fixed set of values (strings or numbers)."""

    def __init__(self, default, choices: Sequence[Any], doc: str = "", *, optional: bool = False) -> None:
        super().__init__(default, doc, optional=optional)
        self.choices = tuple(choices)

    def validate(self, name, value):
        # 1 == True in Python: a boolean is never a numeric choice
        bool_mismatch = isinstance(value, bool) and not any(isinstance(c, bool) for c in self.choices)
        if bool_mismatch or value not in self.choices:
            raise ValueError(f"{name} must be {self.describe()}, got {shown(value)}")
        return value

    def describe(self) -> str:
        return "one of " + ", ".join(map(str, self.choices))


class Str(Param):
    """A non-empty string, optionally checked further by ``check(name, value) -> value``."""

    def validate(self, name, value):
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name} must be a non-empty string, got {shown(value)}")
        return super().validate(name, value)

    def describe(self) -> str:
        return "a string"


SEED = Int(0, "seed of this estimator's own randomness (splits, initial weights, jitter)", min=0, max=2**63 - 1)
DEVICE = Choice("auto", ("auto", "cpu", "cuda"), "auto: CUDA when torch sees a GPU, else CPU")


def check_params(table: dict[str, Param], values: dict[str, Any]) -> dict[str, Any]:
    """Every value of ``values`` checked against ``table`` (unknown names are an error)."""
    unknown = [k for k in values if k not in table]
    if unknown:
        raise ValueError(f"unknown parameter {unknown[0]!r} (accepted: {', '.join(table) or 'none'})")
    return {name: table[name].check(name, v) for name, v in values.items()}
