"""The Estimator base class: one declarative parameter table, checked in one place."""

import inspect

import pytest

import mibench
from mibench import Bool, Choice, Estimator, Float, Int


class Toy(Estimator):
    PARAMS = {
        "k": Int(5, "neighbours", min=1),
        "metric": Choice("euclidean", ("euclidean", "chebyshev")),
        "scale": Float(1.0, min=0, min_open=True),
        "fast": Bool(False),
        "width": Int(None, min=1, optional=True),
        "seed": mibench.SEED,
    }

    def _resolve(self, values):
        return {**values, "width": values["width"] if values["width"] is not None else 8 * values["k"]}

    def _check(self, values):
        if values["fast"] and values["metric"] == "chebyshev":
            raise ValueError("fast=true needs the euclidean metric")

    def estimate_with_info(self, x, y):
        return 0.0, {}


def test_signature_defaults_and_get_params():
    assert str(inspect.signature(Toy)) == "(*, k=5, metric='euclidean', scale=1.0, fast=False, width=None, seed=0)"
    est = Toy(k=3)
    assert est.get_params() == {"k": 3, "metric": "euclidean", "scale": 1.0, "fast": False, "width": 24, "seed": 0}
    assert repr(est).startswith("Toy(k=3, metric='euclidean'")


def test_set_params_revalidates_and_re_resolves_derived_values():
    est = Toy(k=3)
    assert est.set_params(k=4) is est and est.width == 32  # derived from the new k
    est.set_params(width=7)
    assert est.width == 7 and est.set_params(k=2).width == 7  # an explicit value stays explicit
    with pytest.raises(ValueError, match="k must be a positive integer, got 0"):
        est.set_params(k=0)
    with pytest.raises(ValueError, match="Toy has no parameter 'kk'"):
        est.set_params(kk=1)


@pytest.mark.parametrize("kwargs, message", [
    ({"k": 2.0}, "integer literal"),
    ({"k": True}, "k must be a positive integer"),
    ({"metric": "manhattan"}, "metric must be one of euclidean, chebyshev, got 'manhattan'"),
    ({"scale": 0}, "scale must be a number in (0, inf)"),
    ({"scale": float("nan")}, "scale must be a number"),
    ({"fast": "yes"}, "fast must be true or false"),
    ({"seed": -1}, "seed must be a non-negative integer below 2**63"),
    ({"fast": True, "metric": "chebyshev"}, "fast=true needs the euclidean metric"),
])
def test_every_bad_value_gets_one_message_shape(kwargs, message):
    with pytest.raises(ValueError) as exc:
        Toy(**kwargs)
    assert message in str(exc.value)


def test_registry_rejects_unknown_parameters_from_the_table():
    with mibench.registered({"toy": Toy}):
        with pytest.raises(mibench.MibenchError, match="no parameter 'kk'"):
            mibench.get_estimator("toy:kk=1")
        assert mibench.get_estimator("toy:k=2").get_params()["width"] == 16


def test_handwritten_constructor_still_works():
    class Legacy(Estimator):
        def __init__(self, alpha=1):
            self.alpha = alpha

        def estimate_with_info(self, x, y):
            return 0.0, {}

    assert Legacy(alpha=3).get_params() == {"alpha": 3}
    assert "alpha" in str(inspect.signature(Legacy))


def test_every_builtin_estimator_round_trips_its_params(tmp_path, monkeypatch):
    # external needs a table of its configuration file (docs/external.md)
    (tmp_path / "ext.toml").write_text('[x]\ncommand = ["python", "est.py", "{input}"]\n')
    monkeypatch.setenv("MIBENCH_EXTERNAL", str(tmp_path / "ext.toml"))
    for name in mibench.list_estimators():
        est = mibench.get_estimator("external:name=x" if name == "external" else name)
        if isinstance(est, Estimator):
            params = est.get_params()
            assert type(est)(**params).get_params() == params, name


def test_alias_is_canonicalised_to_its_target(tmp_path):
    assert mibench.canonical_spec("cca").text == "gaussian"
    rows = mibench.run(["1v1-normal-0.75"], estimators=["cca", "gaussian"], n=[200], seeds=1,
                       store=tmp_path / "s.sqlite", progress=False)
    assert rows.estimator.tolist() == ["gaussian"]  # one row, not two that split the leaderboard
