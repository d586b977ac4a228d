"""Registry: parameterised suites (``name:argument``) and ``resolve(task_id)`` hooks, with a toy plug-in;
ids of the new built-in suites are unique across all suites."""

import numpy as np
import pytest

import mibench


def _noise(n, rng):
    return rng.standard_normal((n, 1)), rng.standard_normal((n, 1))


def _toy(i):
    return mibench.Task(f"toy-{i}", family="toy", sampler=_noise, mutual_information=0.0, dim_x=1, dim_y=1)


def toy_suite(argument=None):
    return [_toy(i) for i in range(3 if argument is None else int(argument))]


def _toy_resolve(task_id):
    prefix, _, rest = task_id.partition("-")
    return _toy(int(rest)) if prefix == "toy" and rest.isdigit() else None


toy_suite.resolve = _toy_resolve


def listed_only():
    return [_toy(99)]


@pytest.fixture
def toy():
    with mibench.registered(suites={"toy": toy_suite, "plain": listed_only}):
        yield


def test_parameterised_suite_and_resolve_hook(toy):
    assert [t.id for t in mibench.list_tasks("toy")] == ["toy-0", "toy-1", "toy-2"]
    assert [t.id for t in mibench.list_tasks("toy:5")][-1] == "toy-4"
    assert mibench.get_task("toy-12345").id == "toy-12345"  # not listed anywhere: resolved
    assert mibench.get_task("toy-99").id == "toy-99"
    with pytest.raises(mibench.MibenchError, match="takes no argument"):
        mibench.list_tasks("plain:2")
    x, _ = mibench.get_task("toy-7").sample(5, 0)
    assert np.array_equal(x, mibench.get_task("toy-7").sample(5, 0)[0])


def test_new_suite_ids_are_unique_across_suites():
    new = {"digits": mibench.list_tasks("digits"), "mixed": mibench.list_tasks("mixed"),
           "random": mibench.list_tasks("random:300")}
    others = {t.id for s in mibench.list_suites() if s not in new for t in mibench.list_tasks(s)}
    ids = [t.id for tasks in new.values() for t in tasks]
    assert len(ids) == len(set(ids)) == 36 + 18 + 300
    assert not set(ids) & others
