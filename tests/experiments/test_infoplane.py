"""The information-plane experiment: its pieces, its sanity checks (issue 17, point 4), CLI and report."""

from __future__ import annotations

import argparse
import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import integrate
from sklearn.datasets import load_digits

import mibench
from mibench import MibenchError
from mibench.execution.store import Store
from mibench.experiments import infoplane
from mibench.experiments.infoplane import measure, network, validation

LOG10 = math.log(10)


def small_digits(n_per_class: int = 50, seed: int = 0):
    """A stratified subsample of digits (images (n, 8, 8) in [0, 1], labels)."""
    d = load_digits()
    rng = np.random.default_rng(seed)
    idx = np.concatenate([rng.choice(np.flatnonzero(d.target == c), n_per_class, replace=False) for c in range(10)])
    return d.images[idx] / 16.0, d.target[idx]


TINY = dict(epochs=30, eval_every=30, lr=3e-3, batch_size=32, validation_seeds=2)
#: pointwise checks over many rows allow Z error bars: a bar is one RMSE of the validated pipeline,
#: which a single estimate exceeds about a third of the time
Z = 2.0


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    return tmp_path_factory.mktemp("infoplane") / "s.sqlite"


@pytest.fixture(scope="module")
def trained(one_torch_thread, store_path):
    """One small training run measured by wkl (the default) and ksg, with its validation."""
    return infoplane.run(["wkl", "ksg"], small_digits(), store=store_path, **TINY)


# ---- entropy hook and I(L; Y) -----------------------------------------------------------------------

@pytest.mark.parametrize("spec", ["kl", "wkl"])
def test_entropy_matches_gaussian_closed_form(spec):
    est = mibench.get_estimator(spec)
    rng = np.random.default_rng(0)
    cov = np.array([[2.0, 0.6, 0.0, 0.0], [0.6, 1.0, 0.3, 0.0], [0.0, 0.3, 0.5, 0.1], [0.0, 0.0, 0.1, 1.5]])
    a = rng.multivariate_normal(np.zeros(4), cov, size=20000)
    truth = 0.5 * np.linalg.slogdet(2 * np.pi * np.e * cov)[1]
    assert est.entropy(a) == pytest.approx(truth, abs=0.05)
    # standardisation is undone: scaling by 10 adds exactly 4 log 10
    assert est.entropy(10 * a) - est.entropy(a) == pytest.approx(4 * LOG10, abs=1e-9)


def test_labelled_images_truth_by_quadrature():
    lab = validation.LabelledImages("gauss", 10, 2.0)
    mc, se = lab.truth()
    mu, b = lab.a * lab.means, lab.b

    def integrand(z2, z1):
        z = np.array([z1, z2])
        dens = np.exp(-0.5 * ((z - mu) ** 2).sum(1) / b**2) / (2 * np.pi * b**2)  # p(z | y), y = 0..9
        p = dens.mean()
        return float(np.sum(0.1 * dens * np.log(np.maximum(dens, 1e-300) / p)))

    quad = integrate.dblquad(integrand, -4, 4, -4, 4, epsabs=1e-7)[0]
    assert abs(mc - quad) < 4 * se + 1e-3


def test_label_rules_recover_mixture_mi():
    """H(L) - sum p(y) H(L | y) with wkl's entropy, and ksg on one-hot labels, on 4-d Gaussian classes."""
    lab = validation.LabelledImages("rect", 10, 2.5)
    truth, _ = lab.truth()
    z, y = lab.latents(2000, np.random.default_rng(5))
    for spec in ("wkl", "ksg"):
        value, err = measure.label_mi(mibench.get_estimator(spec), z, y)
        assert err is None
        assert value == pytest.approx(truth, abs=0.12), spec
    assert measure.label_rule(mibench.get_estimator("wkl")) == "entropy"
    assert measure.label_rule(mibench.get_estimator("ksg")) == "onehot"


def test_fano_bound_ends():
    assert measure.fano_bound(1.0, 10, LOG10) == pytest.approx(LOG10)
    assert measure.fano_bound(0.1, 10, LOG10) == pytest.approx(0.0, abs=1e-12)  # chance level: no information


