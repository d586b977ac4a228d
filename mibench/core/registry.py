"""Discovery of estimators, task suites and experiments.

Entry points are the one discovery mechanism (group ``mibench.estimators``: name -> factory or
``Alias``; group ``mibench.tasks``: suite name -> callable returning tasks; group
``mibench.experiments``: name -> experiment object); the built-ins use them too.
``register_estimator`` / ``register_suite`` add to the same tables from Python (notebooks,
tests) and take precedence over entry points of the same name; ``registered(...)`` does so for
the duration of a ``with`` block. A plug-in that fails to import is recorded with its error and
does not affect the others.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from mibench.core.errors import MibenchError
from mibench.core.params import shown
from mibench.core.spec import Spec, parse_spec
from mibench.core.task import Task

ESTIMATOR_GROUP = "mibench.estimators"
TASK_GROUP = "mibench.tasks"
EXPERIMENT_GROUP = "mibench.experiments"


@dataclass(frozen=True)
class Alias:
    """An estimator name that stands for another (``cca`` -> ``gaussian``): specs naming the alias
    are canonicalised to the target, so results of both land in one leaderboard row."""

    target: str


@dataclass
class Plugin:
    name: str
    source: str  # distribution that provides it, or "python" for register_* calls
    target: Any = None  # factory (estimators) or tasks-callable/list (suites); None if broken
    entry_point: metadata.EntryPoint | None = None
    error: str | None = None

    def load(self):
        if self.target is None and self.error is None and self.entry_point is not None:
            try:
                self.target = self.entry_point.load()
            except Exception as exc:  # a broken plug-in must not break the others
                self.error = f"{type(exc).__name__}: {exc}"
        if self.error is not None:
            raise MibenchError(
                f"plug-in {self.name!r} from {self.source} failed to load: {self.error}"
            )
        return self.target


class _Table:
    def __init__(self, group: str, kind: str) -> None:
        self.group, self.kind = group, kind
        self._user: dict[str, Plugin] = {}
        self._eps: dict[str, Plugin] | None = None

    def _entry_points(self) -> dict[str, Plugin]:
        if self._eps is None:
            self._eps = {}
            for ep in metadata.entry_points(group=self.group):
                dist = getattr(ep, "dist", None)
                source = f"{dist.name} {dist.version}" if dist is not None else ep.value
                self._eps.setdefault(ep.name, Plugin(ep.name, source, entry_point=ep))
        return self._eps

    def all(self) -> dict[str, Plugin]:
        return {**self._entry_points(), **self._user}

    def register(self, name: str, target: Any) -> None:
        self._user[name] = Plugin(name, "python", target=target)

    def unregister(self, name: str, previous: Plugin | None) -> None:
        if previous is None:
            self._user.pop(name, None)
        else:
            self._user[name] = previous

    def get(self, name: str) -> Plugin:
        plugins = self.all()
        if name not in plugins:
            known = ", ".join(sorted(plugins)) or "none"
            raise MibenchError(f"unknown {self.kind} {shown(name)} (registered: {known})")
        return plugins[name]

    def refresh(self) -> None:
        self._eps = None

    def loaded(self) -> list[Plugin]:
        """Every plug-in, loaded (a broken one carries its error), sorted by name."""
        for plugin in self.all().values():
            try:
                plugin.load()
            except MibenchError:
                pass
        return sorted(self.all().values(), key=lambda p: p.name)


_estimators = _Table(ESTIMATOR_GROUP, "estimator")
_suites = _Table(TASK_GROUP, "suite")
_experiments = _Table(EXPERIMENT_GROUP, "experiment")
_suite_cache: dict[str, list[Task]] = {}


def refresh() -> None:
    """Forget cached entry points (after installing a plug-in into a running interpreter)."""
    _estimators.refresh()
    _suites.refresh()
    _experiments.refresh()
    _suite_cache.clear()


@contextlib.contextmanager
def registered(estimators: dict[str, Callable[..., Any]] | None = None,
               suites: dict[str, Iterable[Task] | Callable[[], Iterable[Task]]] | None = None) -> Iterator[None]:
    """Register estimators and suites for the duration of a ``with`` block (tests, notebooks);
    what they shadowed is restored afterwards."""
    saved_e = {name: _estimators._user.get(name) for name in estimators or {}}
    saved_s = {name: _suites._user.get(name) for name in suites or {}}
    try:
        for name, factory in (estimators or {}).items():
            register_estimator(name, factory)
        for name, tasks in (suites or {}).items():
            register_suite(name, tasks)
        yield
    finally:
        for name, previous in saved_e.items():
            _estimators.unregister(name, previous)
        for name, previous in saved_s.items():
            _suites.unregister(name, previous)
            _forget_suite(name)


# ---- estimators ---------------------------------------------------------------------------

def register_estimator(name: str, factory: Callable[..., Any]) -> None:
    """Register ``factory`` under ``name``: called with a spec's parameters it returns an estimator
    (an object with ``estimate(x, y) -> float`` or a plain function ``f(x, y) -> float``)."""
    parse_spec(name)  # the name must be a valid spec name
    if ":" in name or not (callable(factory) or isinstance(factory, Alias)):
        raise MibenchError(f"register_estimator({name!r}, ...): need a plain name and a callable factory")
    _estimators.register(name, factory)


def list_estimators() -> list[str]:
    """Names of every registered estimator (entry points and ``register_estimator``)."""
    return sorted(_estimators.all())


def estimator_plugins() -> list[Plugin]:
    """Every registered estimator with its source, loaded; broken ones carry their error."""
    return _estimators.loaded()


def resolve_estimator(spec: str | Spec) -> tuple[Spec, Callable[..., Any], Plugin]:
    """Parse a spec, resolve aliases (the returned spec is canonical: the target's name, keys
    sorted) and find its factory, checking parameter names against the factory's signature (so
    an unknown parameter is reported before anything runs)."""
    spec = spec if isinstance(spec, Spec) else parse_spec(spec)
    seen = [spec.name]
    plugin = _estimators.get(spec.name)
    factory = plugin.load()
    while isinstance(factory, Alias):
        if factory.target in seen:
            raise MibenchError(f"estimator alias loop: {' -> '.join([*seen, factory.target])}")
        seen.append(factory.target)
        spec = Spec(factory.target, spec.params)
        plugin = _estimators.get(spec.name)
        factory = plugin.load()
    _check_params(spec, factory)
    return spec, factory, plugin


def canonical_spec(spec: str | Spec) -> Spec:
    """The spec that labels results: aliases resolved, keys sorted (``Spec.text``)."""
    return resolve_estimator(spec)[0]


def estimator_alias(name: str) -> str | None:
    """The target name when ``name`` is an alias, else None."""
    try:
        target = _estimators.get(name).load()
    except MibenchError:
        return None
    return target.target if isinstance(target, Alias) else None


def build_estimator(spec: Spec, factory: Callable[..., Any]):
    """Call the factory with the spec's parameters; a bad value becomes a MibenchError."""
    if not spec.params and not _takes_arguments(factory):
        return factory  # a plain function f(x, y) is its own estimator
    try:
        return factory(**spec.params)
    except (TypeError, ValueError) as exc:
        raise MibenchError(f"estimator spec {shown(spec.text)}: {exc}") from None


