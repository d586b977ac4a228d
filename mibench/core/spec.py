"""Estimator spec strings: ``name`` or ``name:key=value,key=value``.

Values are parsed as int, float, bool (``true``/``false``) or, failing those, kept as strings.
The canonical form (keys sorted) is what stores and leaderboards use as the estimator's label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mibench.core.errors import MibenchError
from mibench.core.params import shown

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Spec:
    name: str
    params: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        """Canonical spec string: name, then parameters sorted by key."""
        if not self.params:
            return self.name
        return self.name + ":" + ",".join(f"{k}={_fmt(v)}" for k, v in sorted(self.params.items()))

    def __str__(self) -> str:
        return self.text


def parse_value(raw: str):
    low = raw.lower()
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            pass
    return raw


def parse_spec(text: str) -> Spec:
    """Parse ``name:key=value,...``; raises MibenchError naming what is malformed."""
    if not isinstance(text, str) or not text.strip():
        raise MibenchError(f"malformed estimator spec {shown(text)}: empty")
    text = text.strip()
    where = shown(text)  # a 100 kB spec is not echoed in full
    name, sep, rest = text.partition(":")
    if not _NAME.match(name):
        raise MibenchError(f"malformed estimator spec {where}: bad estimator name {shown(name)}")
    params: dict = {}
    if sep:
        if not rest:
            raise MibenchError(f"malformed estimator spec {where}: nothing after ':'")
        for item in rest.split(","):
            key, eq, raw = item.partition("=")
            key = key.strip()
            if not eq or not _KEY.match(key) or raw.strip() == "":
                raise MibenchError(f"malformed estimator spec {where}: expected key=value, got {shown(item)}")
            if key in params:
                raise MibenchError(f"malformed estimator spec {where}: parameter {shown(key)} given twice")
            params[key] = parse_value(raw.strip())
    return Spec(name, params)


def _fmt(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)
