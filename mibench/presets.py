"""Named run configurations stored as small TOML files (``mibench/presets/NAME.toml``).

A preset is one grid (keys ``suites``, ``tasks``, ``estimators``, ``n``, ``seeds``, ``timeout``) or
several ``[[grid]]`` tables sharing one store, each inheriting the top-level keys it does not set
(so cheap estimators can run on many tasks and sample sizes, expensive ones on a slice).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pandas as pd

from mibench.errors import MibenchError

PRESET_DIR = Path(__file__).parent / "presets"
_GRID_KEYS = {"suites", "tasks", "estimators", "n", "seeds", "timeout"}
_KEYS = _GRID_KEYS | {"description", "tolerance", "staircase", "grid"}


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
    for grid in data.get("grid", []):
        unknown |= set(grid) - _GRID_KEYS
    if unknown:
        raise MibenchError(f"preset {str(path)!r}: unknown key(s) {sorted(unknown)}")
    if not all(g.get("estimators") for g in grids(data)):
        raise MibenchError(f"preset {str(path)!r}: every grid needs a list of estimators")
    return data


def grids(preset: dict[str, Any]) -> list[dict[str, Any]]:
    """The preset's grids, each with the top-level defaults filled in."""
    defaults = {k: v for k, v in preset.items() if k in _GRID_KEYS}
    return [{**defaults, **g} for g in preset.get("grid", [])] or [defaults]


def run_kwargs(grid: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``mibench.run`` that one grid sets."""
    return {
        "tasks": grid.get("tasks") or None,
        "suite": grid.get("suites") or None,
        "estimators": grid["estimators"],
        "n": grid.get("n", [1000]),
        "seeds": grid.get("seeds", 5),
        "timeout": grid.get("timeout"),
    }


def run_preset(preset: dict[str, Any], **kwargs) -> pd.DataFrame:
    """Run every grid of a preset (``kwargs``: store, workers, progress, ...); returns all their rows."""
    from mibench.runner import run

    frames = [run(**run_kwargs(g), **kwargs) for g in grids(preset)]
    return pd.concat(frames, ignore_index=True).drop_duplicates(["task_id", "estimator", "n", "seed"])
