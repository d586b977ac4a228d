"""The CI accuracy gate: run a small fixed seeded grid and compare its errors with a baseline.

An estimator fails on a (task, n) when its MAE over seeds exceeds the baseline MAE by more than
``abs + z * s / sqrt(seeds)``, with ``s`` the larger of the baseline and current standard
deviations across seeds (seed noise), or when it has failed seeds or is missing.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from mibench.errors import MibenchError
from mibench.metrics import summarize
from mibench.presets import load_preset, run_preset

BASELINE = Path("results") / "baseline.csv"
_BASE_COLS = ["task_id", "estimator", "n", "truth", "mean", "std", "mae", "seeds", "failures"]


def current_summary(preset: str = "check", store=None, workers=None, progress=None) -> tuple[pd.DataFrame, dict]:
    cfg = load_preset(preset)
    rows = run_preset(cfg, store=store, workers=workers, progress=progress)
    return summarize(rows)[_BASE_COLS], cfg


def write_baseline(summary: pd.DataFrame, path: Path = BASELINE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    summary[_BASE_COLS].to_csv(path, index=False, float_format="%.10g")


def compare(current: pd.DataFrame, baseline: pd.DataFrame, abs_tol: float, z: float) -> pd.DataFrame:
    """One line per baseline or current entry, verdict ``ok``/``worse``/``failed``/``missing``/``new``."""
    merged = baseline.merge(current, on=["task_id", "estimator", "n"], how="outer",
                            suffixes=("_base", "_now"), indicator=True)
    lines = []
    for _, r in merged.iterrows():
        verdict, tol = "ok", math.nan
        if r["_merge"] == "left_only":
            verdict = "missing"
        elif r["_merge"] == "right_only":
            verdict = "new"
        elif r["failures_now"] > 0 or pd.isna(r["mae_now"]):
            verdict = "failed"
        else:
            s = max(_nz(r["std_base"]), _nz(r["std_now"]))
            tol = abs_tol + z * s / math.sqrt(max(int(r["seeds_now"]), 1))
            if r["mae_now"] - r["mae_base"] > tol:
                verdict = "worse"
        lines.append({
            "task": r["task_id"], "estimator": r["estimator"], "n": int(r["n"]),
            "baseline MAE": r.get("mae_base"), "current MAE": r.get("mae_now"),
            "change": r.get("mae_now") - r.get("mae_base"), "tolerance": tol, "verdict": verdict,
        })
    return pd.DataFrame(lines)


def check(preset: str = "check", baseline: Path = BASELINE, update: bool = False, store=None,
          workers=None, progress=None) -> tuple[int, str]:
    """Run the gate; returns (exit code, printable report). ``update`` rewrites the baseline."""
    summary, cfg = current_summary(preset, store=store, workers=workers, progress=progress)
    baseline = Path(baseline)
    if update:
        write_baseline(summary, baseline)
        return 0, f"baseline written to {baseline} ({len(summary)} entries)"
    if not baseline.is_file():
        raise MibenchError(f"no baseline at {str(baseline)!r}; create it with `mibench check --update`")
    base = pd.read_csv(baseline)
    tol = cfg.get("tolerance", {})
    table = compare(summary, base, float(tol.get("abs", 0.02)), float(tol.get("z", 3.0)))
    bad = table[table["verdict"].isin(["worse", "failed", "missing"])]
    text = table.to_markdown(index=False, floatfmt=".4f")
    if len(bad):
        return 1, f"{text}\n\nmibench check: FAILED, {len(bad)} of {len(table)} entries moved beyond tolerance"
    return 0, f"{text}\n\nmibench check: passed ({len(table)} entries within tolerance)"


def _nz(v) -> float:
    return 0.0 if v is None or pd.isna(v) else float(v)