def get_estimator(spec: str | Spec):
    """The estimator object a spec describes, e.g. ``get_estimator("ksg:k=5")``."""
    spec, factory, _ = resolve_estimator(spec)
    return build_estimator(spec, factory)


# ---- experiments ----------------------------------------------------------------------------

def list_experiments() -> list[str]:
    """Names of every registered experiment (``mibench.experiments`` entry points)."""
    return sorted(_experiments.all())


def get_experiment(name: str):
    """The experiment object registered as ``name`` (see ``mibench.core.experiment.Experiment``)."""
    return _experiments.get(name).load()


def experiment_plugins() -> list[Plugin]:
    """Every registered experiment with its source, loaded; broken ones carry their error."""
    return _experiments.loaded()


def _check_params(spec: Spec, factory) -> None:
    if not spec.params:
        return
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return  # cannot introspect (e.g. a C callable): let the call itself complain
    params = sig.parameters.values()
    if any(p.kind == p.VAR_KEYWORD for p in params):
        return
    accepted = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    unknown = [k for k in spec.params if k not in accepted]
    if unknown:
        raise MibenchError(
            f"estimator {spec.name!r} has no parameter {unknown[0]!r} "
            f"(accepted: {', '.join(accepted) or 'none'})"
        )


def _takes_arguments(factory) -> bool:
    """A plain estimator function has two required positional parameters (x, y)."""
    if inspect.isclass(factory):
        return True
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return True
    required = [
        p for p in sig.parameters.values()
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return len(required) != 2


# ---- tasks and suites ---------------------------------------------------------------------

def register_suite(name: str, tasks: Iterable[Task] | Callable[[], Iterable[Task]]) -> None:
    """Register a suite: a list of tasks, or a callable returning them (called lazily)."""
    if not isinstance(name, str) or not name:
        raise MibenchError("register_suite: the suite name must be a non-empty string")
    if not callable(tasks):
        tasks = list(tasks)
        _check_tasks(name, tasks)
    _suites.register(name, tasks)
    _forget_suite(name)


def _forget_suite(name: str) -> None:
    """Drop the cached tasks of suite ``name`` and of its parameterised forms ``name:argument``."""
    for key in [k for k in _suite_cache if k.partition(":")[0] == name]:
        del _suite_cache[key]


def list_suites() -> list[str]:
    return sorted(_suites.all())


def suite_plugins() -> list[Plugin]:
    out = []
    for plugin in _suites.all().values():
        try:
            suite_tasks(plugin.name)
        except MibenchError:
            pass
        out.append(plugin)
    return sorted(out, key=lambda p: p.name)


def suite_tasks(name: str) -> list[Task]:
    """The tasks of suite ``name``; ``base:argument`` calls a parameterised suite's callable with the
    argument string (e.g. ``random:1000``). A bad argument raises the suite's own MibenchError."""
    if name not in _suite_cache:
        base, sep, argument = name.partition(":")
        plugin = _suites.get(base)
        target = plugin.load()
        if sep:
            if not _takes_suite_argument(target):
                raise MibenchError(f"suite {base!r} takes no argument (got {name!r})")
            tasks = list(target(argument))
            _check_tasks(name, tasks)
        else:
            try:
                tasks = list(target() if callable(target) else target)
                _check_tasks(name, tasks)
            except Exception as exc:
                plugin.error = f"{type(exc).__name__}: {exc}"
                raise MibenchError(f"suite {name!r} from {plugin.source} failed to load: {plugin.error}") from exc
        _suite_cache[name] = tasks
    return list(_suite_cache[name])


def _takes_suite_argument(target) -> bool:
    if not callable(target):
        return False
    try:
        params = list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError):
        return False
    return bool(params) and params[0].kind in (params[0].POSITIONAL_ONLY, params[0].POSITIONAL_OR_KEYWORD)


