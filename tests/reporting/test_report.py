"""The HTML report: self-contained, escaped, stable, and it renders in a real browser."""

import re
import shutil

import pandas as pd
import pytest

import mibench
from mibench.cli import main as cli
from mibench.execution.store import Store
from mibench.reporting import figures
from mibench.reporting.report import build_report

NASTY = "<script>window.__pwned=1</script>"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from tests import misbehaving

    path = tmp_path_factory.mktemp("rep") / "s.sqlite"
    with mibench.registered({"raising": misbehaving.raising}):
        mibench.run(["1v1-normal-0.75", "multinormal-dense-2-2-0.5", "multinormal-sparse-3-3-2-2.0"],
                    estimators=["ksg", "gaussian", "raising"], n=[200, 400], seeds=2, store=path, workers=2,
                    progress=False)
    with Store(path) as db:  # a plug-in and a task whose names are HTML
        db.add({"task_id": NASTY, "task_family": f"fam{NASTY}", "truth": 1.0, "estimator": f"evil:x={NASTY}",
                "estimator_name": "evil", "config_hash": "0", "config": {}, "n": 200, "seed": 0, "estimate": 0.9,
                "seconds": 0.01, "device": "cpu", "status": "ok", "info": {}, "versions": {"plugin": NASTY},
                "timestamp": "2026-01-01T00:00:00+00:00"})
    return path


@pytest.fixture(scope="module")
def report(store, tmp_path_factory):
    return build_report(store, tmp_path_factory.mktemp("report"))


def test_report_contents_and_escaping(report):
    text = report.read_text()
    assert NASTY not in text and "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in text
    assert ">League: run: gaussian, ksg, raising<" in text  # the run is a league; the injected row is not in it
    for heading in ("Figures", "Leaderboards per family", "Failures", "Configuration and versions"):
        assert f">{heading}<" in text
    assert "RuntimeError: boom from the estimator" in text  # failure reasons are shown
    assert "MAE [nats]" in text and "time [s]" in text  # units in the tables
    assert "http://" not in text and "https://" not in text  # self-contained: nothing fetched
    imgs = re.findall(r'<img src="data:image/png;base64,', text)
    # the figures of all cells (calibration: the gaussian rows carry intervals), and per league (one here) its
    # accuracy-vs-cost and bias figures
    stems = ("estimate_vs_truth", "error_vs_n", "runtime_vs_n", "calibration", "league1_accuracy_vs_cost",
             "league1_bias")
    assert len(imgs) == len(stems)
    for stem in stems:
        assert (report.parent / "figures" / f"{stem}.png").stat().st_size > 5000
        assert (report.parent / "figures" / f"{stem}.svg").is_file()


def test_report_tables_are_stable(store, report, tmp_path):
    strip = lambda s: re.sub(r'src="data:image/png;base64,[^"]+"', "", s)  # noqa: E731
    a = strip(report.read_text())
    b = strip(build_report(store, tmp_path / "b").read_text())
    assert a == b


def test_report_cli_and_staircase_figure(store, tmp_path):
    steps = pd.DataFrame({"estimator": ["infonce"] * 40, "step": range(40),
                          "estimate": [min(i / 4, 4.1) for i in range(40)], "true_mi": [2.0] * 20 + [4.0] * 20})
    csv = tmp_path / "stair.csv"
    steps.to_csv(csv, index=False)
    assert cli(["report", "--store", str(store), "--out", str(tmp_path / "r"), "--staircase", str(csv)]) == 0
    assert (tmp_path / "r" / "figures" / "staircase.png").is_file()
    assert (tmp_path / "r" / "report.html").read_text().count("<img ") == 7  # the 6 of the grid + the staircase


def test_figures_have_titles_and_units(store):
    with Store(store) as db:
        rows = db.dataframe()
    from mibench.analysis.metrics import summarize

    s = summarize(rows[rows.status == "ok"])
    fig = figures.estimate_vs_truth(s)
    ax = fig.axes[0]
    assert "nats" in ax.get_xlabel() and "nats" in ax.get_ylabel() and ax.get_title()
    fig = figures.runtime_vs_n(rows)
    assert fig.axes[0].get_xscale() == "log" and "[s]" in fig.axes[0].get_ylabel()


def test_report_in_headless_chromium(report, tmp_path):
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.skip("headless Chromium not installed (Debian: apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1280,2000", f"--user-data-dir={tmp_path / 'profile'}"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    try:
        driver.get(report.as_uri())
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, errors
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
        assert len(images) == 6 and all(c and w > 100 and h > 100 for c, w, h in images), images
        assert driver.execute_script("return window.__pwned === undefined && document.scripts.length === 0")
        assert NASTY in driver.find_element("tag name", "body").text  # shown as text
        shot = tmp_path / "report.png"
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    finally:
        driver.quit()


def test_error_map_of_generated_tasks(tmp_path):
    store = tmp_path / "gen.sqlite"
    mibench.run(suite="random:12", estimators=["gaussian", "ksg"], n=[300], seeds=1, store=store, progress=False)
    page = build_report(store, tmp_path / "r").read_text()
    assert "Error map of the generated tasks" in page and (tmp_path / "r" / "figures" / "error_map.png").is_file()
    from mibench.analysis.metrics import summarize
    from mibench.reporting.figures import error_map_table

    with Store(store) as db:
        rows = db.dataframe()
    table = error_map_table(summarize(rows), rows)
    assert table.groupby("estimator")["cells"].sum().to_dict() == {"gaussian": 12, "ksg": 12}


def test_a_curve_keeps_one_sample_size():
    """sweeps runs every MI level at N = 5000 and the 2-nat level also up to N = 10^5: the curve is the
    N = 5000 one (the size most of its points share), not a curve with one point at 10^5."""
    levels = [0.0, 1.0, 2.0, 4.0]
    rows = [{"task_id": f"t-{m}", "family": "fam", "estimator": "est", "n": 5000, "truth": m, "mean": m - 0.1,
             "std": 0.01} for m in levels]
    rows.append({"task_id": "t-2.0", "family": "fam", "estimator": "est", "n": 100_000, "truth": 2.0, "mean": 9.0,
                 "std": 0.01})
    rows.append({"task_id": "t-9.0", "family": "fam", "estimator": "est", "n": 300, "truth": 9.0, "mean": 8.5,
                 "std": 0.01})  # a level run only at another size keeps its own
    fig = figures.estimate_vs_truth(pd.DataFrame(rows))
    ax = fig.axes[0]
    line = next(ln for ln in ax.lines if ln.get_label() == "est")
    assert list(line.get_xdata()) == [0.0, 1.0, 2.0, 4.0, 9.0]
    assert list(line.get_ydata()) == [-0.1, 0.9, 1.9, 3.9, 8.5]
    assert "N =" not in ax.get_title()  # two sizes in the panel
    fig = figures.estimate_vs_truth(pd.DataFrame(rows[:5]))
    assert fig.axes[0].get_title().endswith("N = 5000")
