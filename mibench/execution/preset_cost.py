"""A preset's size and expected cost, for ``mibench list presets``: how many cells, and roughly how many
CPU hours, before anyone starts it.

The cost of a cell is read off measured cells: ``mibench/presets/cell_costs.csv`` holds the median
seconds per cell of each estimator (by name) on vector and on image tasks (MIENF's image flows cost
several times its vector flow) at each sample size in the committed results
(``tools/measure_cell_costs.py`` rebuilds it from ``results/**/rows.csv``). A cell at a size that was
not measured is scaled from the nearest measured sizes along the log-log slope between them
(slope clipped to [0, 2]: neural training costs per step, not per sample; nothing here is worse than
quadratic),
or linearly from a single size; a kind (vectors / images) never measured for an estimator takes the
other kind's costs. An estimator never measured is counted as unknown, not as free.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mibench.core.registry import canonical_spec
from mibench.execution.grid import resolve_tasks, sizes_and_seeds
from mibench.execution.presets import PRESET_DIR, grids, list_presets, load_preset, run_kwargs

COSTS_CSV = PRESET_DIR / "cell_costs.csv"
COST_COLUMNS = ["estimator_name", "images", "n", "seconds", "cells"]
Costs = dict[tuple[str, bool], list[tuple[int, float]]]  #: (estimator name, image tasks) -> [(n, seconds)]


@dataclass(frozen=True)
class PresetSize:
    name: str
    cells: int
    cpu_hours: float  #: expected CPU time of the measured estimators' cells
    unknown: tuple[str, ...]  #: estimators without measurements (their cells are not in cpu_hours)
    description: str


def load_costs(path: str | Path = COSTS_CSV) -> Costs:
    """Measured (n, median seconds) per estimator name and kind of task, sorted by n."""
    if not Path(path).is_file():
        return {}
    table = pd.read_csv(path)
    out: Costs = {}
    for (name, images), g in table.groupby(["estimator_name", "images"]):
        out[(str(name), bool(images))] = sorted((int(n), float(s)) for n, s in zip(g.n, g.seconds))
    return out


def cell_seconds(costs: Costs, estimator_name: str, n: int, images: bool = False) -> float | None:
    points = costs.get((estimator_name, images)) or costs.get((estimator_name, not images))
    if not points:
        return None
    sizes = [p[0] for p in points]
    i = bisect.bisect_left(sizes, n)
    if i < len(sizes) and sizes[i] == n:
        return points[i][1]
    if len(points) == 1:
        (n0, s0), = points
        return s0 * n / n0
    lo, hi = (points[0], points[1]) if i == 0 else (points[-2], points[-1]) if i == len(points) else \
        (points[i - 1], points[i])
    slope = math.log(max(hi[1], 1e-9) / max(lo[1], 1e-9)) / math.log(hi[0] / lo[0])
    slope = min(max(slope, 0.0), 2.0)
    base = lo if n < lo[0] or abs(math.log(n / lo[0])) <= abs(math.log(n / hi[0])) else hi
    return base[1] * (n / base[0]) ** slope


def preset_size(name: str, costs: Costs | None = None) -> PresetSize:
    """Cells and expected CPU hours of a preset's grids (a cell listed by two grids counts once)."""
    costs = load_costs() if costs is None else costs
    preset = load_preset(name)
    cells: set[tuple[str, bool, str, str, int, int]] = set()  # (task, images, spec, estimator name, n, seed)
    for g in grids(preset):
        args = run_kwargs(g)  # the same defaults as a run
        tasks = [(t.id, bool(t.is_image)) for t in resolve_tasks(args["tasks"], args["suite"])]
        sizes, seeds = sizes_and_seeds(args["n"], args["seeds"])
        specs = [(str(spec), spec.name) for spec in map(canonical_spec, args["estimators"])]
        cells |= {(t, im, s, name, n, seed) for t, im in tasks for s, name in specs for n in sizes for seed in seeds}
    seconds, unknown = 0.0, Counter()
    for _, images, _, est_name, n, _ in cells:
        s = cell_seconds(costs, est_name, n, images)
        if s is None:
            unknown[est_name] += 1
        else:
            seconds += s
    return PresetSize(name, len(cells), seconds / 3600, tuple(sorted(unknown)), preset.get("description", ""))


def describe_presets(costs: Costs | None = None) -> list[PresetSize]:
    costs = load_costs() if costs is None else costs
    return [preset_size(name, costs) for name in list_presets()]


def measure_costs(rows: pd.DataFrame) -> pd.DataFrame:
    """The cost table from result rows (``status == ok``; columns estimator_name, estimator, n,
    seconds, is_image (absent: vectors)): median seconds per estimator name, kind of task and n, over
    the rows of its default configuration (spec = name) where there are any, else over all of its
    specs (e.g. reduced budgets)."""
    ok = rows[rows.status == "ok"]
    images = ok["is_image"].fillna(False).astype(bool) if "is_image" in ok else pd.Series(False, index=ok.index)
    ok = ok.assign(images=images.astype(int))
    if "estimator" in ok:
        default = ok.estimator == ok.estimator_name
        has_default = default.groupby([ok.estimator_name, ok.images]).transform("any")  # per kind of task
        ok = ok[default | ~has_default]
    table = ok.groupby(["estimator_name", "images", "n"]).seconds.agg(["median", "size"]).reset_index()
    table.columns = COST_COLUMNS
    return table.sort_values(["estimator_name", "images", "n"]).reset_index(drop=True)


def as_text(sizes: list[PresetSize], cores: int | None = None) -> list[str]:
    """One line per preset: name, cells, CPU hours (and wall hours on ``cores`` cores), description."""
    lines = []
    for p in sizes:
        cost = f"~{p.cpu_hours:.1f} CPU h" if p.cpu_hours >= 0.05 else f"~{p.cpu_hours * 60:.0f} CPU min"
        if cores:
            cost += f" (~{p.cpu_hours / cores * 60:.0f} min on {cores} cores)"
        if p.unknown:
            cost += f" + unmeasured: {', '.join(p.unknown)}"
        lines.append(f"{p.name:<13} {p.cells:>6} cells  {cost}  {p.description}")
    return lines
