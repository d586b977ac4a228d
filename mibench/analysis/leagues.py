"""Leagues: sets of estimators compared on the same cells, and their rankings.

A league is what one grid ran: its tasks x sample sizes x seeds for its estimators (a preset names
each grid's league; runs under the same name, e.g. a new estimator added to a committed protocol,
join it). A ranking compares estimators only on the (task, n) cells that every ranked estimator
ran: an estimator that ran a subset is listed with its coverage, never ranked. In each cell the
estimators are ranked by MAE (rank 1 = smallest; no successful seed = the worst rank; ties share
the mean rank); the score is the mean rank over the league's cells.

Uncertainty: a paired bootstrap (cells resampled with replacement, and within each cell the seeds,
the same for every estimator, since they saw the same samples) gives each estimator's rank
interval; consecutive estimators whose order flips in more than ``1 - TIE_CONFIDENCE`` of the
replicates share a rank (a tie within noise). ``pairwise`` gives "A beats B on x of y cells" with
a two-sided sign test.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import binomtest, rankdata

from mibench.analysis.metrics import summarize

BOOTSTRAP = 1000
LEVEL = 0.9  #: rank intervals
TIE_CONFIDENCE = 0.95


@dataclass(frozen=True)
class League:
    name: str
    tasks: frozenset[str]
    estimators: frozenset[str]
    n: frozenset[int]
    seeds: frozenset[int]

    def select(self, rows: pd.DataFrame) -> pd.DataFrame:
        """The stored rows that belong to this league's grid."""
        keep = (rows["task_id"].isin(self.tasks) & rows["estimator"].isin(self.estimators)
                & rows["n"].isin(self.n) & rows["seed"].isin(self.seeds))
        return rows[keep]


def leagues(runs: list[dict]) -> list[League]:
    """The leagues of a store, from its run records: runs with a league name are merged by name;
    unnamed runs (plain ``mibench run``) form one league per distinct grid."""
    merged: dict[str, dict[str, set]] = {}
    order: list[str] = []
    for r in runs:
        name = r.get("league")
        grid = {k: set(r.get(k) or []) for k in ("tasks", "estimators", "n", "seeds")}
        if not name:
            name = "run: " + ", ".join(sorted(grid["estimators"]))[:80]
            existing = merged.get(name)
            if existing is not None and any(existing[k] != grid[k] for k in grid):
                name = f"{name} ({r.get('started', '?')})"
        if name not in merged:
            merged[name] = {k: set() for k in grid}
            order.append(name)
        for k, v in grid.items():
            merged[name][k] |= v
    return [League(name, *(frozenset(merged[name][k]) for k in ("tasks", "estimators", "n", "seeds")))
            for name in order]


def cell_ranks(summary: pd.DataFrame) -> pd.DataFrame:
    """Per (task, n) cell, each estimator's rank by MAE (failed: the worst rank, ties: mean rank)."""
    s = summary.copy()
    worst = s.groupby(["task_id", "n"])["estimator"].transform("count").astype(float)
    s["cell_rank"] = s.groupby(["task_id", "n"])["mae"].rank(method="average", na_option="keep")
    s["cell_rank"] = s["cell_rank"].fillna(worst)
    return s


