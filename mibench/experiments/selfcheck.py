"""Self-consistency tests of an MI estimator on data without known MI (Song & Ermon, "Understanding the
Limitations of Variational Mutual Information Estimators", ICLR 2020; MINDE, ICLR 2024).

The truth is never used, so the checks run on any task and on user data (an ``.npz`` file with
arrays ``x`` and ``y``). From 2n pairs (a task's sample of size 2n, or the rows of the data in a
seeded random order, n = half of them by default), with (X1, Y1) the first n and (X2, Y2) the next n,
and the reference R = I^(X1; Y1):

============== ================================= ========= =====================================
check          statistic                         expected  pass (tolerance t, default 0.1)
============== ================================= ========= =====================================
independence   I^(X1; pi Y1) / R (pi: shuffle)   0         \\|ratio\\| <= t
data_processing I^(g(X1); Y1) / R                <= 1      ratio <= 1 + t
additivity     I^((X1, X2); (Y1, Y2)) / R        2         \\|ratio / 2 - 1\\| <= t
============== ================================= ========= =====================================

g (``processing``): ``mask`` keeps the top half of the rows of an image (a crop: no constant pixels
are introduced) or the first half of the coordinates of a vector; ``noise`` adds independent Gaussian
noise of one column (pixel) standard deviation; ``auto`` is ``mask`` unless X is a single coordinate.
Both are data processing (Y -> X -> g(X) is a Markov chain), so I(g(X); Y) <= I(X; Y). Two images are
paired side by side (n, 1, h, 2w), vectors by concatenation. When R <= ``min_reference`` (0.05 nats)
ratios are undefined: the checks are reported ``undetermined`` (``passed`` is None). An estimator that
fails on some input gives a ``failed`` row with its error; the other checks still run.

``mibench selfcheck`` (the experiment object ``EXPERIMENT``, registered under ``mibench.experiments``)
prints the report and exits 0 when no determined check failed, 1 otherwise, 2 on a usage error;
``--store`` keeps the rows in the store's ``selfcheck`` table, which ``mibench report`` shows, and a
preset's ``[selfcheck]`` table (``estimators``, ``tasks``, ``n``, ``seed``, ``tolerance``,
``processing``) runs it in ``mibench bench``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import mibench
from mibench import MibenchError, Task

CHECKS = ("independence", "data_processing", "additivity")
PROCESSING = ("auto", "mask", "noise")
MIN_REFERENCE = 0.05  #: nats; below this the reference estimate cannot anchor a ratio


def selfcheck(estimator: str | list[str], *, task: str | Task | None = None,
              data: str | Path | tuple[np.ndarray, np.ndarray] | None = None, n: int | None = None,
              seed: int = 0, tolerance: float = 0.1, processing: str = "auto",
              min_reference: float = MIN_REFERENCE, checks: tuple[str, ...] = CHECKS):
    """Run the self-consistency checks for one or more estimator specs; a pandas DataFrame, one row per
    (estimator, check) plus a ``reference`` row per estimator.

    Give exactly one of ``task`` (an id or a Task: 2n pairs are drawn with ``seed``, n defaults to
    2000) and ``data`` (a path to an ``.npz`` with ``x`` and ``y``, or an (x, y) pair of arrays: rows in
    a seeded random order, n defaults to half of them). Columns: estimator, check, source, n, value (the
    estimate of the check's statistic), reference, ratio, expected, tolerance, status (``ok`` /
    ``undetermined`` / ``failed``), passed, seconds, error.
    """
    import pandas as pd

    specs = [estimator] if isinstance(estimator, str) else list(estimator)
    if not specs:
        raise MibenchError("selfcheck: give at least one estimator spec")
    for spec in specs:
        mibench.get_estimator(spec)  # a bad spec fails now, before any estimate
    unknown = [c for c in checks if c not in CHECKS]
    if unknown:
        raise MibenchError(f"selfcheck: unknown check {unknown[0]!r} (known: {', '.join(CHECKS)})")
    if processing not in PROCESSING:
        raise MibenchError(f"selfcheck: processing must be one of {', '.join(PROCESSING)}, got {processing!r}")
    if not (isinstance(tolerance, (int, float)) and 0 < tolerance < 1):
        raise MibenchError(f"selfcheck: tolerance must be a number in (0, 1), got {tolerance!r}")
    (x1, y1), (x2, y2), source = _halves(task, data, n, seed)
    rng = np.random.default_rng([seed, 1])
    inputs = {
        "reference": (x1, y1),
        "independence": (x1, y1[rng.permutation(len(y1))]),
        "data_processing": (_process(x1, processing, rng), y1),
        "additivity": (_pair(x1, x2), _pair(y1, y2)),
    }
    rows = []
    for spec in specs:
        ref_value, ref_row = _run(spec, *inputs["reference"])
        rows.append({"estimator": spec, "check": "reference", **ref_row})
        for check in checks:
            value, row = _run(spec, *inputs[check])
            rows.append({"estimator": spec, "check": check, **row,
                         **_judge(check, value, ref_value, tolerance, min_reference)})
    df = pd.DataFrame(rows)
    df.insert(2, "source", source)
    df.insert(3, "n", len(x1))
    df.insert(4, "seed", seed)
    df["reference"] = df["estimator"].map({r["estimator"]: r["value"] for r in rows if r["check"] == "reference"})
    cols = ["estimator", "check", "source", "n", "seed", "value", "reference", "ratio", "expected", "tolerance",
            "status", "passed", "seconds", "error"]
    return df.reindex(columns=cols)


def _halves(task, data, n, seed):
    """((X1, Y1), (X2, Y2), source label) of n pairs each."""
    if (task is None) == (data is None):
        raise MibenchError("selfcheck: give exactly one of task and data")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 2):
        raise MibenchError(f"selfcheck: n must be an integer >= 2, got {n!r}")
    if task is not None:
        t = task if isinstance(task, Task) else mibench.get_task(task)
        n = 2000 if n is None else n
        x, y = t.sample(2 * n, seed)
        source = t.id
    else:
        x, y, source = _load(data)
        available = len(x) // 2
        if n is None:
            n = available
        if n > available or n < 2:
            raise MibenchError(f"selfcheck: {source} has {len(x)} rows; the checks need 2n of them (n = {n})")
        order = np.random.default_rng([seed, 0]).permutation(len(x))
        x, y = x[order], y[order]
    return (x[:n], y[:n]), (x[n : 2 * n], y[n : 2 * n]), source


def _load(data):
    if isinstance(data, (str, Path)):
        path = Path(data)
        try:
            with np.load(path, allow_pickle=False) as f:
                missing = [k for k in ("x", "y") if k not in f.files]
                if missing:
                    raise MibenchError(f"selfcheck: {path} has no array {missing[0]!r} (found: {', '.join(f.files)})")
                x, y = f["x"], f["y"]
        except (OSError, ValueError) as exc:
            raise MibenchError(f"selfcheck: cannot read {path} as an .npz file ({exc})") from None
        source = str(path)
    else:
        try:
            x, y = data
        except (TypeError, ValueError):
            raise MibenchError("selfcheck: data must be an .npz path or an (x, y) pair of arrays") from None
        x, y, source = np.asarray(x), np.asarray(y), "data"
    for label, a in (("x", x), ("y", y)):
        if a.ndim not in (2, 4) or (a.ndim == 4 and a.shape[1] != 1):
            raise MibenchError(f"selfcheck: {label} must be vectors (n, d) or images (n, 1, h, w), got shape {a.shape}")
        if not np.issubdtype(a.dtype, np.number) or not np.all(np.isfinite(a)):
            raise MibenchError(f"selfcheck: {label} must be finite numbers")
    if len(x) != len(y):
        raise MibenchError(f"selfcheck: x and y have different numbers of rows ({len(x)} and {len(y)})")
    return x, y, source


def _process(x, processing, rng):
    """g(X): the top half of the image rows / the first half of the coordinates, or added noise."""
    if processing == "auto":
        processing = "noise" if x.ndim == 2 and x.shape[1] == 1 else "mask"
    if processing == "mask":
        if x.ndim == 4:
            if x.shape[2] < 2:
                raise MibenchError("selfcheck: processing=mask needs images at least 2 rows high")
            return np.ascontiguousarray(x[:, :, : x.shape[2] // 2])
        if x.shape[1] < 2:
            raise MibenchError("selfcheck: processing=mask needs at least 2 coordinates (use processing=noise)")
        return np.ascontiguousarray(x[:, : (x.shape[1] + 1) // 2])
    scale = x.std(axis=0, keepdims=True)
    noisy = x + np.where(scale > 0, scale, 1.0) * rng.standard_normal(x.shape)
    return noisy.astype(x.dtype)


def _pair(a, b):
    return np.concatenate([a, b], axis=-1)  # images side by side, vectors concatenated


def _run(spec, x, y):
    """(estimate or None, row fields) for one estimate; a failing estimator is a failed row."""
    t0 = time.perf_counter()
    try:
        est = mibench.get_estimator(spec)
        if x.ndim == 4 and not getattr(est, "accepts_images", False):
            x, y = x.reshape(len(x), -1), y.reshape(len(y), -1)  # as the harness does for vector estimators
        value, _ = mibench.call_estimator(est, x, y)
    except Exception as exc:  # the estimator's failure is data, not a crash
        return None, {"value": None, "status": "failed", "error": f"{type(exc).__name__}: {exc}"[:500],
                      "seconds": time.perf_counter() - t0}
    return value, {"value": value, "status": "ok", "error": None, "seconds": time.perf_counter() - t0}


def _judge(check, value, reference, tolerance, min_reference) -> dict:
    expected = {"independence": 0.0, "data_processing": 1.0, "additivity": 2.0}[check]
    out = {"expected": expected, "tolerance": tolerance, "ratio": None, "passed": None}
    if value is None:
        return out
    if reference is None or reference <= min_reference:
        out["status"] = "undetermined"
        return out
    ratio = value / reference
    if check == "independence":
        passed = abs(ratio) <= tolerance
    elif check == "data_processing":
        passed = ratio <= 1 + tolerance
    else:
        passed = abs(ratio / 2 - 1) <= tolerance
    return {**out, "ratio": ratio, "passed": bool(passed)}


def format_report(df) -> str:
    """The checks as a Markdown table (what ``main`` prints)."""
    show = df.copy()
    show["expected"] = show["check"].map({"independence": "0", "data_processing": "<= 1", "additivity": "2"})
    show["expected"] = show["expected"].fillna("")
    show["passed"] = show["passed"].map({True: "pass", False: "FAIL"}).fillna("")
    for col in ("value", "reference", "ratio"):
        show[col] = show[col].map(lambda v: "" if v is None or v != v else f"{v:.4f}")
    show["seconds"] = show["seconds"].map(lambda v: f"{v:.2f}")
    show["error"] = show["error"].fillna("")
    cols = ["estimator", "check", "value", "ratio", "expected", "passed", "status", "seconds", "error"]
    tol = df["tolerance"].dropna()
    head = (f"self-consistency on {df['source'].iloc[0]}, n = {df['n'].iloc[0]} (nats"
            f"{f'; tolerance {tol.iloc[0]:g}' if len(tol) else ''})\n\n")
    return head + show[cols].to_markdown(index=False)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``mibench selfcheck``."""
    parser.add_argument("--estimator", action="append", required=True, metavar="SPEC",
                        help="estimator spec (repeatable)")
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--task", help="task id (2n pairs are sampled)")
    src.add_argument("--data", help=".npz file with arrays x and y (vectors (n, d) or images (n, 1, h, w))")
    parser.add_argument("--n", type=int, help="pairs per estimate (task: default 2000; data: half the rows)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tolerance", type=float, default=0.1, help="relative tolerance of each ratio (0.1)")
    parser.add_argument("--processing", choices=PROCESSING, default="auto", help="g of the data-processing check")
    parser.add_argument("--out", help="also write the rows to this .csv file")


