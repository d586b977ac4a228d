import pytest

import mibench
from mibench import MibenchError
from mibench.core.spec import parse_spec


def test_parse_values_and_canonical_text():
    s = parse_spec("ksg:metric=chebyshev,k=5,standardize=false,scale=0.5")
    assert s.name == "ksg"
    assert s.params == {"k": 5, "metric": "chebyshev", "standardize": False, "scale": 0.5}
    assert type(s.params["k"]) is int and type(s.params["scale"]) is float
    assert s.text == "ksg:k=5,metric=chebyshev,scale=0.5,standardize=false"
    assert parse_spec("infonce:hidden=256-256").params == {"hidden": "256-256"}
    assert parse_spec("gaussian").text == "gaussian"


@pytest.mark.parametrize("bad", ["", ":k=5", "ksg:", "ksg:k", "ksg:k=", "ksg:=5", "ksg:k=1,k=2", "k sg", "ksg:k=1,,"])
def test_malformed_specs_are_rejected(bad):
    with pytest.raises(MibenchError, match="malformed estimator spec"):
        parse_spec(bad)


def test_unknown_names_and_parameters():
    with pytest.raises(MibenchError, match="unknown estimator 'nope'"):
        mibench.get_estimator("nope")
    with pytest.raises(MibenchError, match="no parameter 'kk'.*accepted: k, metric"):
        mibench.get_estimator("ksg:kk=3")
    with pytest.raises(MibenchError, match="k must be a positive integer"):
        mibench.get_estimator("ksg:k=abc")
    with pytest.raises(MibenchError, match="metric must be one of"):
        mibench.get_estimator("ksg:metric=manhattan")
    with pytest.raises(MibenchError, match="unknown task 'no-such-task'"):
        mibench.get_task("no-such-task")
    with pytest.raises(MibenchError, match="unknown suite 'nosuite'"):
        mibench.list_tasks("nosuite")


def test_factories_functions_and_classes():
    est = mibench.get_estimator("ksg:k=7,metric=chebyshev")
    params = est.get_params()
    assert {k: params[k] for k in ("k", "metric", "standardize", "clip")} == {
        "k": 7, "metric": "chebyshev", "standardize": True, "clip": False}
    assert mibench.get_estimator("cca").__class__ is mibench.get_estimator("gaussian").__class__

    def plain(x, y):
        return 0.0

    with mibench.registered({"plain_fn_test": plain}):
        assert mibench.get_estimator("plain_fn_test") is plain
    assert "plain_fn_test" not in mibench.list_estimators()


def test_register_suite_and_duplicate_ids():
    t = mibench.get_task("1v1-normal-0.75")
    with mibench.registered(suites={"tmp_suite_test": [t]}):
        assert "tmp_suite_test" in mibench.list_suites()
        assert [x.id for x in mibench.list_tasks("tmp_suite_test")] == ["1v1-normal-0.75"]
        with pytest.raises(MibenchError, match="appears twice"):
            mibench.register_suite("tmp_suite_dup", [t, t])
    assert "tmp_suite_test" not in mibench.list_suites()
