"""Named run configurations stored as small TOML files (``mibench/presets/NAME.toml``)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from mibench.errors import MibenchError

PRESET_DIR = Path(__file__).parent / "presets"
_KEYS = {"description", "suites", "tasks", "estimators", "n", "seeds", "timeout", "tolerance"}


def list_presets() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml"))


def load_preset(name_or_path: str) -> dict[str, Any]:
    """A preset by name, or any TOML file with the same keys."""
    path = Path(name_or_path)
    if not path.suffix:
        path = PRESET_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        raise MibenchError(f"unknown preset {name_or_path!r} (known: {', '.join(list_presets())})")
    with open(path, "rb") as fh:
        try:
            data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise MibenchError(f"preset {str(path)!r}: {exc}") from None
    unknown = set(data) - _KEYS
    if unknown:
        raise MibenchError(f"preset {str(path)!r}: unknown key(s) {sorted(unknown)}")
    if not data.get("estimators"):
        raise MibenchError(f"preset {str(path)!r}: needs a list of estimators")
    return data


def run_kwargs(preset: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``mibench.run`` that a preset sets."""
    return {
        "tasks": preset.get("tasks") or None,
        "suite": preset.get("suites") or None,
        "estimators": preset["estimators"],
        "n": preset.get("n", [1000]),
        "seeds": preset.get("seeds", 5),
        "timeout": preset.get("timeout"),
    }
