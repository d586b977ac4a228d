"""A third-party package registers an estimator and a suite through real entry points."""

import subprocess
import sys
import textwrap

import pytest

import mibench
from mibench.cli import main as cli
from mibench.core import registry

SETUP = textwrap.dedent('''
    [build-system]
    requires = ["setuptools"]
    build-backend = "setuptools.build_meta"

    [project]
    name = "mibench-thirdparty-demo"
    version = "1.2.3"

    [project.entry-points."mibench.estimators"]
    demo_corr = "demo_plugin:CorrEstimator"
    demo_broken = "demo_plugin_missing:Nothing"

    [project.entry-points."mibench.tasks"]
    demo_suite = "demo_plugin:suite"
''')

MODULE = textwrap.dedent('''
    import numpy as np
    import mibench

    class CorrEstimator:
        """Gaussian MI of the first coordinates; a plug-in knows nothing of mibench's internals."""
        def __init__(self, shrink=1.0):
            self.shrink = shrink
        def estimate(self, x, y):
            x, y = mibench.validate_xy(x, y, min_samples=3)
            r = np.corrcoef(x[:, 0], y[:, 0])[0, 1] * self.shrink
            return float(-0.5 * np.log1p(-r * r))

    class _Pairs:
        def __call__(self, n, rng):
            x = rng.standard_normal((n, 1))
            return x, 0.6 * x + 0.8 * rng.standard_normal((n, 1))

    def suite():
        return [mibench.Task("demo-pair-0.6", family="demo", sampler=_Pairs(), dim_x=1, dim_y=1,
                             mutual_information=-0.5 * np.log(1 - 0.36))]
''')


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory):
    src = tmp_path_factory.mktemp("src")
    (src / "pyproject.toml").write_text(SETUP)
    (src / "demo_plugin.py").write_text(MODULE)
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
         "--target", str(target), str(src)],
        check=True, capture_output=True,
    )
    sys.path.insert(0, str(target))
    registry.refresh()
    yield target
    sys.path.remove(str(target))
    sys.modules.pop("demo_plugin", None)
    registry.refresh()


def test_listed_with_source_and_broken_one_reported(installed_plugin, capsys):
    assert "demo_corr" in mibench.list_estimators()
    assert "demo_suite" in mibench.list_suites()
    assert cli(["list", "estimators"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("demo_corr"))
    assert "mibench-thirdparty-demo 1.2.3" in line
    broken = next(ln for ln in out.splitlines() if ln.startswith("demo_broken"))
    assert "BROKEN" in broken and "demo_plugin_missing" in broken
    assert any(ln.startswith("ksg") and "BROKEN" not in ln for ln in out.splitlines())  # others unaffected
    with pytest.raises(mibench.MibenchError, match="failed to load"):
        mibench.get_estimator("demo_broken")


def test_runs_in_grid_and_reaches_leaderboard(installed_plugin, tmp_path, capsys):
    store = tmp_path / "s.sqlite"
    rows = mibench.run(["demo-pair-0.6", "1v1-normal-0.75"], estimators=["demo_corr:shrink=1.0", "gaussian"],
                       n=[500], seeds=2, store=store, workers=2, progress=False)
    assert (rows.status == "ok").all() and len(rows) == 8
    demo = rows[rows.estimator == "demo_corr:shrink=1.0"]
    assert (demo.versions.map(lambda v: v["plugin"]) == "mibench-thirdparty-demo 1.2.3").all()
    # on these one-dimensional Gaussian tasks the plug-in and the built-in compute the same statistic
    gauss = rows[rows.estimator == "gaussian"].set_index(["task_id", "seed"]).estimate
    assert demo.set_index(["task_id", "seed"]).estimate.sub(gauss).abs().max() < 1e-9
    assert cli(["leaderboard", "--store", str(store), "--format", "md"]) == 0
    assert "demo_corr:shrink=1.0" in capsys.readouterr().out