def test_error_bars_interpolate_in_the_mean_estimate():
    rows = []
    for truth, est in ((1.0, [0.9, 1.1]), (5.0, [2.0, 3.0]), (10.0, [2.0, 3.0])):  # saturates above 5
        rows += [{"estimator": "e", "quantity": "i_xl", "task_id": f"t-{truth}", "truth": truth, "estimate": v}
                 for v in est]
    val = pd.DataFrame(rows)
    rmse1 = 0.1  # the 5-nat level (rmse 2.55) has the same mean estimate as the 10-nat one: the larger wins
    rmse10 = math.sqrt((8.0**2 + 7.0**2) / 2)
    got = validation.error_bars(val, "e", "i_xl", [0.0, 1.0, 1.75, 2.5, 9.0])
    np.testing.assert_allclose(got, [rmse1, rmse1, (rmse1 + rmse10) / 2, rmse10, rmse10])
    assert np.isnan(validation.error_bars(val, "other", "i_xl", [1.0])).all()


# ---- the network -----------------------------------------------------------------------------------

def test_network_noise_at_evaluation_and_seeded(one_torch_thread):
    x = torch.rand(20, 1, 8, 8)
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()[1].copy()
    net = network.build_network("cnn", (1, 8, 8), 10, sigma=0.1, mode="absolute", dropout=0.5, widths=(), seed=3)
    a, b = network.probe(net, x), network.probe(net, x)
    assert [t.shape[1] for t in a] == [128, 64, 32, 32, 10]
    assert not np.allclose(a[0], b[0])  # noise stays on at evaluation
    net0 = network.build_network("cnn", (1, 8, 8), 10, sigma=0.0, mode="absolute", dropout=0.5, widths=(), seed=3)
    np.testing.assert_array_equal(network.probe(net0, x)[-1], network.probe(net0, x)[-1])  # dropout off at eval
    again = network.build_network("cnn", (1, 8, 8), 10, sigma=0.1, mode="absolute", dropout=0.5, widths=(), seed=3)
    np.testing.assert_array_equal(network.probe(again, x)[2], a[2])  # same seed, same draws
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], np_state)


# ---- the sanity checks of the issue on a small training run ------------------------------------------

def test_rows_and_columns(trained):
    rows = trained.rows
    assert set(infoplane.COLUMNS) <= set(rows.columns)
    assert sorted(rows["epoch"].unique()) == [0, 30]
    assert rows["error"].isna().all()
    assert np.isfinite(rows[["i_xl", "i_xl_err", "i_ly", "i_ly_err"]].to_numpy()).all()
    assert rows[rows["estimator"] == "wkl"]["label_rule"].eq("entropy").all()
    assert rows[rows["estimator"] == "ksg"]["label_rule"].eq("onehot").all()
    assert rows["test_acc"].iloc[-1] > 0.8


def test_label_information_below_label_entropy(trained):
    r = trained.rows
    assert (r["i_ly"] <= r["label_entropy"] + Z * r["i_ly_err"]).all()
    assert (r["label_entropy"] <= LOG10 + 1e-12).all()


def test_last_layer_label_information_matches_accuracy(trained):
    """After training, I(output; Y) lies between the Fano bound of the test accuracy and H(Y)."""
    r = trained.rows
    last = r[(r["epoch"] == r["epoch"].max()) & (r["layer"] == "output")]
    for _, row in last.iterrows():
        assert row["fano_bound"] > 1.3  # the bound is informative (accuracy > 0.8)
        assert row["fano_bound"] - Z * row["i_ly_err"] <= row["i_ly"] <= row["label_entropy"] + Z * row["i_ly_err"]


def test_data_processing_along_layers(trained):
    r = trained.rows
    for (_, _), g in r.groupby(["estimator", "epoch"]):
        g = g.sort_values("layer_index")
        v, e = g["i_xl"].to_numpy(), g["i_xl_err"].to_numpy()
        assert np.all(v[1:] <= v[:-1] + Z * np.hypot(e[1:], e[:-1]))


def test_large_noise_destroys_input_information(trained, store_path):
    """Absolute noise of std 100 at every layer's input (activations are of order 1): I(X; L) -> 0.

    Every estimate is within Z bars of 0 (the validation's zero level sets the bar there), and the
    mean over layers and epochs is within one bar."""
    loud = infoplane.run(["wkl", "ksg"], small_digits(), sigma=100.0, noise="absolute", store=store_path, **TINY)
    r = loud.rows
    assert (r["i_xl"].abs() <= Z * r["i_xl_err"]).all()
    for est, g in r.groupby("estimator"):
        assert abs(g["i_xl"].mean()) <= g["i_xl_err"].mean(), est
        quiet = trained.rows[trained.rows["estimator"] == est]
        assert g["i_xl"].mean() < quiet["i_xl"].mean() - 1.0, est