def rank_league(rows: pd.DataFrame, *, bootstrap: int = BOOTSTRAP, level: float = LEVEL,
                seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(ranking, partial) for the rows of one league.

    ``ranking``: one line per estimator that ran every cell of the league, with ``rank`` (shared
    within a tie), ``mean_rank``, ``rank_lo``/``rank_hi`` (bootstrap interval at ``level``),
    ``cells`` (equal for every line), ``mean_mae``, ``median_mae``, ``failures``, ``cpu_seconds``,
    ``seconds``. ``partial``: the estimators that ran only some cells, with their coverage.
    """
    summary = summarize(rows)
    cols = ["rank", "estimator", "mean_rank", "rank_lo", "rank_hi", "cells", "mean_mae", "median_mae", "failures",
            "cpu_seconds", "seconds"]
    if summary.empty:
        return pd.DataFrame(columns=cols), pd.DataFrame(columns=["estimator", "cells", "of", "failures"])
    cells = summary[["task_id", "n"]].drop_duplicates()
    total = len(cells)
    covered = summary.groupby("estimator")[["task_id", "n"]].apply(lambda d: len(d.drop_duplicates()))
    full = sorted(covered[covered == total].index)
    partial = pd.DataFrame({
        "estimator": covered[covered < total].index, "cells": covered[covered < total].values, "of": total,
        "failures": summary[summary.estimator.isin(covered[covered < total].index)].groupby("estimator")[
            "failures"].sum().reindex(covered[covered < total].index).values,
    })
    if not full:
        return pd.DataFrame(columns=cols), partial
    s = cell_ranks(summary[summary.estimator.isin(full)])
    g = s.groupby("estimator")
    out = pd.DataFrame({
        "mean_rank": g["cell_rank"].mean(),
        "cells": g["cell_rank"].count(),
        "mean_mae": g["mae"].mean(),
        "median_mae": g["mae"].median(),
        "failures": g["failures"].sum(),
        "cpu_seconds": g["cpu_seconds"].mean(),
        "seconds": g["seconds"].mean(),
    }).reset_index()
    out = out.sort_values(["mean_rank", "mean_mae", "estimator"], na_position="last").reset_index(drop=True)
    boot = _bootstrap_mean_ranks(rows[rows.estimator.isin(full)], list(out["estimator"]), bootstrap, seed)
    ranks_of = np.argsort(np.argsort(boot, axis=1, kind="stable"), axis=1, kind="stable") + 1.0
    alpha = (1 - level) / 2
    out["rank_lo"] = np.quantile(ranks_of, alpha, axis=0, method="nearest").astype(int)
    out["rank_hi"] = np.quantile(ranks_of, 1 - alpha, axis=0, method="nearest").astype(int)
    # competition ranking with ties: the next estimator shares the rank unless it is behind in >= 95 %
    rank, shown = 1, []
    for i in range(len(out)):
        if i and np.mean(boot[:, i] > boot[:, i - 1]) >= TIE_CONFIDENCE:
            rank = i + 1
        shown.append(rank)
    out.insert(0, "rank", shown)
    return out[cols], partial


def _bootstrap_mean_ranks(rows: pd.DataFrame, estimators: list[str], reps: int, seed: int) -> np.ndarray:
    """(reps, estimators) mean ranks over resampled cells and seeds (paired: the same seeds for all)."""
    err = (rows["estimate"] - rows["truth"]).abs().where(rows["status"] == "ok")
    cell = pd.MultiIndex.from_arrays([rows["task_id"], rows["n"]]).to_flat_index()
    cells, cell_idx = np.unique(np.array([str(c) for c in cell]), return_inverse=True)
    seeds, seed_idx = np.unique(rows["seed"].to_numpy(), return_inverse=True)
    est_idx = pd.Index(estimators).get_indexer(rows["estimator"])
    n_cells, n_est, n_seeds = len(cells), len(estimators), len(seeds)
    cube = np.full((n_cells, n_seeds, n_est), np.nan)
    cube[cell_idx, seed_idx, est_idx] = err.to_numpy(dtype=float)
    ran = np.zeros((n_cells, n_seeds), dtype=bool)
    ran[cell_idx, seed_idx] = True
    # the seeds each cell ran, padded: resampling picks among a cell's own seeds
    counts = ran.sum(axis=1)
    avail = np.zeros((n_cells, n_seeds), dtype=int)
    for c in range(n_cells):
        own = np.flatnonzero(ran[c])
        avail[c, : len(own)] = own
    rng = np.random.default_rng(seed)
    out = np.empty((reps, n_est))
    for r in range(reps):
        pick = rng.integers(0, n_cells, n_cells)
        draw = avail[pick[:, None], (rng.random((n_cells, n_seeds)) * counts[pick][:, None]).astype(int)]
        vals = cube[pick[:, None], draw]  # (cells, seeds, estimators)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a cell where an estimator failed every seed
            mae = np.nanmean(vals, axis=1)
        ranks = rankdata(mae, axis=1, nan_policy="omit")
        out[r] = np.where(np.isnan(ranks), float(n_est), ranks).mean(axis=0)
    return out


def pairwise(rows: pd.DataFrame, estimators: list[str]) -> pd.DataFrame:
    """For each ordered pair of ``estimators`` (first listed = A): A beats B on ``wins`` of ``cells``
    cells where both have an MAE (equal MAEs are left out), two-sided sign-test ``p``."""
    s = summarize(rows)
    mae = s.pivot_table(index=["task_id", "n"], columns="estimator", values="mae")
    out = []
    for i, a in enumerate(estimators):
        for b in estimators[i + 1:]:
            if a not in mae or b not in mae:
                continue
            both = mae[[a, b]].dropna()
            wins, losses = int((both[a] < both[b]).sum()), int((both[a] > both[b]).sum())
            n = wins + losses
            p = binomtest(wins, n, 0.5).pvalue if n else math.nan
            out.append({"A": a, "B": b, "wins": wins, "losses": losses, "cells": n, "p": p,
                        "text": f"{a} beats {b} on {wins} of {n} cells (sign test p = {p:.2g})"})
    return pd.DataFrame(out, columns=["A", "B", "wins", "losses", "cells", "p", "text"])


# ---- regimes ---------------------------------------------------------------------------------

DIM_BINS = ((0, 5, "d <= 5"), (5, 25, "5 < d <= 25"), (25, math.inf, "d > 25"))
MI_BINS = ((-math.inf, 1, "MI < 1"), (1, 5, "1 <= MI <= 5"), (5, math.inf, "MI > 5"))


def regime_labels(rows: pd.DataFrame) -> pd.DataFrame:
    """Per (task_id): its dimension bin (d = max(d_x, d_y)), MI bin (nats) and kind: ``images``,
    ``heavy tails`` (Student-t families), ``curved`` (transformed: a base task through a map or a
    flow), else ``plain``."""
    first = rows.drop_duplicates("task_id").set_index("task_id")

    def dim_bin(r):
        d = max(_num(r.get("dim_x")), _num(r.get("dim_y")))
        return next((label for lo, hi, label in DIM_BINS if lo < d <= hi), "unknown") if d > 0 else "unknown"

    def mi_bin(truth):
        return MI_BINS[0][2] if truth < 1 else (MI_BINS[1][2] if truth <= 5 else MI_BINS[2][2])

    def kind(task_id, r):
        params = r.get("task_params") if isinstance(r.get("task_params"), dict) else {}
        family = str(r.get("task_family") or "")
        if bool(_num(r.get("is_image"))) or family.startswith(("image", "digits")):
            return "images"
        if "student" in family:
            return "heavy tails"
        if "base" in params or family.startswith(("flow-", "staircase-cubic")):
            return "curved"
        return "plain"

    return pd.DataFrame({
        "dimension": [dim_bin(r) for _, r in first.iterrows()],
        "mi": [mi_bin(float(t)) for t in first["truth"]],
        "kind": [kind(t, r) for t, r in first.iterrows()],
    }, index=first.index)


def regimes(rows: pd.DataFrame, estimators: list[str]) -> pd.DataFrame:
    """One line per regime (dimension bin x MI bin, and each kind): the cells in it, the best
    estimator (lowest mean rank among ``estimators``) and every estimator's mean MAE (nats)."""
    rows = rows[rows.estimator.isin(estimators)]
    if rows.empty:
        return pd.DataFrame()
    labels = regime_labels(rows)
    s = cell_ranks(summarize(rows))
    s = s.join(labels, on="task_id")
    groups = [("dimension x MI", ["dimension", "mi"]), ("kind", ["kind"])]
    out = []
    for what, keys in groups:
        for values, part in s.groupby(keys, sort=True):
            values = values if isinstance(values, tuple) else (values,)
            rank = part.groupby("estimator")["cell_rank"].mean().sort_values()
            mae = part.groupby("estimator")["mae"].mean()
            line = {"regime": what, "value": ", ".join(map(str, values)), "cells": len(part.drop_duplicates(
                ["task_id", "n"])), "best": rank.index[0], "best mean rank": rank.iloc[0]}
            line.update({f"{e} MAE [nats]": mae.get(e, math.nan) for e in estimators})
            out.append(line)
    return pd.DataFrame(out)


def _num(v) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if math.isnan(f) else f
