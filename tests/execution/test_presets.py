import pytest

from mibench import MibenchError
from mibench.execution.presets import grids, list_presets, load_preset, run_preset


def test_builtin_presets_load():
    assert {"quick", "full", "check"} <= set(list_presets())
    for name in list_presets():
        for g in grids(load_preset(name)):
            assert g["estimators"] and (g.get("suites") or g.get("tasks"))


def test_grids_inherit_top_level_keys_and_share_a_store(tmp_path):
    p = tmp_path / "two.toml"
    p.write_text('''
seeds = 2
n = [200]
tasks = ["1v1-normal-0.75"]
[[grid]]
estimators = ["gaussian"]
n = [200, 300]
[[grid]]
estimators = ["ksg"]
seeds = 1
''')
    cfg = load_preset(str(p))
    g1, g2 = grids(cfg)
    assert g1 == {"seeds": 2, "n": [200, 300], "tasks": ["1v1-normal-0.75"], "estimators": ["gaussian"],
                  "league": "two: grid 1"}  # each grid is a league, named after the preset
    assert g2["seeds"] == 1 and g2["n"] == [200]
    rows = run_preset(cfg, store=tmp_path / "s.sqlite", workers=2, progress=False)
    assert sorted(rows.groupby("estimator").size().items()) == [("gaussian", 4), ("ksg", 1)]


@pytest.mark.parametrize("text, message", [
    ('estimators = ["ksg"]\nbogus = 1\n', "unknown key"),
    ('[[grid]]\nestimators = ["ksg"]\nwrong = 2\n', "unknown key"),
    ('tasks = ["x"]\n', "needs a list of estimators"),
    ('estimators = [\n', "preset"),
])
def test_bad_presets(tmp_path, text, message):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(MibenchError, match=message):
        load_preset(str(p))
