"""Mixed discrete-continuous tasks (suite ``mixed``): atoms, ties and point masses with known MI.

Families (X first; all 1 x 1 unless stated; truths in nats, checked by Monte Carlo of the log density
ratio in the tests):

- ``mixed-uniform-{K}``: X uniform on {0..K-1}, Y = X + U(0, 2) (Gao et al. 2017, BMI's
  ``DiscreteUniformMixtureSampler``): log K - (K - 1)/K log 2, closed form.
  ``mixed-uniform-{K1}-{K2}-{K3}``: independent coordinates (BMI's multivariate version, 3 x 3): the sum.
- ``mixed-categorical-{K}-{sigma}`` / ``mixed-poisson-{lam}-{sigma}``: X uniform on {0..K-1} or
  Poisson(lam), Y = X + sigma Z: I = h(Y) - h(sigma Z), with h(Y) = -sum_k P(k) E_Z log p(k + sigma Z)
  by adaptive quadrature per atom (Poisson atoms with mass > 1e-18 kept; ~1e-10 overall).
- ``mixed-zip-{p}``: X ~ Exp(1), Y | X ~ p delta_0 + (1 - p) Poisson(X) (Gao et al.'s zero-inflated
  Poissonisation, BMI's ``ZeroInflatedPoissonizationSampler``). p(y) = p [y = 0] + (1 - p) 2^-(y+1), and
  I = sum_y E_X[p(y|X) log p(y|X)/p(y)] in closed form term by term (below), summed to 2^-200. At p = 0
  this is BMI's 2 log 2 - gamma - sum_k log k 2^-k = 0.30124. For p > 0 BMI's (1 - p) x 0.3012 is
  I(X; Y, B) with B the inflation indicator, an upper bound, not I(X; Y): Y = 0 does not say whether
  the zero was inflated. p = 0.15 gives 0.22978 here (Monte Carlo, 2 x 10^6 draws: 0.22982 +- 0.00043)
  vs 0.25606 from BMI's formula.
- ``mixed-quantised-{delta}-{rho}``: X ~ N(0, 1), Y = floor(W / delta), W = rho X + sqrt(1 - rho^2) Z:
  H(Y) - E_X H(Y | X), the bin probabilities from the normal CDF, the outer expectation by quadrature;
  rho = 1 is deterministic quantisation (I = H(Y)).
- ``mixed-censored-{rho}``: X ~ N(0, 1), Y = max(0, rho X + sqrt(1 - rho^2) Z) (a zero-inflated, Tobit
  observation: half of the mass at 0): the inner integrals over Y are truncated-normal moments in
  closed form, the outer one over X by quadrature.
- ``mixed-gao-{p}``: with probability 1 - p (X, Y) is a bivariate normal with correlation 0.9, otherwise
  X uniform on {-1, 1} and Y = X flipped with probability 0.1 (Gao et al. 2017, experiment I). The
  component is a function of X (and of Y) almost surely, so I = H(p) + (1 - p) I_normal + p I_bsc.
- ``mixed-channel-{K}-{eps}``: both discrete: X uniform on {0..K-1}, Y = X with probability 1 - eps,
  else uniform over the other K - 1 values: log K - H_eps (the label channel of the ``digits`` suite).

Samples are float64 (integers stored exactly). The discrete values are atoms: the joint sample of the
``channel`` and ``gao`` tasks has exact duplicates, where KSG's k-NN radius is 0 (see ``mixed-ksg``).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate
from scipy.special import digamma, gammaln, log_ndtr, logsumexp, ndtr

from mibench import MibenchError, Task

_TAIL = 1e-18  #: Poisson atoms of smaller mass are dropped from the truth's quadrature
_QUAD = {"epsabs": 1e-13, "epsrel": 1e-12, "limit": 500}


# ---- discrete channels (also used by the digits suite) ----------------------------------------


def channel_entropy(k: int, eps: float) -> float:
    """H(Y | X) of the K-ary symmetric channel with error probability eps, nats (0 log 0 = 0)."""
    h = 0.0
    if eps < 1:
        h -= (1 - eps) * math.log1p(-eps)
    if eps > 0:
        h -= eps * math.log(eps / (k - 1))
    return h


def symmetric_channel(labels: np.ndarray, k: int, eps: float, rng: np.random.Generator) -> np.ndarray:
    """Each label in {0..k-1} kept with probability 1 - eps, else replaced by one of the other k - 1."""
    flip = rng.random(labels.shape) < eps
    other = (labels + rng.integers(1, k, size=labels.shape)) % k
    return np.where(flip, other, labels)


# ---- samplers ---------------------------------------------------------------------------------


class UniformMixtureSampler:
    """X_j uniform on {0..K_j - 1}, Y_j = X_j + U(0, 2), coordinates independent."""

    def __init__(self, ks: tuple[int, ...]) -> None:
        self.ks = tuple(int(k) for k in ks)

    def __call__(self, n, rng):
        x = np.column_stack([rng.integers(0, k, n) for k in self.ks]).astype(float)
        return x, x + rng.uniform(0.0, 2.0, x.shape)


class DiscretePlusNoiseSampler:
    """X uniform on {0..K-1} (``kind="categorical"``) or Poisson(lam), Y = X + sigma Z."""

    def __init__(self, kind: str, param: float, sigma: float) -> None:
        self.kind, self.param, self.sigma = kind, param, float(sigma)

    def __call__(self, n, rng):
        if self.kind == "categorical":
            x = rng.integers(0, int(self.param), (n, 1)).astype(float)
        else:
            x = rng.poisson(self.param, (n, 1)).astype(float)
        return x, x + self.sigma * rng.standard_normal((n, 1))


class ZeroInflatedPoissonSampler:
    def __init__(self, p: float) -> None:
        self.p = float(p)

    def __call__(self, n, rng):
        x = rng.exponential(1.0, (n, 1))
        counts = rng.poisson(x)
        keep = rng.random((n, 1)) >= self.p
        return x, (counts * keep).astype(float)


class _GaussianChannel:
    """X ~ N(0, 1), W = rho X + sqrt(1 - rho^2) Z (standard normal), then an observation of W."""

    def __init__(self, rho: float) -> None:
        self.rho = float(rho)

    def _xw(self, n, rng):
        x = rng.standard_normal((n, 1))
        return x, self.rho * x + math.sqrt(max(0.0, 1.0 - self.rho**2)) * rng.standard_normal((n, 1))


class QuantisedSampler(_GaussianChannel):
    def __init__(self, delta: float, rho: float) -> None:
        super().__init__(rho)
        self.delta = float(delta)

    def __call__(self, n, rng):
        x, w = self._xw(n, rng)
        return x, np.floor(w / self.delta)


class CensoredSampler(_GaussianChannel):
    def __call__(self, n, rng):
        x, w = self._xw(n, rng)
        return x, np.maximum(w, 0.0)


class GaoMixtureSampler:
    """Gao et al. (2017), experiment I: a normal component and a binary symmetric channel component."""

    def __init__(self, p_discrete: float, rho: float = 0.9, flip: float = 0.1) -> None:
        self.p, self.rho, self.flip = float(p_discrete), float(rho), float(flip)

    def __call__(self, n, rng):
        discrete = rng.random(n) < self.p
        x = rng.standard_normal(n)
        y = self.rho * x + math.sqrt(1 - self.rho**2) * rng.standard_normal(n)
        bit = rng.integers(0, 2, n)
        bit_y = np.where(rng.random(n) < self.flip, 1 - bit, bit)
        x = np.where(discrete, 2.0 * bit - 1, x)
        y = np.where(discrete, 2.0 * bit_y - 1, y)
        return x[:, None], y[:, None]


class ChannelSampler:
    def __init__(self, k: int, eps: float) -> None:
        self.k, self.eps = int(k), float(eps)

    def __call__(self, n, rng):
        x = rng.integers(0, self.k, (n, 1))
        return x.astype(float), symmetric_channel(x, self.k, self.eps, rng).astype(float)


# ---- truths -----------------------------------------------------------------------------------


def uniform_mixture_mi(k: int) -> float:
    return math.log(k) - (k - 1) / k * math.log(2.0)


def discrete_pmf(kind: str, param: float) -> tuple[np.ndarray, np.ndarray]:
    """Atoms and masses of X (Poisson: every atom of mass > 1e-18, renormalised)."""
    if kind == "categorical":
        k = int(param)
        return np.arange(k, dtype=float), np.full(k, 1.0 / k)
    atoms = np.arange(int(param + 40 * math.sqrt(param) + 60), dtype=float)  # far beyond mass 1e-18
    mass = np.exp(atoms * math.log(param) - param - gammaln(atoms + 1))
    keep = mass > _TAIL
    return atoms[keep], mass[keep] / mass[keep].sum()


def discrete_plus_noise_mi(kind: str, param: float, sigma: float) -> float:
    """h(X + sigma Z) - h(sigma Z): for each atom a, E_Z log p(a + sigma Z) by composite Gauss-Legendre
    quadrature in z over [-12, 12] (panels of width 1/4, 16 nodes each; the integrand is analytic and
    the dropped tails weigh < 1e-32). Agrees with adaptive quadrature (``scipy.integrate.quad``,
    tolerance 1e-12) to 1e-12 on the suite's tasks, 100x faster."""
    atoms, mass = discrete_pmf(kind, param)
    nodes, weights = np.polynomial.legendre.leggauss(16)
    edges = np.arange(-12.0, 12.0, 0.25)
    z = (edges[:, None] + 0.125 * (nodes[None, :] + 1)).ravel()
    wz = np.tile(0.125 * weights, len(edges)) * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    y = atoms[:, None] + sigma * z[None, :]  # (atoms, nodes)
    # log p(y) without the normal constant, which cancels against h(sigma Z) (as does E z^2 / 2)
    log_py = logsumexp(np.log(mass)[None, None, :] - 0.5 * ((y[:, :, None] - atoms) / sigma) ** 2, axis=2)
    inner = (log_py + 0.5 * z[None, :] ** 2) @ wz
    return max(0.0, -math.fsum(mass * inner))


