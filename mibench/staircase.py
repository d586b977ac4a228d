"""The streaming staircase experiment (Poole et al. 2019; Song & Ermon 2020).

An estimator is trained on a stream of fresh batches whose true MI steps through ``levels``
(``steps_per_level`` steps each; d = 20 Gaussian pairs by default, optionally y -> y^3), and its
per-step estimate is recorded next to the truth. Any estimator with a streaming hook
``stream_estimates(draw, steps) -> (per_step_estimates, info)`` takes part, where
``draw(step, batch_size) -> (x, y)`` hands out the batch of a step (the neural estimators have it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mibench.errors import MibenchError
from mibench.registry import build_estimator, resolve_estimator
from mibench.spec import Spec

COLUMNS = ["estimator", "seed", "dim", "cubic", "steps_per_level", "step", "true_mi", "estimate"]


def run_staircase(spec: str | Spec, *, levels=None, steps_per_level: int = 4000, seed: int = 0, dim: int | None = None,
                  cubic: bool = False) -> tuple[pd.DataFrame, dict]:
    """Run one estimator through the staircase; returns (per-step rows, the estimator's info).

    A spec without ``preset`` gets ``preset=staircase`` when the estimator takes that parameter
    (the protocol of the literature: separable critic, batch 64, Adam 5e-4). ``seed`` seeds the
    data stream (NumPy ``default_rng``); the estimator's own seed is its spec's ``seed``.
    """
    from mibench.tasks.staircase import DIM, LEVELS, CorrelatedPairsSampler, rho_for_mi, staircase_schedule

    spec = staircase_spec(spec)
    spec, factory, _ = resolve_estimator(spec)
    est = build_estimator(spec, factory)
    if not hasattr(est, "stream_estimates"):
        raise MibenchError(f"estimator {spec.text!r} cannot train on a stream (it has no stream_estimates method)")
    levels = tuple(float(v) for v in (LEVELS if levels is None else levels))
    dim = DIM if dim is None else int(dim)
    if not levels:
        raise MibenchError("the staircase needs at least one MI level")
    schedule = staircase_schedule(levels, steps_per_level)
    samplers = {mi: CorrelatedPairsSampler(rho_for_mi(mi, dim), dim, cubic) for mi in set(levels)}
    rng = np.random.default_rng(seed)

    def draw(step: int, batch_size: int):
        return samplers[float(schedule[step])](batch_size, rng)

    try:
        values, info = est.stream_estimates(draw, len(schedule))
    except ValueError as exc:
        raise MibenchError(f"estimator {spec.text!r}: {exc}") from None
    values = np.asarray(values, dtype=float)
    if values.shape != schedule.shape:
        raise MibenchError(f"estimator {spec.text!r} returned {values.shape} estimates for {len(schedule)} steps")
    rows = pd.DataFrame({
        "estimator": spec.text, "seed": seed, "dim": dim, "cubic": bool(cubic), "steps_per_level": steps_per_level,
        "step": np.arange(1, len(schedule) + 1), "true_mi": schedule, "estimate": values,
    })
    return rows[COLUMNS], info


def staircase_spec(spec: str | Spec) -> Spec:
    """The spec as the staircase runs it: ``preset=staircase`` added when the estimator takes a preset."""
    spec, _, _ = resolve_estimator(spec)
    if "preset" not in spec.params:
        with_preset = Spec(spec.name, {**spec.params, "preset": "staircase"})
        try:
            resolve_estimator(with_preset)
            return with_preset
        except MibenchError:
            pass
    return spec


def staircase_summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean estimate per (estimator, true MI level): one column per estimator, one row per level."""
    table = rows.groupby(["true_mi", "estimator"], sort=True)["estimate"].mean().unstack("estimator")
    table.index.name = "true MI [nats]"
    return table


def write_staircase_store(path, rows: pd.DataFrame) -> None:
    """Add the rows to the ``staircase`` table of an SQLite store (replacing a previous run of the
    same estimator, seed, dim, cubic and steps_per_level), in one transaction."""
    from mibench.store import Store

    with Store(path) as db:
        db.write_staircase(rows)
