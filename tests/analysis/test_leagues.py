"""Fair rankings: estimators are compared only on cells that all of them ran."""

import math

import numpy as np
import pandas as pd

import mibench
from mibench.analysis.leagues import leagues, pairwise, rank_league, regimes
from mibench.execution.store import Store
from mibench.reporting.tables import league_tables, overall, render
from tests import misbehaving
from tests.execution.test_store import _row


def _rows(spec):
    """spec: estimator -> (tasks, bias, noise sd)."""
    rng = np.random.default_rng(1)
    out = []
    for est, (tasks, bias, sd) in spec.items():
        for t in tasks:
            for s in range(5):
                out.append(_row(task_id=t, estimator=est, seed=s, estimate=1.0 + bias + rng.normal(0, sd)))
    return pd.DataFrame(out)


def test_an_estimator_is_never_ranked_on_cells_others_did_not_run(tmp_path):
    """`lucky` is perfect on the one task it ran; the others ran four. No table may rank it above
    them: the shared league lists it with its coverage, the overall ranking does not exist."""
    tasks = ["1v1-normal-0.75", "multinormal-dense-2-2-0.5", "multinormal-sparse-3-3-2-2.0", "student-identity-1-1-1"]
    store = tmp_path / "s.sqlite"
    with mibench.registered({"corr": misbehaving.correlation_mi, "lucky": misbehaving.Biased}):
        mibench.run(tasks, estimators=["corr", "gaussian"], n=[300], seeds=3, store=store, progress=False,
                    league="shared")
        # a user adds their estimator to the same league, but only on one task
        mibench.run(tasks[:1], estimators=["lucky"], n=[300], seeds=3, store=store, progress=False, league="shared")
        mibench.run(tasks[:1], estimators=["lucky"], n=[300], seeds=3, store=store, progress=False, league="solo")
    with Store(store, readonly=True) as db:
        rows, runs = db.dataframe(), db.runs()
    tables = {t.league.name: t for t in league_tables(rows, runs, bootstrap=100)}
    shared = tables["shared"]
    assert set(shared.ranking.estimator) == {"corr", "gaussian"}
    assert (shared.ranking.cells == 4).all()  # every ranked row on the same cells
    assert shared.partial.to_dict("records") == [{"estimator": "lucky", "cells": 1, "of": 4, "failures": 0}]
    assert list(tables["solo"].ranking.estimator) == ["lucky"]
    assert overall(rows, bootstrap=100).empty  # no set of cells is common to all three
    text = render(rows, "md", runs)
    assert "## Overall ranking" not in text and "Ran only some of the league's cells" in text


def test_rank_intervals_and_ties_within_noise():
    tasks = [f"t{i}" for i in range(12)]
    rows = _rows({"best": (tasks, 0.0, 0.02), "twin_a": (tasks, 0.2, 0.05), "twin_b": (tasks, 0.2, 0.05),
                  "worst": (tasks, 0.8, 0.02)})
    ranking, partial = rank_league(rows, bootstrap=300)
    r = ranking.set_index("estimator")
    assert partial.empty and (ranking.cells == 12).all()
    assert r.loc["best", "rank"] == 1 and r.loc["worst", "rank"] == 4
    assert r.loc["twin_a", "rank"] == r.loc["twin_b", "rank"] == 2  # indistinguishable: a tie
    assert r.loc["twin_a", "rank_lo"] == 2 and r.loc["twin_a", "rank_hi"] == 3
    assert (r.rank_lo <= r.mean_rank.round()).all() and (r.mean_rank.round() <= r.rank_hi).all()


def test_pairwise_sign_test_by_hand():
    rows = _rows({"a": ([f"t{i}" for i in range(10)], 0.0, 0.01), "b": ([f"t{i}" for i in range(10)], 0.05, 0.01)})
    rows.loc[(rows.estimator == "a") & (rows.task_id.isin(["t0", "t1"])), "estimate"] += 0.5  # b wins 2 cells
    p = pairwise(rows, ["a", "b"]).iloc[0]
    assert (p.wins, p.losses, p.cells) == (8, 2, 10)
    by_hand = 2 * sum(math.comb(10, k) for k in range(0, 3)) / 2**10  # P(X <= 2) + P(X >= 8)
    assert math.isclose(p.p, by_hand) and "a beats b on 8 of 10 cells" in p.text


def test_regimes_name_the_best_estimator_per_regime():
    low = _rows({"lowdim_expert": (["l1", "l2"], 0.0, 0.01), "highdim_expert": (["l1", "l2"], 0.3, 0.01)})
    high = _rows({"lowdim_expert": (["h1", "h2"], 0.4, 0.01), "highdim_expert": (["h1", "h2"], 0.05, 0.01)})
    low["dim_x"] = low["dim_y"] = 2
    high["dim_x"] = high["dim_y"] = 30
    table = regimes(pd.concat([low, high]), ["lowdim_expert", "highdim_expert"]).set_index("value")
    assert table.loc["d <= 5, 1 <= MI <= 5", "best"] == "lowdim_expert"
    assert table.loc["d > 25, 1 <= MI <= 5", "best"] == "highdim_expert"
    assert table.loc["d > 25, 1 <= MI <= 5", "cells"] == 2


def test_unnamed_runs_form_one_league_per_grid():
    runs = [{"tasks": ["a"], "estimators": ["x", "y"], "n": [10], "seeds": [0]},
            {"tasks": ["a"], "estimators": ["x", "y"], "n": [10], "seeds": [0]},  # a resumed run: the same grid
            {"tasks": ["b"], "estimators": ["z"], "n": [10], "seeds": [0, 1]}]
    names = [lg.name for lg in leagues(runs)]
    assert names == ["run: x, y", "run: z"]