def main(args: argparse.Namespace) -> int:
    """Run ``mibench selfcheck``: 0 if no determined check failed, 1 if one did, 2 on a usage error."""
    try:
        return EXPERIMENT.main(args)
    except MibenchError as exc:
        print(f"mibench: error: {exc}", file=sys.stderr)
        return 2


TABLE = "selfcheck"
#: one stored check = (estimator, check, source, n, seed): a re-run replaces it
KEY = ["estimator", "check", "source", "n", "seed"]
PRESET_KEYS = {"estimators", "tasks", "n", "seed", "tolerance", "processing"}


class SelfCheck:
    """The experiment object registered under ``mibench.experiments`` as ``selfcheck``."""

    name = "selfcheck"
    table = TABLE
    description = "self-consistency checks (independence, data processing, additivity) without the truth"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_arguments(parser)
        parser.add_argument("--store", help="SQLite store: rows go to its selfcheck table")

    def main(self, args: argparse.Namespace) -> int:
        if getattr(args, "store", None):
            from mibench.execution.store import Store

            Store(args.store).close()  # an unusable store fails now, not after the estimates
        df = selfcheck(args.estimator, task=args.task, data=args.data, n=args.n, seed=args.seed,
                       tolerance=args.tolerance, processing=args.processing)
        if args.out:
            try:
                df.to_csv(args.out, index=False)
            except OSError as exc:
                raise MibenchError(f"cannot write {args.out}: {exc.strerror or exc}") from None
        if getattr(args, "store", None):
            self.write(args.store, df)
        print(format_report(df))
        return 1 if (df["passed"] == False).any() else 0  # noqa: E712 (None means undetermined)

    @staticmethod
    def write(store, df) -> None:
        from mibench.execution.store import Store

        rows = df.assign(passed=df["passed"].map({True: 1.0, False: 0.0}))  # None (undetermined) -> NULL
        with Store(store) as db:
            db.write_table(TABLE, rows, KEY)

    def parse_preset(self, config: dict, where: str) -> dict:
        """A preset's ``[selfcheck]`` table, checked before anything runs."""
        extra = set(config) - PRESET_KEYS
        if extra:
            raise MibenchError(f"{where}: unknown key(s) {sorted(extra)} (known: {sorted(PRESET_KEYS)})")
        opts = {"estimators": config.get("estimators"), "tasks": config.get("tasks"), "n": config.get("n", 2000),
                "seed": config.get("seed", 0), "tolerance": config.get("tolerance", 0.1),
                "processing": config.get("processing", "auto")}
        for key in ("estimators", "tasks"):
            v = opts[key]
            if not isinstance(v, list) or not v or not all(isinstance(x, str) for x in v):
                raise MibenchError(f"{where}: {key} must be a list of strings, got {v!r}")
        for spec in opts["estimators"]:
            mibench.get_estimator(spec)
        for task in opts["tasks"]:
            mibench.get_task(task)
        for key in ("n", "seed"):
            if isinstance(opts[key], bool) or not isinstance(opts[key], int) or opts[key] < (1 if key == "n" else 0):
                raise MibenchError(f"{where}: {key} must be a {'positive' if key == 'n' else 'non-negative'} "
                                   f"integer, got {opts[key]!r}")
        if opts["processing"] not in PROCESSING:
            raise MibenchError(f"{where}: processing must be one of {', '.join(PROCESSING)}")
        return opts

    def run_preset(self, config: dict, store: str) -> None:
        """The preset's checks into the store; (estimator, task) pairs already stored are skipped."""
        from mibench.execution.store import Store

        opts = self.parse_preset(config, "[selfcheck]")
        with Store(store) as db:
            done = db.read_table(TABLE)
        for task in opts["tasks"]:
            for spec in opts["estimators"]:
                if len(done) and ((done.estimator == spec) & (done.source == task)
                                  & (done.n == opts["n"]) & (done.seed == opts["seed"])).any():
                    continue
                df = selfcheck(spec, task=task, n=opts["n"], seed=opts["seed"], tolerance=opts["tolerance"],
                               processing=opts["processing"])
                self.write(store, df)

    def report_section(self, db, figdir, rows=None) -> str | None:
        from mibench.reporting import html

        table = db.read_table(TABLE) if rows is None else rows
        if table.empty:
            return None
        show = table[["estimator", "source", "n", "check", "ratio", "expected", "status", "passed", "error"]].copy()
        show["passed"] = show["passed"].map({1.0: "pass", 0.0: "FAIL"}).fillna("")
        return "\n".join([
            "<h2>Self-consistency checks</h2>",
            html.note("The truth is not used: independence (Y shuffled: ratio ~ 0), data processing "
                      "(I(g(X); Y) / I(X; Y) <= 1 + tolerance), additivity (two independent copies: ratio 2)."),
            html.table(show),
        ])


EXPERIMENT = SelfCheck()


if __name__ == "__main__":  # python -m mibench.experiments.selfcheck ...
    _p = argparse.ArgumentParser(prog="mibench selfcheck", description=__doc__.splitlines()[0])
    add_arguments(_p)
    sys.exit(main(_p.parse_args()))