def zip_mi(p: float) -> float:
    """Zero-inflated Poissonisation of Exp(1): sum over y of E_X[p(y|X) log(p(y|X) / p(y))].

    y >= 1: p(y|x) / p(y) = e^-x x^y / y! / 2^-(y+1), and the integrals of e^-2x x^y (1, x, log x) give
    (1 - p) 2^-(y+1) [log 2 - (y + 1)/2 + y psi(y + 1) - log y!].
    y = 0: with u = e^-x, int_0^1 (p + (1 - p) u) log((p + (1 - p) u) / c) du, c = (1 + p)/2, which is
    -(1 + p)/4 - p^2 log p / (2 (1 - p)) - c log c.
    """
    y = np.arange(1, 201, dtype=float)
    terms = 2.0 ** -(y + 1) * (math.log(2.0) - (y + 1) / 2 + y * digamma(y + 1) - gammaln(y + 1))
    c = (1 + p) / 2
    zero = -(1 + p) / 4 - (p * p * math.log(p) / (2 * (1 - p)) if p > 0 else 0.0) - c * math.log(c)
    return (1 - p) * math.fsum(terms) + zero


def _plogp(q: np.ndarray) -> np.ndarray:
    return np.where(q > 0, q * np.log(np.where(q > 0, q, 1.0)), 0.0)


