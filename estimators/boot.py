"""``boot``: gives any registered estimator an interval by resampling the rows of its data.

Spec: ``boot:est=NAME,est_params=K=V;K=V,method=subsample,reps=100,fraction=0.5,interval=normal,level=0.95,seed=0``.
The wrapped estimator is ``est`` with the parameters ``est_params``: its own spec's ``key=value``
pairs separated by ``;`` instead of ``,`` (a spec value cannot contain ``,``), e.g.
``boot:est=ksg,est_params=k=10;metric=chebyshev`` wraps ``ksg:k=10,metric=chebyshev``.

The point estimate is the wrapped estimator on the full data, theta_n. ``reps`` estimates theta_b on
resampled rows give the root d_b = r (theta_b - theta_n), whose law stands in for that of
(theta_n - truth). Resampling (``method``):

- ``subsample`` (default; m-out-of-n without replacement, Politis & Romano 1994; Politis, Romano &
  Wolf, *Subsampling*, 1999): m = floor(fraction n) distinct rows (default fraction 0.5), and
  r = sqrt(m / (n - m)). A smooth statistic of m rows drawn without replacement varies as
  sigma^2 (1/m - 1/n) = sigma^2 (n - m) / (m n), so r maps it to the full sample's sigma^2 / n: the
  finite-population version of Politis and Romano's sqrt(m / n), equal to it for m << n (at
  m = n / 2 the uncorrected factor would make the interval 1 - sqrt(1/2), about 30 %, too narrow).
  No row is repeated, so this is the method for kNN estimators.
- ``bootstrap`` (naive: n rows drawn with replacement, r = 1). **Invalid for kNN estimators**
  (``ksg``, ``kl``, ``wkl``, ``kde``'s leave-one-out, ``ae``): about 37 % of a resample's rows repeat
  another row, their zero distances collapse the kNN radii, so resampled estimates lie far above
  the full-sample one (a KSG on independent data gives 0.2-0.3 nats per resample) and the interval
  describes the duplicates, not the estimator. Fine for smooth plug-in estimators such as ``gaussian``.

Interval from the roots (``interval``), z the normal quantile of ``level``:

- ``normal`` (default): theta_n +- z sd(d). Stable with ~100 replicates and near MI = 0.
- ``basic``: [theta_n - q_hi(d), theta_n - q_lo(d)], Politis and Romano's equal-tailed form; it
  needs ~1000 replicates for its tail quantiles and reflects the skew of estimators near 0 to the
  wrong side (docs/uncertainty.md has the coverage measured for each).
- ``percentile``: [theta_n + q_lo(d), theta_n + q_hi(d)].

The wrapped estimator's own randomness (a neural estimator's seed) stays as given: each replicate
uses the same inner configuration. Replicates are drawn from ``numpy.random.default_rng(seed)``;
no global RNG is touched. Cost: (reps + 1) inner estimates (on m rows for ``subsample``).
"""

from __future__ import annotations

import json
import math
import numbers
from typing import Any

import numpy as np
from scipy.special import ndtri

import mibench
from mibench import SEED, Choice, Estimator, Float, Int, Param, Str

from ._ci import ci, tail_quantiles

METHODS = ("subsample", "bootstrap")
INTERVALS = ("normal", "basic", "percentile")


def _key_value_pairs(name: str, value):
    if not isinstance(value, str) or "=" not in value:
        raise ValueError(f"{name} must be key=value pairs separated by ';' (e.g. k=5;metric=chebyshev), "
                         f"got {value!r}")
    return value


