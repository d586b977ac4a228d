"""The streaming staircase experiment (Poole et al. 2019; Song & Ermon 2020).

An estimator is trained on a stream of fresh batches whose true MI steps through ``levels``
(``steps_per_level`` steps each; d = 20 Gaussian pairs by default, optionally y -> y^3), and its
per-step estimate is recorded next to the truth. Any estimator with a streaming hook
``stream_estimates(draw, steps) -> (per_step_estimates, info)`` takes part, where
``draw(step, batch_size) -> (x, y)`` hands out the batch of a step (the neural estimators have it).

Rows go to the store's ``staircase`` table (one row per step); ``mibench staircase`` runs it,
a preset's ``[staircase]`` table runs it in ``mibench bench``, and the report draws its figure.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mibench.core.errors import MibenchError
from mibench.core.registry import build_estimator, resolve_estimator
from mibench.core.spec import Spec
from mibench.execution.store import Store
from mibench.reporting import html
from mibench.reporting.figures import plt, save
from mibench.samplers import STAIRCASE_DIM as DIM
from mibench.samplers import STAIRCASE_LEVELS as LEVELS
from mibench.samplers import CorrelatedPairsSampler, rho_for_mi

COLUMNS = ["estimator", "seed", "dim", "cubic", "steps_per_level", "step", "true_mi", "estimate"]
#: one run = one (estimator, seed, dim, cubic, steps_per_level); a re-run replaces its rows
RUN_KEY = ["estimator", "seed", "dim", "cubic", "steps_per_level"]
TABLE = "staircase"


def schedule(levels=LEVELS, steps_per_level: int = 4000) -> np.ndarray:
    """True MI (nats) at each training step: each level held for ``steps_per_level`` steps."""
    if isinstance(steps_per_level, bool) or not isinstance(steps_per_level, int) or steps_per_level < 1:
        raise MibenchError(f"steps_per_level must be an integer >= 1, got {steps_per_level!r}")
    return np.repeat(np.asarray(levels, dtype=float), steps_per_level)


def run_staircase(spec: str | Spec, *, levels=None, steps_per_level: int = 4000, seed: int = 0, dim: int | None = None,
                  cubic: bool = False) -> tuple[pd.DataFrame, dict]:
    """Run one estimator through the staircase; returns (per-step rows, the estimator's info).

    A spec without ``protocol`` gets ``protocol=staircase`` when the estimator takes that parameter
    (the protocol of the literature: separable critic, batch 64, Adam 5e-4). ``seed`` seeds the
    data stream (NumPy ``default_rng``); the estimator's own seed is its spec's ``seed``.
    """
    spec = staircase_spec(spec)
    spec, factory, _ = resolve_estimator(spec)
    est = build_estimator(spec, factory)
    if not hasattr(est, "stream_estimates"):
        raise MibenchError(f"estimator {spec.text!r} cannot train on a stream (it has no stream_estimates method)")
    levels = tuple(float(v) for v in (LEVELS if levels is None else levels))
    dim = DIM if dim is None else int(dim)
    if not levels:
        raise MibenchError("the staircase needs at least one MI level")
    if any(not v >= 0 for v in levels):
        raise MibenchError("staircase levels must be non-negative MI values in nats")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise MibenchError(f"the staircase seed must be an integer >= 0, got {seed!r}")
    steps = schedule(levels, steps_per_level)
    samplers = {mi: CorrelatedPairsSampler(rho_for_mi(mi, dim), dim, cubic) for mi in set(levels)}
    rng = np.random.default_rng(seed)

    def draw(step: int, batch_size: int):
        return samplers[float(steps[step])](batch_size, rng)

    try:
        values, info = est.stream_estimates(draw, len(steps))
    except ValueError as exc:
        raise MibenchError(f"estimator {spec.text!r}: {exc}") from None
    values = np.asarray(values, dtype=float)
    if values.shape != steps.shape:
        raise MibenchError(f"estimator {spec.text!r} returned {values.shape} estimates for {len(steps)} steps")
    rows = pd.DataFrame({
        "estimator": spec.text, "seed": seed, "dim": dim, "cubic": bool(cubic), "steps_per_level": steps_per_level,
        "step": np.arange(1, len(steps) + 1), "true_mi": steps, "estimate": values,
    })
    return rows[COLUMNS], info


def staircase_spec(spec: str | Spec) -> Spec:
    """The spec as the staircase runs it: ``protocol=staircase`` added when the estimator takes a protocol."""
    spec, _, _ = resolve_estimator(spec)
    if "protocol" not in spec.params:
        with_protocol = Spec(spec.name, {**spec.params, "protocol": "staircase"})
        try:
            resolve_estimator(with_protocol)
            return with_protocol
        except MibenchError:
            pass
    return spec


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean estimate per (estimator, true MI level): one column per estimator, one row per level."""
    table = rows.groupby(["true_mi", "estimator"], sort=True)["estimate"].mean().unstack("estimator")
    table.index.name = "true MI [nats]"
    return table


def write_rows(path, rows: pd.DataFrame) -> None:
    """Add the rows to the store's staircase table, replacing an earlier run with the same key."""
    with Store(path) as db:
        db.write_table(TABLE, rows, RUN_KEY)


def read_rows(db: Store) -> pd.DataFrame:
    rows = db.read_table(TABLE)
    if rows.empty:
        return pd.DataFrame(columns=COLUMNS)
    rows = rows[COLUMNS].sort_values(["estimator", "seed", "step"], kind="stable").reset_index(drop=True)
    rows["cubic"] = rows["cubic"].astype(bool)
    return rows


def figure(steps: pd.DataFrame) -> plt.Figure:
    """Per-step estimates of streaming runs over the true MI schedule (columns of ``COLUMNS``)."""
    fig, ax = plt.subplots(figsize=(8.5, 5))
    for est, g in steps.groupby("estimator"):
        g = g.sort_values("step")
        # rolling median: NWJ/JS read-outs have rare excursions of -10^3 nats that a mean would follow
        smooth = g["estimate"].rolling(max(5, len(g) // 100), min_periods=1).median()
        ax.plot(g["step"], g["estimate"], alpha=0.2, lw=0.6)
        ax.plot(g["step"], smooth, lw=1.6, label=est, color=ax.lines[-1].get_color())
    first = steps[steps["estimator"] == steps["estimator"].iloc[0]].sort_values("step")
    ax.plot(first["step"], first["true_mi"], color="black", lw=2, ls="--", label="true MI")
    top = float(steps["true_mi"].max())
    ax.set(xlabel="training step", ylabel="MI [nats]", ylim=(-1, 1.4 * top + 0.5),
           title="Staircase: estimates (rolling median) while the true MI steps up")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


class Staircase:
    """The experiment object registered under ``mibench.experiments`` as ``staircase``."""

    name = "staircase"
    table = TABLE
    description = "streaming staircase: per-step estimates while the true MI steps up"

    def add_arguments(self, s: argparse.ArgumentParser) -> None:
        s.add_argument("--estimator", action="append", required=True, metavar="SPEC",
                       help="estimator spec with a streaming hook, e.g. infonce (repeatable; protocol=staircase "
                            "unless the spec names a protocol)")
        s.add_argument("--steps-per-level", type=int, default=4000, metavar="K")
        s.add_argument("--levels", type=float, nargs="+", metavar="MI", help="MI levels in nats (default 2 4 6 8 10)")
        s.add_argument("--dim", type=int, help="number of Gaussian pairs (default 20)")
        s.add_argument("--cubic", action="store_true", help="apply y -> y^3 (same MI)")
        s.add_argument("--seed", type=int, default=0, help="seed of the data stream (default 0)")
        s.add_argument("--out", help="CSV file for the per-step rows")
        s.add_argument("--store", help="SQLite store: rows go to its staircase table")

    def main(self, args: argparse.Namespace) -> int:
        if args.steps_per_level < 1:
            raise MibenchError(f"--steps-per-level must be >= 1, got {args.steps_per_level}")
        if args.seed < 0:
            raise MibenchError(f"--seed must be >= 0, got {args.seed}")
        if args.dim is not None and args.dim < 1:
            raise MibenchError(f"--dim must be >= 1, got {args.dim}")
        if args.levels is not None and any(not v >= 0 for v in args.levels):
            raise MibenchError("--levels must be non-negative MI values in nats")
        specs = [staircase_spec(s) for s in args.estimator]  # every spec checked before anything runs
        if args.store:
            Store(args.store).close()  # an unusable store path fails now, not after the training
        frames = []
        for spec in specs:
            rows, info = run_staircase(spec, levels=args.levels, steps_per_level=args.steps_per_level,
                                       seed=args.seed, dim=args.dim, cubic=args.cubic)
            secs = info.get("train_seconds")
            print(f"{rows['estimator'].iloc[0]}: {len(rows)} steps on {info.get('device', '?')}"
                  + (f" in {secs:.1f} s" if secs is not None else ""), file=sys.stderr)
            frames.append(rows)
            # written after every estimator, so a long multi-estimator run keeps what has finished
            if args.out:
                _write_csv(Path(args.out), pd.concat(frames, ignore_index=True))
            if args.store:
                write_rows(args.store, rows)
        print(summary(pd.concat(frames, ignore_index=True)).to_markdown(floatfmt=".3f"))
        return 0

    def parse_preset(self, config: dict[str, Any], where: str) -> dict[str, Any]:
        """A preset's ``[staircase]`` table: ``estimators`` (list of specs), ``steps_per_level``,
        ``levels``, ``seed``; checked before any cell of the preset runs."""
        extra = set(config) - {"estimators", "steps_per_level", "levels", "seed"}
        if extra:
            raise MibenchError(f"{where}: unknown key(s) {sorted(extra)}")
        est = config.get("estimators")
        if not isinstance(est, list) or not est or not all(isinstance(s, str) for s in est):
            raise MibenchError(f"{where}: estimators must be a list of estimator specs, got {est!r}")
        for s in est:
            staircase_spec(s)
        steps = config.get("steps_per_level", 4000)
        schedule((1.0,), steps)
        levels = config.get("levels", list(LEVELS))
        if not isinstance(levels, list) or not levels or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in levels):
            raise MibenchError(f"{where}: levels must be a list of non-negative numbers (nats), got {levels!r}")
        seed = config.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise MibenchError(f"{where}: seed must be an integer >= 0, got {seed!r}")
        return {"estimators": est, "steps_per_level": steps, "levels": [float(v) for v in levels], "seed": seed}

    def run_preset(self, config: dict[str, Any], store: str) -> None:
        """The preset's staircase into the store; an estimator already there for these settings is skipped."""
        opts = self.parse_preset(config, "[staircase]")
        with Store(store) as db:
            done = read_rows(db)
        for spec in opts["estimators"]:
            text = staircase_spec(spec).text
            if ((done.estimator == text) & (done.steps_per_level == opts["steps_per_level"])
                    & (done.seed == opts["seed"])).any():
                continue
            rows, _ = run_staircase(spec, levels=opts["levels"], steps_per_level=opts["steps_per_level"],
                                    seed=opts["seed"])
            write_rows(store, rows)

    def report_section(self, db: Store, figdir: Path, rows: pd.DataFrame | None = None) -> str | None:
        steps = read_rows(db) if rows is None else rows
        if steps.empty:
            return None
        png = save(figure(steps), Path(figdir) / "staircase")[0]
        return "\n".join([
            "<h2>Streaming staircase</h2>",
            html.figure(png, "Streaming staircase: per-step estimates (smoothed) over the true MI schedule (nats)."),
            html.table(summary(steps).reset_index()),
        ])


def _write_csv(path: Path, rows: pd.DataFrame) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        rows.to_csv(path, index=False)
    except OSError as exc:
        raise MibenchError(f"cannot write {str(path)!r} ({exc.strerror})") from None


EXPERIMENT = Staircase()
