"""Preset sizes and expected costs (`mibench list presets`)."""

import pandas as pd
import pytest

from mibench.cli.main import main as cli
from mibench.execution.preset_cost import cell_seconds, load_costs, measure_costs, preset_size

COSTS = {("ksg", False): [(1000, 0.1), (4000, 0.8)], ("infonce", False): [(5000, 5.0)]}


def test_cell_seconds_interpolates_and_extrapolates_on_the_measured_slope():
    assert cell_seconds(COSTS, "ksg", 1000) == 0.1
    assert cell_seconds(COSTS, "ksg", 2000) == pytest.approx(0.1 * 2 ** 1.5)  # slope log(8)/log(4) = 1.5
    assert cell_seconds(COSTS, "ksg", 16000) == pytest.approx(0.8 * 4 ** 1.5)
    assert cell_seconds(COSTS, "ksg", 250) == pytest.approx(0.1 / 4 ** 1.5)
    assert cell_seconds(COSTS, "infonce", 10000) == pytest.approx(10.0)  # one size: linear
    assert cell_seconds(COSTS, "mienf", 1000) is None


def test_slope_is_clipped_to_at_most_quadratic():
    costs = {("kde", False): [(100, 0.001), (200, 1.0)]}  # a slope of ~10 from noise
    assert cell_seconds(costs, "kde", 400) == pytest.approx(4.0)


def test_preset_size_counts_cells_and_names_unmeasured_estimators():
    size = preset_size("bmi-v1", COSTS)
    assert size.cells == 39 * 6 * 10
    assert size.cpu_hours == pytest.approx((390 * 5.0 + 390 * cell_seconds(COSTS, "ksg", 5000)) / 3600)
    assert size.unknown == ("dv", "gaussian", "mine", "nwj")


def test_measure_costs_takes_medians_of_ok_rows(tmp_path):
    rows = pd.DataFrame({"estimator_name": ["ksg"] * 4, "n": [1000] * 3 + [4000],
                         "seconds": [0.1, 0.3, 99.0, 0.5], "status": ["ok", "ok", "error", "ok"]})
    table = measure_costs(rows)
    assert table.to_dict("records") == [{"estimator_name": "ksg", "images": 0, "n": 1000, "seconds": 0.2, "cells": 2},
                                        {"estimator_name": "ksg", "images": 0, "n": 4000, "seconds": 0.5, "cells": 1}]
    table.to_csv(tmp_path / "c.csv", index=False)
    assert load_costs(tmp_path / "c.csv") == {("ksg", False): [(1000, 0.2), (4000, 0.5)]}


def test_costs_are_per_kind_of_task_with_the_default_configuration_per_kind():
    """MIENF's image flows cost several times its vector flow: image and vector cells are measured
    apart, each from the default configuration where that kind has one, and a kind never measured
    takes the other's costs."""
    rows = pd.DataFrame({"estimator_name": ["mienf"] * 4, "estimator": ["mienf", "mienf", "mienf:steps=400", "mienf"],
                         "is_image": [True, True, False, False], "n": [10000, 10000, 2000, 2000],
                         "seconds": [90.0, 100.0, 5.0, 20.0], "status": ["ok"] * 4})
    table = measure_costs(rows)
    assert table[["images", "n", "seconds", "cells"]].to_dict("records") == [
        {"images": 0, "n": 2000, "seconds": 20.0, "cells": 1}, {"images": 1, "n": 10000, "seconds": 95.0, "cells": 2}]
    costs = {(r.estimator_name, bool(r.images)): [(r.n, r.seconds)] for r in table.itertuples()}
    assert cell_seconds(costs, "mienf", 2000, images=False) == 20.0
    assert cell_seconds(costs, "mienf", 10000, images=True) == 95.0
    only_images = {("mienf", True): [(10000, 95.0)]}
    assert cell_seconds(only_images, "mienf", 10000, images=False) == 95.0
    rows.loc[2, "estimator"] = "mienf:steps=400"  # vectors without a default row: all of their specs count
    rows.loc[3, "estimator"] = "mienf:steps=300"
    assert measure_costs(rows).query("images == 0").seconds.tolist() == [12.5]


def test_list_presets_shows_cells_and_cost(capsys):
    assert cli(["list", "presets"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("bmi-v1 "))
    assert "2340 cells" in line and "CPU" in line and "Beyond Normal" in line
    for name in ("bmi-v2", "mienf-images", "sweeps", "quick", "check"):
        assert any(ln.startswith(name + " ") for ln in out.splitlines()), name
