"""``external``: an estimator that runs as a command in its own environment (docs/external.md).

Spec ``external:name=NAME``. The command is configured in a TOML file: the file named by the
environment variable ``MIBENCH_EXTERNAL``, else ``mibench-external.toml`` in the working directory.
One table per name::

    [bmi-ksg]
    command = ["/work/bmivenv/bin/python", "tools/external/bmi_estimator.py",
               "KSGEnsembleFirstEstimator", "{input}", "neighborhoods=(5,)"]
    format = "npz"      # optional: "npz" (default) or "csv"
    timeout = 600       # optional, seconds (default: none; the harness's cell timeout still applies)
    description = "BMI's KSG"   # optional, shown by `mibench list estimators`

mibench writes the samples to a temporary file, replaces ``{input}`` in every element of
``command`` by its path, runs the command without a shell (working directory: the TOML file's
directory, so relative paths in the file are relative to it), and reads the estimate from its
standard output: one number, or a JSON object ``{"estimate": <number>, "info": {...}}`` (the whole
output, or else its last non-empty line, so that a library's chatter before it does no harm).
Formats: ``npz`` has float64 arrays ``x`` (n, d_x) and ``y`` (n, d_y); ``csv`` has a header
``x1,...,x<d_x>,y1,...,y<d_y>`` and one row per sample (17 significant digits, so floats round-trip).
A timeout, a non-zero exit (with the tail of its standard error), output that is not an estimate,
or a command that cannot start raises ``ExternalEstimatorError`` (the harness records a failed row
with the reason); the temporary file is always removed. The command and its children run in their
own process group, killed on a timeout, and (on Linux) die with the worker that started them.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import signal
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import numpy as np

from mibench import Estimator, EstimatorFailure, Param, validate_xy

CONFIG_NAME = "mibench-external.toml"
ENV_VAR = "MIBENCH_EXTERNAL"
FORMATS = ("npz", "csv")
KEYS = ("command", "format", "timeout", "description")
TAIL_CHARS = 1000


class ExternalEstimatorError(EstimatorFailure):
    """The external command timed out, failed, or printed something that is not an estimate."""


def config_path() -> Path:
    """The configuration file: ``$MIBENCH_EXTERNAL`` if set, else ``./mibench-external.toml``."""
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else Path.cwd() / CONFIG_NAME


def load_config(path: str | os.PathLike | None = None) -> dict[str, dict[str, Any]]:
    """Every table of the configuration file, validated: name -> {command, format, timeout, description}.

    Raises ValueError naming the file for a missing or unreadable file, malformed TOML, or a table
    with a bad or unknown key.
    """
    path = Path(path) if path is not None else config_path()
    from_env = bool(os.environ.get(ENV_VAR)) and Path(os.environ[ENV_VAR]) == path
    where = f"{path}" + (f" (named by ${ENV_VAR})" if from_env else "")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"external estimators: no configuration file {where} (create it, or set ${ENV_VAR} "
                         "to its path; see docs/external.md)") from None
    except OSError as exc:
        raise ValueError(f"external estimators: cannot read {where}: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"external estimators: {where} is not valid TOML: {exc}") from None
    return {name: _check_table(path, name, table) for name, table in data.items()}


def _check_table(path: Path, name: str, table) -> dict[str, Any]:
    def bad(msg: str) -> ValueError:
        return ValueError(f"external estimators: {path}, table [{name}]: {msg}")

    if not isinstance(table, dict):
        raise bad("expected a table with a command, e.g. [name] command = [\"python\", \"est.py\", \"{input}\"]")
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise bad(f"unknown key {unknown[0]!r} (allowed: {', '.join(KEYS)})")
    command = table.get("command")
    if not isinstance(command, list) or not command or not all(isinstance(c, str) and c for c in command):
        raise bad(f"command must be a non-empty list of non-empty strings, got {command!r}")
    if not any("{input}" in c for c in command):
        raise bad("command never mentions {input}, the path of the sample file")
    fmt = table.get("format", "npz")
    if fmt not in FORMATS:
        raise bad(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    timeout = table.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, numbers.Real)
                                or not 0 < timeout < math.inf):
        raise bad(f"timeout must be a positive number of seconds, got {timeout!r}")
    description = table.get("description", "")
    if not isinstance(description, str):
        raise bad(f"description must be a string, got {description!r}")
    return {"command": list(command), "format": fmt, "timeout": None if timeout is None else float(timeout),
            "description": description, "directory": str(path.resolve().parent)}


def external_names(path: str | os.PathLike | None = None) -> list[str]:
    """Names configured in the file (sorted); [] when there is no ``./mibench-external.toml`` and
    ``$MIBENCH_EXTERNAL`` is unset. A file that is named but missing, or malformed, is an error."""
    if path is None and not os.environ.get(ENV_VAR) and not config_path().exists():
        return []
    return sorted(load_config(path))


def _table_name(name: str, value):
    if not isinstance(value, str) or not value:  # the spec parser made it a number or a boolean
        raise ValueError(f"external: {name} must be a table name that does not read as a number or boolean, "
                         f"got {value!r}")
    return value


class External(Estimator):
    """Runs the command configured under ``name`` (see the module doc) on each sample.

    ``get_params`` holds the name and, as ``resolved``, the command, format and timeout, so a changed
    command changes the configuration hash (a changed script behind an unchanged command does not:
    put a version in its arguments). Cost: the command's, plus writing n (d_x + d_y) floats.
    """

    PARAMS = {
        "name": Param(None, "a table of the configuration file", optional=True, check=_table_name),
        "resolved": Param(None, "set by external (the command, format and timeout read from the file, so that a "
                                "changed command changes the configuration hash); not to be given", optional=True),
    }

    def _check(self, values: dict[str, Any]) -> None:
        if values["name"] is None:
            raise ValueError("external needs name=NAME, a table of the configuration file "
                             f"(${ENV_VAR} or ./{CONFIG_NAME})")

    @classmethod
    def specs(cls) -> list[str]:
        """The specs this factory offers beyond its name (``mibench list estimators`` shows them): one
        ``external:name=NAME`` per table of the configuration file found now."""
        return [f"external:name={name}" for name in external_names()]

    def set_params(self, **params) -> External:
        super().set_params(**params)
        path = config_path()
        tables = load_config(path)
        if self.name not in tables:
            raise ValueError(f"external estimator {self.name!r} is not in {path} "
                             f"(names there: {', '.join(sorted(tables)) or 'none'})")
        self._table = tables[self.name]
        resolved = {k: self._table[k] for k in ("command", "format", "timeout")}
        if self.resolved is not None and self.resolved != resolved:  # get_params() round-trips; a spec may not set it
            raise ValueError(f"resolved is set by external from {path}, got {self.resolved!r}")
        self.resolved = resolved
        return self

    def estimate_with_info(self, x, y) -> tuple[float, dict[str, Any]]:
        x, y = validate_xy(x, y, name=f"external:{self.name}")
        t = self._table
        fd, path = tempfile.mkstemp(prefix="mibench-external-", suffix="." + t["format"])
        try:
            with os.fdopen(fd, "wb") as fh:
                write_samples(fh, x, y, t["format"])
            argv = [c.replace("{input}", path) for c in t["command"]]
            stdout = self._run(argv, t["directory"], t["timeout"])
        finally:
            os.unlink(path)
        return parse_output(stdout, self.name)

    def _run(self, argv: list[str], cwd: str, timeout: float | None) -> str:
        try:
            proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, start_new_session=True, preexec_fn=_die_with_parent)
        except OSError as exc:
            raise ExternalEstimatorError(f"external estimator {self.name!r}: cannot run {argv[0]!r}: {exc}") from None
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.communicate()
            raise ExternalEstimatorError(
                f"external estimator {self.name!r} timed out after {timeout:g} s (command {argv[0]!r})") from None
        except BaseException:  # interrupted: leave no process behind
            _kill_group(proc)
            proc.wait()
            raise
        if proc.returncode != 0:
            why = f"was killed by signal {-proc.returncode}" if proc.returncode < 0 else \
                f"exited with status {proc.returncode}"
            raise ExternalEstimatorError(f"external estimator {self.name!r} {why}; stderr: {_tail(err)}")
        return out.decode("utf-8", errors="replace")


def write_samples(fh, x: np.ndarray, y: np.ndarray, fmt: str) -> None:
    """Write (x, y) to an open binary file in ``fmt`` (``npz``: arrays x, y; ``csv``: see the module doc)."""
    if fmt == "npz":
        np.savez(fh, x=x, y=y)
        return
    header = ",".join([f"x{i + 1}" for i in range(x.shape[1])] + [f"y{i + 1}" for i in range(y.shape[1])])
    np.savetxt(fh, np.hstack([x, y]), delimiter=",", fmt="%.17g", header=header, comments="")


def parse_output(stdout: str, name: str) -> tuple[float, dict[str, Any]]:
    """(estimate, info) from the command's standard output; ExternalEstimatorError if it is not one."""
    text = stdout.strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for candidate in dict.fromkeys([text] + lines[-1:]):
        result = _parse_one(candidate)
        if result is not None:
            value, info = result
            if not math.isfinite(value):
                raise ExternalEstimatorError(f"external estimator {name!r} returned a non-finite estimate ({value})")
            return value, info
    raise ExternalEstimatorError(
        f"external estimator {name!r}: expected one number or a JSON object {{\"estimate\": ..., \"info\": {{...}}}} "
        f"on standard output, got: {_tail(stdout) or '(nothing)'}")


def _parse_one(text: str) -> tuple[float, dict[str, Any]] | None:
    try:
        return float(text), {}
    except ValueError:
        pass
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if isinstance(obj, bool):
        return None
    if isinstance(obj, numbers.Real):
        return float(obj), {}
    if not isinstance(obj, dict):
        return None
    value, info = obj.get("estimate"), obj.get("info", {})
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not isinstance(info, dict):
        return None
    return float(value), info


def _tail(data: bytes | str) -> str:
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    text = text.strip()
    return text if len(text) <= TAIL_CHARS else "..." + text[-TAIL_CHARS:]


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


if sys.platform.startswith("linux"):
    import ctypes

    _prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child must not load libraries
    _PR_SET_PDEATHSIG = 1

    def _die_with_parent() -> None:
        """In the child before exec: receive SIGKILL when the worker that started it dies."""
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
else:  # pragma: no cover
    _die_with_parent = None