def _bin_probs(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """P(lo <= W < hi) for standard normal W, accurate in both tails (upper tail by symmetry)."""
    upper = lo > 0
    return np.where(upper, ndtr(-lo) - ndtr(-hi), ndtr(hi) - ndtr(lo))


def quantised_mi(delta: float, rho: float) -> float:
    """H(floor(W / delta)) - E_X H(floor(W / delta) | X) for W = rho X + s Z."""
    j = np.arange(-math.ceil(40 / delta) - 1, math.ceil(40 / delta) + 1, dtype=float)
    lo, hi = j * delta, (j + 1) * delta
    h_y = -math.fsum(_plogp(_bin_probs(lo, hi)))
    if rho == 1:
        return h_y
    s = math.sqrt(1 - rho**2)

    def h_given(x: float) -> float:  # phi(x) H(Y | X = x)
        q = _bin_probs((lo - rho * x) / s, (hi - rho * x) / s)
        return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi) * -math.fsum(_plogp(q))

    return h_y - integrate.quad(h_given, -40.0, 40.0, points=[0.0], **_QUAD)[0]


def censored_mi(rho: float) -> float:
    """I(X; max(0, W)), W = rho X + s Z: E_X of the atom's and the density part's KL terms.

    With mu = rho x and a = -mu / s: the atom P(Y = 0 | x) = Phi(a) against P(Y = 0) = 1/2 gives
    Phi(a) log(2 Phi(a)); for y > 0, log p(y|x) / p(y) = -log s - (y - mu)^2 / (2 s^2) + y^2 / 2, whose
    integral over y > 0 against N(mu, s^2) uses M0 = Phi(-a), M1 = phi(a), M2 = a phi(a) + Phi(-a)
    (the moments of t = (y - mu) / s over t > a).
    """
    s = math.sqrt(1 - rho**2)

    def term(x: float) -> float:
        mu = rho * x
        a = -mu / s
        log_p0 = float(log_ndtr(a))
        atom = math.exp(log_p0) * (math.log(2.0) + log_p0)
        m0, m1 = float(ndtr(-a)), math.exp(-0.5 * a * a) / math.sqrt(2 * math.pi)
        m2 = a * m1 + m0
        dens = -math.log(s) * m0 - 0.5 * m2 + 0.5 * (mu * mu * m0 + 2 * mu * s * m1 + s * s * m2)
        return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi) * (atom + dens)

    return integrate.quad(term, -40.0, 40.0, points=[0.0], **_QUAD)[0]


