"""Variational MI bounds as pure functions of a critic score matrix (all values in nats).

``scores[i, j] = f(x_i, y_j)`` for a batch of n paired samples: the diagonal holds the n
samples of the joint p(x, y), the n (n - 1) off-diagonal entries stand in for samples of the
product of marginals p(x) p(y). Every function takes a square (n, n) tensor with n >= 2 and
returns a 0-d tensor (differentiable where it is used as a training objective).

References: Poole et al. 2019 ("On variational bounds of mutual information"), Song & Ermon
2020 (SMILE), Belghazi et al. 2018 (MINE), van den Oord et al. 2018 (InfoNCE), Nowozin et al.
2016 (f-GAN, the Jensen-Shannon objective).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def _check(scores: torch.Tensor) -> int:
    if scores.ndim != 2 or scores.shape[0] != scores.shape[1] or scores.shape[0] < 2:
        raise ValueError(f"scores must be a square (n, n) matrix with n >= 2, got shape {tuple(scores.shape)}")
    return scores.shape[0]


def _diagonal_masked(scores: torch.Tensor) -> torch.Tensor:
    """The scores with -inf on the diagonal, so that exp and softplus give 0 there (one copy; half
    the cost, backward included, of selecting the n (n - 1) off-diagonal entries with a mask)."""
    return torch.diagonal_scatter(scores, scores.new_full((scores.shape[0],), -math.inf))


def logmeanexp_offdiag(scores: torch.Tensor) -> torch.Tensor:
    """log of the mean of exp(scores[i, j]) over i != j (numerically stable)."""
    n = _check(scores)
    return torch.logsumexp(_diagonal_masked(scores).flatten(), 0) - math.log(n * (n - 1))


def infonce(scores: torch.Tensor) -> torch.Tensor:
    """InfoNCE: mean_i [s_ii - log (1/n) sum_j exp s_ij]; never exceeds log n."""
    n = _check(scores)
    return scores.diagonal().mean() - torch.logsumexp(scores, 1).mean() + math.log(n)


def dv(scores: torch.Tensor) -> torch.Tensor:
    """Donsker-Varadhan: mean_i s_ii - log mean_{i != j} exp s_ij."""
    _check(scores)
    return scores.diagonal().mean() - logmeanexp_offdiag(scores)


def nwj(scores: torch.Tensor) -> torch.Tensor:
    """Nguyen-Wainwright-Jordan (f-divergence / "MINE-f"): mean_i s_ii - mean_{i != j} exp(s_ij - 1)."""
    _check(scores)
    return scores.diagonal().mean() - torch.exp(logmeanexp_offdiag(scores - 1.0))


def smile(scores: torch.Tensor, tau: float = 5.0) -> torch.Tensor:
    """SMILE value: DV with the partition term clipped, mean_i s_ii - log mean_{i != j} exp clip(s_ij, -tau, tau).

    ``tau=None`` (or inf) is the plain DV bound. Song & Ermon train it with the Jensen-Shannon
    gradient; see ``smile_objective``.
    """
    _check(scores)
    clipped = scores if tau is None or math.isinf(tau) else scores.clamp(-tau, tau)
    return scores.diagonal().mean() - logmeanexp_offdiag(clipped)


def js_fgan(scores: torch.Tensor) -> torch.Tensor:
    """The f-GAN Jensen-Shannon objective: -mean_i softplus(-s_ii) - mean_{i != j} softplus(s_ij).

    Not an MI value: it is maximised by the log density ratio, from which a bound is read out
    (``js_mi``); it is the training objective of the ``js`` and ``smile`` estimators.
    """
    n = _check(scores)
    return -F.softplus(-scores.diagonal()).mean() - F.softplus(_diagonal_masked(scores)).sum() / (n * (n - 1))


def js_mi(scores: torch.Tensor) -> torch.Tensor:
    """MI read-out of a critic trained with ``js_fgan``: NWJ at the critic shifted by +1,
    mean_i s_ii + 1 - mean_{i != j} exp(s_ij) (Poole et al. 2019). A valid lower bound for
    every critic; tight when s is the log density ratio, the optimum of the JS objective."""
    return nwj(scores + 1.0)


def with_gradient_of(value: torch.Tensor, objective: torch.Tensor) -> torch.Tensor:
    """A tensor equal to ``value`` whose gradient is that of ``objective`` (the straight-through trick)."""
    return objective + (value - objective).detach()


def smile_objective(scores: torch.Tensor, tau: float = 5.0) -> torch.Tensor:
    """SMILE training objective: the value of ``smile`` with the gradient of ``js_fgan``."""
    return with_gradient_of(smile(scores, tau), js_fgan(scores))


def js_objective(scores: torch.Tensor) -> torch.Tensor:
    """JS training objective: the value of ``js_mi`` with the gradient of ``js_fgan``."""
    return with_gradient_of(js_mi(scores), js_fgan(scores))


def mine_log_denominator(log_prev: torch.Tensor | float, scores: torch.Tensor, decay: float) -> torch.Tensor:
    """Exponential moving average of the DV partition term, in log space (no gradient):
    log(decay * exp(log_prev) + (1 - decay) * mean_{i != j} exp s_ij). ``log_prev=-inf`` starts it."""
    batch = logmeanexp_offdiag(scores.detach())
    prev = torch.as_tensor(log_prev, dtype=batch.dtype, device=batch.device)
    if torch.isinf(prev) and prev < 0:
        return batch
    return torch.logaddexp(prev + math.log(decay), batch + math.log1p(-decay))


def mine_objective(scores: torch.Tensor, log_denominator: torch.Tensor) -> torch.Tensor:
    """MINE (Belghazi et al. 2018, eq. 12): the value of ``dv`` with the bias-corrected gradient
    grad mean_i s_ii - grad mean_{i != j} exp(s_ij) / D, where D = exp(log_denominator) is the moving
    average of the partition term (``mine_log_denominator``, already updated with this batch)."""
    _check(scores)
    joint, partition = scores.diagonal().mean(), logmeanexp_offdiag(scores)  # dv = joint - partition
    surrogate = joint - torch.exp(partition - log_denominator.detach())
    return with_gradient_of(joint - partition, surrogate)


#: name -> (training objective, held-out read-out); objectives of "mine" need extra state (see engine)
READOUTS = {
    "dv": dv,
    "mine": dv,
    "nwj": nwj,
    "infonce": infonce,
    "smile": smile,
    "js": js_mi,
}
