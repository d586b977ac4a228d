"""The CI accuracy gate: run a small fixed seeded grid and compare it with a baseline.

Per (task, estimator, n), with ``s`` the larger of the baseline and current standard deviations
across seeds (seed noise) and ``tol = abs + z * s / sqrt(seeds)``:

- the mean estimate must stay within ``tol`` of the baseline mean, in **either** direction (an
  estimator that got better also fails: the baseline is updated on purpose, with
  ``mibench check --update``, never silently);
- the MAE may not grow by more than ``tol`` (it may shrink);
- a failed seed, or an entry of the baseline missing from the run, fails.

Inputs (preset, baseline file, tolerance) are validated before the grid runs.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from mibench.analysis.metrics import summarize
from mibench.core.errors import MibenchError
from mibench.execution.presets import check_tolerance, load_preset, run_preset

BASELINE = Path("results") / "baseline.csv"
_BASE_COLS = ["task_id", "estimator", "n", "truth", "mean", "std", "mae", "seeds", "failures"]
_FAILING = ("drifted", "worse", "failed", "missing")


def current_summary(cfg: dict, store=None, workers=None, progress=None) -> pd.DataFrame:
    rows = run_preset(cfg, store=store, workers=workers, progress=progress)
    return summarize(rows)[_BASE_COLS]


def write_baseline(summary: pd.DataFrame, path: Path = BASELINE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    summary[_BASE_COLS].to_csv(path, index=False, float_format="%.10g")


def read_baseline(path: Path) -> pd.DataFrame:
    """The baseline CSV, checked: every column present, numbers where numbers belong."""
    if not path.is_file():
        raise MibenchError(f"no baseline at {str(path)!r}; create it with `mibench check --update`")
    try:
        base = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise MibenchError(f"baseline {str(path)!r} is not a readable CSV ({type(exc).__name__})") from None
    missing = [c for c in _BASE_COLS if c not in base.columns]
    if missing:
        raise MibenchError(f"baseline {str(path)!r} lacks column(s) {missing} (expected {', '.join(_BASE_COLS)})")
    for c in ("n", "truth", "mean", "std", "mae", "seeds", "failures"):
        values = pd.to_numeric(base[c], errors="coerce")
        bad = values.isna() & base[c].notna()
        if bad.any():
            raise MibenchError(f"baseline {str(path)!r}: column {c} has a non-numeric value "
                               f"{base[c][bad].iloc[0]!r} (line {int(bad.idxmax()) + 2})")
        base[c] = values
    return base


def compare(current: pd.DataFrame, baseline: pd.DataFrame, abs_tol: float, z: float) -> pd.DataFrame:
    """One line per baseline or current entry, verdict ``ok``/``drifted``/``worse``/``failed``/``missing``/``new``."""
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
            elif abs(r["mean_now"] - r["mean_base"]) > tol:
                verdict = "drifted"
        lines.append({
            "task": r["task_id"], "estimator": r["estimator"], "n": int(r["n"]),
            "baseline mean [nats]": r.get("mean_base"), "current mean [nats]": r.get("mean_now"),
            "baseline MAE [nats]": r.get("mae_base"), "current MAE [nats]": r.get("mae_now"),
            "tolerance [nats]": tol, "verdict": verdict,
        })
    return pd.DataFrame(lines)


def check(preset: str = "check", baseline: Path = BASELINE, update: bool = False, store=None,
          workers=None, progress=None) -> tuple[int, str]:
    """Run the gate; returns (exit code, printable report). ``update`` rewrites the baseline.

    With ``store=None`` the grid runs in a temporary store that is removed afterwards.
    """
    cfg = load_preset(preset)
    tol = check_tolerance(cfg.get("tolerance", {}), f"preset {preset!r}")
    baseline = Path(baseline)
    base = None if update else read_baseline(baseline)  # a bad baseline fails before anything runs
    if update and baseline.exists() and not baseline.is_file():
        raise MibenchError(f"baseline path {str(baseline)!r} is not a file")
    tmpdir = tempfile.mkdtemp(prefix="mibench-check-") if store is None else None
    try:
        summary = current_summary(cfg, store=store or Path(tmpdir) / "check.sqlite", workers=workers,
                                  progress=progress)
    finally:
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)
    if update:
        write_baseline(summary, baseline)
        return 0, f"baseline written to {baseline} ({len(summary)} entries)"
    table = compare(summary, base, tol["abs"], tol["z"])
    bad = table[table["verdict"].isin(_FAILING)]
    text = table.to_markdown(index=False, floatfmt=".4f")
    if len(bad):
        hint = ""
        if (bad["verdict"] == "drifted").any():
            hint = ("\nA drifted mean is a change in either direction; if it is an intended improvement, "
                    "review it and record it with `mibench check --update`.")
        return 1, f"{text}\n\nmibench check: FAILED, {len(bad)} of {len(table)} entries moved beyond tolerance{hint}"
    return 0, f"{text}\n\nmibench check: passed ({len(table)} entries within tolerance)"


def _nz(v) -> float:
    return 0.0 if v is None or pd.isna(v) else float(v)