def gao_mixture_mi(p: float, rho: float = 0.9, flip: float = 0.1) -> float:
    h_p = -sum(q * math.log(q) for q in (p, 1 - p) if q > 0)
    return h_p + (1 - p) * -0.5 * math.log1p(-rho**2) + p * (math.log(2.0) - channel_entropy(2, flip))


# ---- tasks ------------------------------------------------------------------------------------


def _task(task_id: str, sampler, mi: float, name: str, params: dict, dim: int = 1) -> Task:
    return Task(task_id, family="-".join(task_id.split("-")[:2]), sampler=sampler, mutual_information=mi,
                dim_x=dim, dim_y=dim, name=name, params=params)


def uniform_mixture(*ks: int) -> Task:
    if not ks or any(k < 1 for k in ks):
        raise MibenchError(f"uniform mixture: every K must be a positive integer, got {ks}")
    return _task(f"mixed-uniform-{'-'.join(map(str, ks))}", UniformMixtureSampler(ks),
                 sum(uniform_mixture_mi(k) for k in ks), f"X uniform on {{0..K-1}}, Y = X + U(0, 2), K={ks}",
                 {"ks": list(ks), "x": "discrete", "y": "continuous"}, dim=len(ks))


def discrete_plus_noise(kind: str, param: float, sigma: float) -> Task:
    if kind not in ("categorical", "poisson") or not sigma > 0 or not param > 0:
        raise MibenchError(f"discrete plus noise: need kind categorical|poisson, param > 0, sigma > 0, "
                           f"got {kind!r}, {param!r}, {sigma!r}")
    what = f"uniform on {{0..{int(param) - 1}}}" if kind == "categorical" else f"Poisson({param})"
    param = int(param) if kind == "categorical" else float(param)
    return _task(f"mixed-{kind}-{param}-{sigma}", DiscretePlusNoiseSampler(kind, param, sigma),
                 discrete_plus_noise_mi(kind, param, sigma), f"X {what}, Y = X + {sigma} Z",
                 {"kind": kind, "param": param, "sigma": sigma, "x": "discrete", "y": "continuous"})


