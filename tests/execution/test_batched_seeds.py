"""Batches of seeds in the harness (mibench/execution/batching.py): the cells of one (task, estimator, n)
that differ only by seed run as one ``estimate_batch`` call, each cell keeps its own row, and a seed
(or a whole batch) that fails, times out or crashes becomes failed rows without touching the rest."""

import pytest

import mibench
from mibench.core.errors import MibenchError
from mibench.execution.batching import group_seeds
from mibench.execution.grid import BatchJob, build_grid
from tests import misbehaving

TASK = "multinormal-dense-2-2-0.5"
# the conditions of tests/estimators/neural/test_neural_batched.py, where batched and unbatched fits
# agree to float32 rounding (eager kernels, small steps)
NEURAL = "infonce:batch_size=64,eval_every=10,kernel=eager,lr=0.001,steps=40"


def _by_seed(rows):
    return {int(r.seed): r for r in rows.itertuples()}


def test_batched_rows_equal_unbatched_rows(tmp_path, one_torch_thread):
    common = dict(tasks=[TASK], estimators=[NEURAL], n=[500], seeds=3, workers=1, progress=False)
    alone = _by_seed(mibench.run(**common, store=tmp_path / "alone.sqlite", batch_seeds="never"))
    batched = _by_seed(mibench.run(**common, store=tmp_path / "batched.sqlite", batch_seeds="always"))
    assert sorted(alone) == sorted(batched) == [0, 1, 2]
    for seed in range(3):
        a, b = alone[seed], batched[seed]
        assert a.status == b.status == "ok"
        assert abs(a.estimate - b.estimate) < 1e-4
        assert b.info["batch"]["size"] == 3 and b.info["batched_seeds"] == 3 and "batch" not in a.info
        assert "batch_fallback" not in b.info
        assert b.seconds == pytest.approx(b.info["batch"]["seconds"] / 3)
    # different data per seed: not the same estimate three times
    assert len({round(r.estimate, 6) for r in batched.values()}) == 3


def test_auto_batches_only_where_the_estimator_says_it_pays():
    with mibench.registered({"bcorr": misbehaving.BatchedCorrelation}):
        grid = build_grid([TASK], None, ["bcorr", "bcorr:pays=true", "ksg", NEURAL], [300], 4)
        jobs = group_seeds(grid, "auto")
        batches = [j for j in jobs if isinstance(j, BatchJob)]
        # only bcorr:pays=true; the neural bound on CPU and bcorr without pays run cell by cell
        assert [b.spec.text for b in batches] == ["bcorr:pays=true"]
        assert [c.seed for c in batches[0].cells] == [0, 1, 2, 3]
        assert len(jobs) == 3 * 4 + 1
        always = group_seeds(grid, "always")
        assert sorted(b.spec.text for b in always if isinstance(b, BatchJob)) == sorted(
            ["bcorr", "bcorr:pays=true", NEURAL])  # ksg has no estimate_batch
        split = group_seeds(grid, "always", max_batch=3)
        assert sorted(len(b.cells) for b in split if isinstance(b, BatchJob)) == [3, 3, 3]
        assert group_seeds(grid, "never") == grid
        with pytest.raises(MibenchError, match="batch_seeds must be one of"):
            group_seeds(grid, "sometimes")


def test_a_failing_seed_fails_alone_and_gets_the_estimators_own_seed(tmp_path):
    with mibench.registered({"bcorr": misbehaving.BatchedCorrelation}):
        rows = mibench.run(tasks=[TASK], estimators=["bcorr:fail_seed_index=1"], n=[300], seeds=3,
                           store=tmp_path / "s.sqlite", workers=1, progress=False, batch_seeds="always")
    by = _by_seed(rows)
    assert by[1].status == "failed" and "ValueError: seed index 1 diverged" in by[1].error
    for seed in (0, 2):
        assert by[seed].status == "ok" and by[seed].estimate == pytest.approx(
            misbehaving.correlation_mi(*mibench.get_task(TASK).sample(300, seed)))
        assert by[seed].info["seeds_seen"] == [7, 7, 7]  # the estimator's seed; the cell's seed is the data's


def test_a_batched_call_that_fails_as_a_whole_falls_back_to_cell_by_cell(tmp_path):
    with mibench.registered({"bcorr": misbehaving.BatchedCorrelation}):
        rows = mibench.run(tasks=[TASK], estimators=["bcorr:mode=raise"], n=[300], seeds=3,
                           store=tmp_path / "s.sqlite", workers=1, progress=False, batch_seeds="always")
    assert len(rows) == 3 and (rows.status == "ok").all()
    for r in rows.itertuples():
        assert r.info["batch_fallback"] == "RuntimeError: the whole batch failed" and "batch" not in r.info
        assert r.estimate == pytest.approx(misbehaving.correlation_mi(*mibench.get_task(TASK).sample(300, r.seed)))


@pytest.mark.parametrize(("mode", "status", "text"), [
    ("raise_all", "failed", "RuntimeError: this estimate failed too"),
    ("exit", "failed", "worker process died with exit code 1"),
    ("sleep", "timeout", "its batch of 2 seeds exceeded 2 x the per-cell timeout of 1 s"),
])
def test_a_failing_batch_fails_its_cells_and_the_run_goes_on(tmp_path, mode, status, text):
    with mibench.registered({"bcorr": misbehaving.BatchedCorrelation, "corr": misbehaving.correlation_mi}):
        rows = mibench.run(tasks=[TASK], estimators=[f"bcorr:mode={mode}", "corr"], n=[300], seeds=2,
                           store=tmp_path / "s.sqlite", workers=2, timeout=1, progress=False, batch_seeds="always")
    bad = rows[rows.estimator_name == "bcorr"]
    assert len(bad) == 2 and (bad.status == status).all() and bad.error.str.contains(text, regex=False).all()
    good = rows[rows.estimator_name == "corr"]
    assert len(good) == 2 and (good.status == "ok").all()


def test_batched_cells_resume_like_any_other(tmp_path):
    """The cells left after a partial run form a batch of their own; the run record counts batches."""
    from mibench.execution.store import Store

    store = tmp_path / "s.sqlite"
    with mibench.registered({"bcorr": misbehaving.BatchedCorrelation}):
        first = mibench.run(tasks=[TASK], estimators=["bcorr"], n=[300], seeds=2, store=store, workers=1,
                            progress=False, batch_seeds="always")
        again = mibench.run(tasks=[TASK], estimators=["bcorr"], n=[300], seeds=4, store=store, workers=1,
                            progress=False, batch_seeds="always")
    assert first.attrs["cells"]["computed"] == 2
    assert again.attrs["cells"] == {"total": 4, "done": 2, "stale": 0, "computed": 2}
    assert (again.status == "ok").all() and len(again) == 4
    new = again[again.seed >= 2]
    assert all(info["batch"]["size"] == 2 for info in new["info"])
    with Store(store, readonly=True) as db:
        assert [r["batches"] for r in db.runs()] == [1, 1]


def test_auto_runs_cell_by_cell_where_the_driver_cannot_tell(tmp_path):
    """device=cuda on a driver without a GPU (a Ray head node, say): batch_pays cannot be answered
    there, so auto neither batches nor stops the run; the cell fails on its own as it did before."""
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    grid = build_grid([TASK], None, ["infonce:device=cuda"], [300], 2)
    assert all(not isinstance(j, BatchJob) for j in group_seeds(grid, "auto"))