class Boot(Estimator):
    """Interval for any estimator by subsampling (default) or the naive bootstrap; see the module doc.

    Parameters: ``est`` (name of the wrapped estimator, default ``ksg``), ``est_params`` (its parameters,
    ``k=v;k=v``), ``method`` (``subsample`` | ``bootstrap``), ``reps`` (resamples, default 100),
    ``fraction`` (subsample size m = floor(fraction n), in (0, 1), default 0.5; unused by the
    bootstrap), ``interval`` (``normal`` | ``basic`` | ``percentile``), ``level`` (default 0.95),
    ``seed`` (the resampling's seed).
    ``get_params`` also has ``inner``: the wrapped estimator's spec and resolved parameters (set by
    boot, so that a changed default of the wrapped estimator changes the configuration hash).
    Info: ``ci`` and ``ci_method`` (e.g. ``subsample-normal``), ``m`` (rows per replicate), ``scale``
    (r), ``replicates`` (the reps estimates theta_b), ``inner_info`` (the wrapped estimator's info on
    the full data).
    """

    PARAMS = {
        "est": Str("ksg", "name of the wrapped estimator"),
        "est_params": Param(None, "its parameters, key=value pairs separated by ';'", optional=True,
                            check=_key_value_pairs),
        "method": Choice("subsample", METHODS, "subsample (m-out-of-n) or bootstrap (invalid for kNN)"),
        "reps": Int(100, "resamples", min=2),
        "fraction": Float(0.5, "subsample size m = floor(fraction n)", min=0, max=1, min_open=True, max_open=True),
        "interval": Choice("normal", INTERVALS, "interval from the roots"),
        "level": Float(0.95, "nominal coverage", min=0, max=1, min_open=True, max_open=True),
        "seed": SEED,
    }

    PARAMS["inner"] = Param(None, "set by boot (the wrapped estimator's spec and resolved parameters, so that "
                            "they enter the configuration hash); not to be given", optional=True)

    def _check(self, values: dict[str, Any]) -> None:
        if values["est"] == "boot":
            raise ValueError("boot cannot wrap itself (est=boot)")

    def set_params(self, **params) -> Boot:
        super().set_params(**params)
        self.inner_spec = self.est + (":" + self.est_params.replace(";", ",") if self.est_params else "")
        try:
            self.wrapped = mibench.get_estimator(self.inner_spec)
        except mibench.MibenchError as exc:
            raise ValueError(f"boot: the wrapped estimator {self.inner_spec!r}: {exc}") from None
        params = self.wrapped.get_params() if hasattr(self.wrapped, "get_params") else {}
        resolved = json.loads(json.dumps({"spec": self.inner_spec, "params": params}, default=repr, sort_keys=True))
        if self.inner is not None and self.inner != resolved:  # get_params() round-trips; a spec may not set it
            raise ValueError(f"inner is set by boot from est and est_params, got {self.inner!r}")
        self.inner = resolved
        return self

    @property
    def accepts_images(self) -> bool:
        return bool(getattr(self.wrapped, "accepts_images", False))

    @property
    def device(self) -> str:
        return getattr(self.wrapped, "device", "cpu")

    def estimate_with_info(self, x, y) -> tuple[float, dict[str, Any]]:
        full, inner_info = mibench.call_estimator(self.wrapped, x, y)  # validates x and y
        x, y = np.asarray(x), np.asarray(y)
        n = len(x)
        m, scale = self.subsample_size(n)
        rng = np.random.default_rng(self.seed)
        replicates = np.empty(self.reps)
        for b in range(self.reps):
            rows = np.sort(rng.choice(n, size=m, replace=False)) if self.method == "subsample" \
                else rng.integers(0, n, size=n)
            try:
                replicates[b] = self._value(x[rows], y[rows])
            except Exception as exc:
                kind = ValueError if isinstance(exc, ValueError) else RuntimeError
                raise kind(f"boot: replicate {b + 1} of {self.reps} ({self.method}, {m} of {n} rows) of "
                           f"{self.inner_spec!r} failed: {type(exc).__name__}: {exc}") from exc
        info = {
            "ci": interval_from_roots(full, scale * (replicates - full), self.level, self.interval),
            "ci_method": f"{self.method}-{self.interval}",
            "m": m,
            "scale": scale,
            "replicates": replicates.tolist(),
            "inner_info": inner_info,
        }
        if "device" in inner_info:
            info["device"] = inner_info["device"]
        return full, info

    def _value(self, x, y) -> float:
        """A replicate's estimate: ``estimate`` where there is one (it may skip the info's extras)."""
        if hasattr(self.wrapped, "estimate"):
            value = self.wrapped.estimate(x, y)
            if isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value):
                return float(value)
        return mibench.call_estimator(self.wrapped, x, y)[0]  # names what is wrong with the value

    def subsample_size(self, n: int) -> tuple[int, float]:
        """(rows per replicate, scale r of the root) for n samples."""
        if self.method == "bootstrap":
            return n, 1.0
        m = math.floor(self.fraction * n)
        if m < 2 or m >= n:
            raise ValueError(f"boot: fraction={self.fraction} of n={n} gives a subsample of {m} rows "
                             "(need 2 <= m < n)")
        return m, math.sqrt(m / (n - m))


def interval_from_roots(full: float, root: np.ndarray, level: float, interval: str) -> dict[str, float]:
    """The ``ci`` of the full-sample estimate from the rescaled roots r (theta_b - theta_n), whose law
    stands in for that of (estimate - truth); ``interval`` as in the module doc."""
    if interval == "normal":
        half = float(ndtri(0.5 + level / 2)) * float(np.std(root, ddof=1))
        return ci(full - half, full + half, level)
    q_lo, q_hi = tail_quantiles(root, level)
    if interval == "basic":
        return ci(full - q_hi, full - q_lo, level)
    if interval == "percentile":
        return ci(full + q_lo, full + q_hi, level)
    raise ValueError(f"interval must be one of {', '.join(INTERVALS)}, got {interval!r}")
