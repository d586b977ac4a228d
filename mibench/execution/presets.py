"""Presets: named run configurations stored as small TOML files (``mibench/presets/NAME.toml``).

A preset is one grid (keys ``suites``, ``tasks``, ``estimators``, ``n``, ``seeds``, ``timeout``) or
several ``[[grid]]`` tables sharing one store, each inheriting the top-level keys it does not set
(so cheap estimators can run on many tasks and sample sizes, expensive ones on a slice). A table
named after a registered experiment (e.g. ``[staircase]``) configures that experiment for
``mibench bench``; ``[tolerance]`` configures the CI gate. Every key and value is checked when the
preset is loaded, before anything runs.
"""

from __future__ import annotations

import numbers
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd

from mibench.core.errors import MibenchError
from mibench.core.registry import get_experiment, list_experiments

PRESET_DIR = Path(__file__).resolve().parent.parent / "presets"
_GRID_KEYS = {"suites", "tasks", "estimators", "n", "seeds", "timeout"}
#: a grid's league: the estimators ranked against each other on its cells (default: from the preset's name)
_LEAGUE_KEY = "league"
_KEYS = _GRID_KEYS | {"description", "tolerance", "grid", "name", _LEAGUE_KEY}


def list_presets() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml"))


def preset_path(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if not path.suffix:
        path = PRESET_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        raise MibenchError(f"unknown preset {name_or_path!r} (known: {', '.join(list_presets())})")
    return path


def load_preset(name_or_path: str) -> dict[str, Any]:
    """A preset by name, or any TOML file with the same keys; checked completely."""
    path = preset_path(name_or_path)
    where = f"preset {str(path)!r}"
    try:
        text = path.read_bytes().decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError:
        raise MibenchError(f"{where} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise MibenchError(f"{where}: {exc}") from None
    except OSError as exc:
        raise MibenchError(f"{where}: {exc.strerror}") from None
    experiments = set(list_experiments())
    unknown = set(data) - _KEYS - experiments
    if unknown:
        raise MibenchError(f"{where}: unknown key(s) {sorted(unknown)}")
    if "description" in data and not isinstance(data["description"], str):
        raise MibenchError(f"{where}: description must be a string")
    if "grid" in data and (not isinstance(data["grid"], list) or not all(isinstance(g, dict) for g in data["grid"])):
        raise MibenchError(f"{where}: grid must be a list of [[grid]] tables, got {data['grid']!r}")
    for key in ("name", _LEAGUE_KEY):
        if key in data and not (isinstance(data[key], str) and data[key]):
            raise MibenchError(f"{where}: {key} must be a non-empty string")
    data.setdefault("name", path.stem)
    for i, g in enumerate(data.get("grid", [])):
        extra = set(g) - _GRID_KEYS - {_LEAGUE_KEY}
        if extra:
            raise MibenchError(f"{where}: [[grid]] {i + 1}: unknown key(s) {sorted(extra)}")
    for i, g in enumerate(grids(data)):
        _check_grid(g, f"{where}" + (f", [[grid]] {i + 1}" if "grid" in data else ""))
        if not (isinstance(g[_LEAGUE_KEY], str) and g[_LEAGUE_KEY]):
            raise MibenchError(f"{where}: league must be a non-empty string")
    if "tolerance" in data:
        check_tolerance(data["tolerance"], where)
    for name in experiments & set(data):
        if not isinstance(data[name], dict):
            raise MibenchError(f"{where}: [{name}] must be a table")
        get_experiment(name).parse_preset(data[name], f"{where}, [{name}]")
    return data


def _check_grid(g: dict[str, Any], where: str) -> None:
    for key in ("suites", "tasks", "estimators"):
        v = g.get(key)
        if v is not None and (not isinstance(v, list) or not all(isinstance(s, str) and s for s in v)):
            raise MibenchError(f"{where}: {key} must be a list of strings, e.g. {key} = [\"a\", \"b\"], got {v!r}")
    if not g.get("estimators"):
        raise MibenchError(f"{where}: every grid needs a list of estimators")
    if not g.get("suites") and not g.get("tasks"):
        raise MibenchError(f"{where}: every grid needs suites or tasks")
    for key in ("n", "seeds"):
        v = g.get(key)
        if v is None:
            continue
        values = v if isinstance(v, list) else [v]
        if not values or not all(isinstance(x, int) and not isinstance(x, bool) for x in values):
            raise MibenchError(f"{where}: {key} must be an integer or a list of integers, got {v!r}")
    t = g.get("timeout")
    if t is not None and (isinstance(t, bool) or not isinstance(t, numbers.Real) or not t > 0):
        raise MibenchError(f"{where}: timeout must be a positive number of seconds, got {t!r}")


def check_tolerance(tol: Any, where: str) -> dict[str, float]:
    """The gate's ``[tolerance]`` table: ``abs`` (nats) and ``z`` (standard errors), non-negative numbers."""
    if not isinstance(tol, dict):
        raise MibenchError(f"{where}: [tolerance] must be a table with abs and z")
    extra = set(tol) - {"abs", "z"}
    if extra:
        raise MibenchError(f"{where}: [tolerance]: unknown key(s) {sorted(extra)}")
    out = {}
    for key, default in (("abs", 0.02), ("z", 3.0)):
        v = tol.get(key, default)
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not v >= 0:
            raise MibenchError(f"{where}: [tolerance] {key} must be a non-negative number, got {v!r}")
        out[key] = float(v)
    return out


def grids(preset: dict[str, Any]) -> list[dict[str, Any]]:
    """The preset's grids, each with the top-level defaults filled in and its league named: the
    grid's ``league``, else the preset's ``league`` or name (one grid) or "NAME: grid I"."""
    defaults = {k: v for k, v in preset.items() if k in _GRID_KEYS}
    name = preset.get(_LEAGUE_KEY) or preset.get("name") or "preset"
    tables = preset.get("grid", [])
    if not tables:
        return [{**defaults, _LEAGUE_KEY: name}]
    return [{**defaults, _LEAGUE_KEY: f"{name}: grid {i + 1}" if len(tables) > 1 else name, **g}
            for i, g in enumerate(tables)]


def experiment_sections(preset: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The preset's experiment tables by experiment name."""
    return {name: preset[name] for name in list_experiments() if name in preset}


def run_kwargs(grid: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``mibench.run`` that one grid sets."""
    return {
        "tasks": grid.get("tasks") or None,
        "suite": grid.get("suites") or None,
        "estimators": grid["estimators"],
        "n": grid.get("n", [1000]),
        "seeds": grid.get("seeds", 5),
        "timeout": grid.get("timeout"),
        "league": grid.get(_LEAGUE_KEY),
    }


def run_preset(preset: dict[str, Any] | str, overrides: dict[str, Any] | None = None, **kwargs) -> pd.DataFrame:
    """Run every grid of a preset (``overrides``: grid keys replacing each grid's, e.g. from the command
    line; ``kwargs``: store, workers, progress, executor, ...); returns the rows of all grids, with
    ``attrs["cells"]`` summed over them."""
    from mibench.execution.runner import run

    if isinstance(preset, str):
        preset = load_preset(preset)
    frames, counts = [], {}
    for g in grids(preset):
        args = {**run_kwargs(g), **{k: v for k, v in (overrides or {}).items() if v is not None}}
        frame = run(**args, **kwargs)
        frames.append(frame)
        for k, v in frame.attrs.get("cells", {}).items():
            counts[k] = counts.get(k, 0) + v
    rows = pd.concat(frames, ignore_index=True).drop_duplicates(["task_id", "estimator", "n", "seed"])
    rows = rows.reset_index(drop=True)
    rows.attrs["cells"] = counts
    return rows