def list_tasks(suite: str | None = None) -> list[Task]:
    """Tasks of one suite, or of every suite (each id once, first suite wins; broken suites skipped)."""
    if suite is not None:
        return suite_tasks(suite)
    seen: dict[str, Task] = {}
    for name in list_suites():
        try:
            tasks = suite_tasks(name)
        except MibenchError:
            continue
        for t in tasks:
            seen.setdefault(t.id, t)
    return list(seen.values())


def get_task(task_id: str) -> Task:
    """The task with this id: first asked of every suite callable with a ``resolve(task_id)`` hook
    (for generated suites whose ids are not all listed, e.g. ``random-123``), then searched in the
    listed suites."""
    for plugin in _suites.all().values():
        try:
            resolve = getattr(plugin.load(), "resolve", None)
        except MibenchError:
            continue
        task = resolve(task_id) if callable(resolve) else None
        if task is not None:
            return task
    for t in list_tasks():
        if t.id == task_id:
            return t
    raise MibenchError(f"unknown task {shown(task_id)} (see `mibench list tasks`)")


def _check_tasks(suite: str, tasks: list) -> None:
    ids = set()
    for t in tasks:
        if not isinstance(t, Task):
            raise MibenchError(f"suite {suite!r}: {t!r} is not a mibench.Task")
        if t.id in ids:
            raise MibenchError(f"suite {suite!r}: task id {t.id!r} appears twice")
        ids.add(t.id)
