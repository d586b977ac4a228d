"""Results never go stale: a changed task definition or estimator default is recomputed on re-run,
the old rows are kept as superseded, and stores of the previous schema open and migrate."""

import sqlite3

import numpy as np

import mibench
from mibench.cli import main
from mibench.execution.store import Store
from tests import misbehaving


class _Pairs:
    def __init__(self, rho):
        self.rho = rho

    def __call__(self, n, rng):
        x = rng.standard_normal((n, 1))
        return x, self.rho * x + np.sqrt(1 - self.rho**2) * rng.standard_normal((n, 1))


def _task(rho=0.6, version=1):
    return mibench.Task("stale-pair", family="toy", sampler=_Pairs(rho), dim_x=1, dim_y=1,
                        mutual_information=-0.5 * np.log(1 - rho**2), params={"rho": rho}, version=version)


class Offset(mibench.Estimator):
    """The correlation estimator plus a constant; the default of ``offset`` is what changes."""

    PARAMS = {"offset": mibench.Float(0.0)}

    def estimate_with_info(self, x, y):
        return misbehaving.correlation_mi(x, y) + self.offset, {}


class OffsetChangedDefault(Offset):
    PARAMS = {"offset": mibench.Float(0.25)}


def _run(store, task, est="offset"):
    return mibench.run([task], estimators=[est], n=[200], seeds=2, store=store, workers=1, progress=False)


def test_unchanged_cells_are_reused(tmp_path):
    store = tmp_path / "s.sqlite"
    with mibench.registered({"offset": Offset}):
        first = _run(store, _task())
        again = _run(store, _task())
    assert first.attrs["cells"] == {"total": 2, "done": 0, "stale": 0, "computed": 2}
    assert again.attrs["cells"] == {"total": 2, "done": 2, "stale": 0, "computed": 0}
    assert again.estimate.tolist() == first.estimate.tolist()


def test_changed_task_definition_is_recomputed_and_history_kept(tmp_path):
    store = tmp_path / "s.sqlite"
    with mibench.registered({"offset": Offset}):
        old = _run(store, _task(rho=0.6))
        new = _run(store, _task(rho=0.9))  # same id, another distribution
        bumped = _run(store, _task(rho=0.9, version=2))  # same definition, version bumped by its author
    assert new.attrs["cells"]["stale"] == 2 and new.attrs["cells"]["computed"] == 2
    assert (new.estimate > old.estimate + 0.3).all()  # computed from the new distribution
    assert new.truth.iloc[0] == _task(rho=0.9).mutual_information
    assert bumped.attrs["cells"]["stale"] == 2
    with Store(store) as db:
        history = db.dataframe(superseded=True)
        current = db.dataframe()
    assert len(history) == 6 and history.superseded.sum() == 4  # nothing deleted
    assert len(current) == 2 and current.task_fingerprint.nunique() == 1
    assert current.task_fingerprint.iloc[0] == _task(rho=0.9, version=2).fingerprint


def test_changed_estimator_default_is_recomputed(tmp_path, capsys):
    store = tmp_path / "s.sqlite"
    with mibench.registered({"offset": Offset}):
        old = _run(store, _task())
    with mibench.registered({"offset": OffsetChangedDefault}):  # same spec "offset", new default
        new = _run(store, _task())
    assert new.attrs["cells"]["stale"] == 2
    np.testing.assert_allclose(new.estimate - old.estimate, 0.25)
    assert new.config_hash.iloc[0] != old.config_hash.iloc[0]


def test_cli_reports_stale_cells(tmp_path, capsys):
    store = str(tmp_path / "s.sqlite")
    args = ["run", "--task", "1v1-normal-0.75", "--estimator", "ksg", "--n", "200", "--seeds", "2",
            "--store", store, "--no-progress"]
    assert main(args) == 0
    with sqlite3.connect(store) as c:  # as if the estimator's configuration had changed since
        c.execute("UPDATE results SET config_hash = 'old'")
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "2 stale cell(s) recomputed" in out


V1_SCHEMA = """
CREATE TABLE results (
    id INTEGER PRIMARY KEY,
    task_id TEXT NOT NULL, task_family TEXT, truth REAL NOT NULL, truth_stderr REAL,
    estimator TEXT NOT NULL, estimator_name TEXT NOT NULL, config_hash TEXT NOT NULL, config TEXT,
    n INTEGER NOT NULL, seed INTEGER NOT NULL,
    estimate REAL, seconds REAL, device TEXT, peak_memory_mb REAL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'timeout')), error TEXT,
    info TEXT, versions TEXT, timestamp TEXT NOT NULL,
    UNIQUE (task_id, estimator, n, seed)
);
CREATE TABLE runs (id INTEGER PRIMARY KEY, started TEXT NOT NULL, config TEXT NOT NULL);
"""


def test_version_1_store_migrates_and_its_rows_are_recomputed(tmp_path):
    path = tmp_path / "v1.sqlite"
    with sqlite3.connect(path) as c:
        c.executescript(V1_SCHEMA)
        c.execute("INSERT INTO results (task_id, task_family, truth, estimator, estimator_name, config_hash, config, "
                  "n, seed, estimate, status, info, versions, timestamp) VALUES ('1v1-normal-0.75', 'bivariate', "
                  "0.41, 'gaussian', 'gaussian', 'h', '{}', 200, 0, 0.5, 'ok', '{}', '{}', '2026-01-01')")
    rows = mibench.run(["1v1-normal-0.75"], estimators=["gaussian"], n=[200], seeds=[0], store=path, workers=1,
                       progress=False)
    assert rows.attrs["cells"]["stale"] == 1  # the old row's task fingerprint is unknown: recomputed
    assert rows.estimate.iloc[0] != 0.5
    with Store(path) as db:
        history = db.dataframe(superseded=True)
    assert history.estimate.tolist()[0] == 0.5 and history.superseded.tolist() == [True, False]