def test_store_rows_and_validation_reuse(trained, store_path):
    with Store(store_path) as db:
        rows = db.read_table(infoplane.TABLE)
        val = db.read_table(infoplane.VALIDATION_TABLE)
    mine = rows[rows["run_id"] == trained.config["run_id"]]
    assert len(mine) == len(trained.rows)
    assert set(val["validation_id"]) == {trained.config["validation_id"]}
    assert len(val) == len(trained.validation)
    # the large-noise run had the same validation configuration: its cells were reused, not added
    assert val["estimator"].value_counts().to_dict() == {"wkl": len(val) // 2, "ksg": len(val) // 2}


def test_report_section_from_a_result(trained):
    html = infoplane.report_section(trained)
    assert html.count("data:image/png;base64,") == 2 and "labelled-rect-16-10" in html
    assert html.count("<h3>") == 1 and "wkl, ksg" in html


def test_same_seed_same_rows(one_torch_thread):
    data = small_digits(20)
    kw = dict(epochs=2, eval_every=1, validation_seeds=0)
    a, b = infoplane.run("ksg", data, **kw).rows, infoplane.run("ksg", data, **kw).rows
    pd.testing.assert_frame_equal(a, b)
    assert a["i_xl_err"].isna().all()  # no validation, no error bars


def test_failing_estimator_becomes_error_rows(one_torch_thread, toy_estimators):
    r = infoplane.run("raising", small_digits(20), epochs=1, validation_seeds=0).rows
    assert r["i_xl"].isna().all() and r["error"].str.contains("boom|Error").all()


def test_autoencoder_compression(one_torch_thread):
    """compression=ae: X, every layer and the validation images go through the ae estimator's MLP
    autoencoder (trained on the training rows); codes have dim columns."""
    x, labels = small_digits(20)
    codes = measure.compress(x, np.arange(100), np.arange(100, 200), method="ae", dim=2, seed=0, ae_steps=20)
    assert codes.shape == (100, 2) and np.isfinite(codes).all()
    res = infoplane.run("ksg", (x, labels), epochs=1, compression="ae", dim=2, ae_steps=20, validation_seeds=1)
    assert res.rows["code_dim"].tolist() == [2] * 10 and res.rows["error"].isna().all()
    # codes of dimension 2 are validated on the bumps (latent dimension 2), not the rectangles
    assert {"image-gauss-16-1.0", "labelled-gauss-16-10-2"} <= set(res.validation["task_id"])
    assert not any("rect" in t for t in res.validation["task_id"])
    assert np.isfinite(res.rows["i_xl_err"]).all()


@pytest.mark.parametrize("data, kw, match", [
    ((np.zeros((30, 8, 8)), np.zeros(30)), {}, "single class"),
    ((np.zeros((30, 5)), np.arange(30) % 2), {"architecture": "cnn"}, "needs images"),
    ((np.zeros((30, 5)), np.arange(29) % 2), {}, "one label per row"),
    ((np.full((30, 5), np.nan), np.arange(30) % 2), {}, "NaN"),
    (None, {"epochs": -1}, "epochs"),
    (None, {"compression": "zip"}, "compression"),
    (None, {"sigma": -1.0}, "sigma"),
])
def test_bad_input(data, kw, match):
    with pytest.raises(MibenchError, match=match):
        infoplane.run("ksg", data, **kw)


# ---- CLI and report ------------------------------------------------------------------------------------

def _args(*argv):
    p = argparse.ArgumentParser()
    infoplane.add_arguments(p)
    return p.parse_args(list(argv))


def test_cli_writes_csv_figures_and_store(tmp_path, one_torch_thread, capsys):
    x, labels = small_digits(20)
    np.savez(tmp_path / "d.npz", x=x, labels=labels)
    out, store = tmp_path / "out", tmp_path / "s.sqlite"
    code = infoplane.main(_args("--estimator", "ksg", "--data", str(tmp_path / "d.npz"), "--epochs", "2",
                                "--validation-seeds", "1", "--out", str(out), "--store", str(store), "--quiet"))
    assert code == 0
    printed = capsys.readouterr().out
    assert "validation on images with known MI" in printed and "output" in printed
    csv = pd.read_csv(out / "infoplane.csv")
    assert {"epoch", "layer", "i_xl", "i_xl_err", "i_ly", "i_ly_err", "train_acc", "test_acc"} <= set(csv.columns)
    for stem in ("infoplane", "infoplane_curves", "infoplane_validation"):
        assert (out / f"{stem}.png").stat().st_size > 10_000 and (out / f"{stem}.svg").is_file()
    assert len(pd.read_csv(out / "infoplane_validation.csv"))
    html = infoplane.report_section(store)
    assert "<h2>Information plane</h2>" in html and html.count("data:image/png;base64,") == 2
    # the validation summary (one row per level, named by family), not the cells of each task and seed
    assert "labelled-rect-16-10" in html and "labelled-rect-16-10-2.5" not in html


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert infoplane.main(_args("--epochs", "-1", "--quiet")) == 2
    assert capsys.readouterr().err.strip() == "mibench: error: infoplane: epochs must be an integer >= 0, got -1"
    (tmp_path / "bad.npz").write_text("not a zip")
    assert infoplane.main(_args("--data", str(tmp_path / "bad.npz"), "--quiet")) == 2
    assert capsys.readouterr().err.startswith("mibench: error: cannot read")
    assert infoplane.main(_args("--estimator", "nope", "--epochs", "0", "--quiet")) == 2
    assert "unknown estimator 'nope'" in capsys.readouterr().err


def test_experiment_object_preset_and_report(tmp_path, one_torch_thread, monkeypatch):
    exp = infoplane.EXPERIMENT
    assert (exp.name, exp.table) == ("infoplane", "infoplane")
    with pytest.raises(MibenchError, match="unknown key"):
        exp.parse_preset({"epoch": 3}, "[infoplane]")
    with pytest.raises(MibenchError, match="estimators must be a list"):
        exp.parse_preset({"estimators": "ksg"}, "[infoplane]")
    with pytest.raises(MibenchError, match="sigma"):
        exp.parse_preset({"sigma": "big"}, "[infoplane]")
    store = tmp_path / "s.sqlite"
    cfg = {"estimators": ["ksg"], "epochs": 1, "validation_seeds": 0}
    exp.run_preset(cfg, str(store))
    with Store(store) as db:
        first = db.read_table(infoplane.TABLE)
    assert len(first) == 10  # epochs 0 and 1, five layers
    monkeypatch.setattr(infoplane.experiment, "run", lambda *a, **k: pytest.fail("ran again"))
    exp.run_preset(cfg, str(store))  # already stored: nothing runs
    with Store(store) as db:
        html = exp.report_section(db, tmp_path / "figs")
        assert exp.report_section(db, tmp_path / "figs", rows=pd.DataFrame()) is None
    assert "<h2>Information plane</h2>" in html
    assert len(list((tmp_path / "figs").glob("infoplane_*_plane.png"))) == 1


def test_report_section_without_rows(tmp_path):
    Store(tmp_path / "empty.sqlite").close()
    assert infoplane.report_section(tmp_path / "empty.sqlite") == ""
    assert infoplane.report_section(pd.DataFrame()) == ""
    with pytest.raises(TypeError):
        infoplane.report_section(3)


# ---- the default configuration -----------------------------------------------------------------------

@pytest.mark.slow
def test_default_configuration(one_torch_thread, tmp_path):
    res = infoplane.run(out=tmp_path)
    r = res.rows
    assert r["error"].isna().all()
    assert (r["i_ly"] <= r["label_entropy"] + Z * r["i_ly_err"]).all()
    last = r[(r["epoch"] == r["epoch"].max()) & (r["layer"] == "output")].iloc[0]
    assert last["test_acc"] > 0.9
    assert last["fano_bound"] - Z * last["i_ly_err"] <= last["i_ly"] <= last["label_entropy"] + Z * last["i_ly_err"]
    for _, g in r.groupby("epoch"):
        v, e = g.sort_values("layer_index")[["i_xl", "i_xl_err"]].to_numpy().T
        assert np.all(v[1:] <= v[:-1] + Z * np.hypot(e[1:], e[:-1]))
    assert (tmp_path / "infoplane.png").is_file()