def zero_inflated_poisson(p: float) -> Task:
    if not 0 <= p < 1:
        raise MibenchError(f"zero-inflation probability must lie in [0, 1), got {p}")
    return _task(f"mixed-zip-{p}", ZeroInflatedPoissonSampler(p), zip_mi(p),
                 f"X ~ Exp(1), Y ~ {p} delta_0 + {1 - p:g} Poisson(X)",
                 {"p": p, "x": "continuous", "y": "discrete"})


def quantised(delta: float, rho: float) -> Task:
    if not delta > 0 or not 0 < rho <= 1:
        raise MibenchError(f"quantised: need delta > 0 and rho in (0, 1], got {delta}, {rho}")
    return _task(f"mixed-quantised-{delta}-{rho}", QuantisedSampler(delta, rho), quantised_mi(delta, rho),
                 f"X ~ N(0, 1), Y = floor(({rho} X + noise) / {delta})",
                 {"delta": delta, "rho": rho, "x": "continuous", "y": "discrete"})


def censored(rho: float) -> Task:
    if not 0 < rho < 1:
        raise MibenchError(f"censored: rho must lie in (0, 1), got {rho}")
    return _task(f"mixed-censored-{rho}", CensoredSampler(rho), censored_mi(rho),
                 f"X ~ N(0, 1), Y = max(0, {rho} X + noise)", {"rho": rho, "x": "continuous", "y": "mixed"})


def gao_mixture(p: float) -> Task:
    if not 0 < p < 1:
        raise MibenchError(f"gao mixture: the discrete share p must lie in (0, 1), got {p}")
    return _task(f"mixed-gao-{p}", GaoMixtureSampler(p), gao_mixture_mi(p),
                 f"normal (rho 0.9) w.p. {1 - p:g}, binary symmetric channel (flip 0.1) w.p. {p}",
                 {"p": p, "rho": 0.9, "flip": 0.1, "x": "mixed", "y": "mixed"})


def discrete_channel(k: int, eps: float) -> Task:
    if k < 2 or not 0 <= eps < 1:
        raise MibenchError(f"channel: need K >= 2 and eps in [0, 1), got {k}, {eps}")
    return _task(f"mixed-channel-{k}-{eps}", ChannelSampler(k, eps), math.log(k) - channel_entropy(k, eps),
                 f"X uniform on {{0..{k - 1}}}, Y = X with probability {1 - eps:g}",
                 {"k": k, "eps": eps, "x": "discrete", "y": "discrete"})


def mixed_suite() -> list[Task]:
    """Suite ``mixed``: discrete, zero-inflated and quantised variables (18 tasks)."""
    return [
        uniform_mixture(2), uniform_mixture(5), uniform_mixture(10), uniform_mixture(2, 3, 5),
        discrete_plus_noise("categorical", 4, 0.25), discrete_plus_noise("categorical", 16, 1.0),
        discrete_plus_noise("poisson", 2.0, 0.3), discrete_plus_noise("poisson", 8.0, 1.0),
        zero_inflated_poisson(0.0), zero_inflated_poisson(0.15), zero_inflated_poisson(0.5),
        quantised(1.0, 1.0), quantised(0.5, 0.9),
        censored(0.5), censored(0.9),
        gao_mixture(0.5),
        discrete_channel(4, 0.1), discrete_channel(16, 0.3),
    ]
