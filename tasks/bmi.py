"""The 40 tasks of the BMI benchmark v1 (Czyz et al., "Beyond Normal: On the Evaluation of Mutual
Information Estimators", NeurIPS 2023; package ``benchmark-mi``), with BMI's ids and constructions.

Families: bivariate / multivariate normals (``tasks.gaussian``), additive uniform noise, bimodal
(Gaussian copula with mixture marginals), multivariate Student-t (truth = Gaussian MI of the
dispersion + a dof correction), and the injective maps of ``tasks.transforms`` applied through the
public ``Task.transformed``. Samples are drawn with NumPy (BMI uses JAX), so the distributions
and truths are BMI's but the sample streams differ.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln, psi

from mibench import MibenchError, Task

from . import transforms as tr
from .gaussian import (
    _check_dims,
    _cholesky,
    bivariate_normal,
    gaussian_mi,
    multinormal_dense,
    multinormal_sparse,
)

# ---- additive uniform noise ------------------------------------------------------------------


class AdditiveUniformSampler:
    """X ~ U(0, 1), N ~ U(-epsilon, epsilon), Y = X + N."""

    def __init__(self, epsilon: float) -> None:
        self.epsilon = float(epsilon)

    def __call__(self, n: int, rng: np.random.Generator):
        x = rng.uniform(0.0, 1.0, (n, 1))
        return x, x + rng.uniform(-self.epsilon, self.epsilon, (n, 1))


def additive_uniform_mi(epsilon: float) -> float:
    """I = 1/(4 eps) for eps >= 1/2, eps - log(2 eps) otherwise (h(Y) - h(N), Y trapezoidal)."""
    if epsilon <= 0:
        raise MibenchError(f"noise half-width epsilon must be > 0, got {epsilon}")
    return 0.25 / epsilon if epsilon >= 0.5 else epsilon - math.log(2 * epsilon)


def additive_uniform(epsilon: float) -> Task:
    mi = additive_uniform_mi(epsilon)
    return Task(f"1v1-additive-{epsilon}", family="additive-uniform", sampler=AdditiveUniformSampler(epsilon),
                mutual_information=mi, dim_x=1, dim_y=1, name=f"Uniform 1 x 1 (additive noise={epsilon})",
                params={"epsilon": epsilon})


# ---- Student-t -------------------------------------------------------------------------------


class StudentSampler:
    """(X, Y) multivariate Student-t with ``dof`` degrees of freedom, zero mean and dispersion S:
    Z ~ N(0, S), W ~ chi^2(dof), (X, Y) = Z / sqrt(W / dof)."""

    def __init__(self, dispersion: np.ndarray, dim_x: int, dof: float) -> None:
        self.dispersion = np.asarray(dispersion, dtype=float)
        self.dim_x, self.dof = dim_x, float(dof)
        self.cholesky = _cholesky(self.dispersion)

    def __call__(self, n: int, rng: np.random.Generator):
        z = rng.standard_normal((n, len(self.dispersion))) @ self.cholesky.T
        w = rng.chisquare(self.dof, (n, 1))
        xy = z / np.sqrt(w / self.dof)
        return xy[:, : self.dim_x], xy[:, self.dim_x :]


def student_mi_correction(dof: float, dim_x: int, dim_y: int) -> float:
    """c(dof, m, k) = h(t_m) + h(t_k) - h(t_{m+k}) for identity-dispersion Student-t entropies
    (Arellano-Valle et al. 2013), written with log-gamma and digamma; > 0, -> 0 as dof -> inf."""
    nu, d = float(dof), dim_x + dim_y
    g = lambda a: 0.5 * (nu + a) * psi(0.5 * (nu + a)) - gammaln(0.5 * (nu + a))  # noqa: E731
    return float(gammaln(0.5 * nu) - 0.5 * nu * psi(0.5 * nu) + g(dim_x) + g(dim_y) - g(d))


def student_task(dim_x: int, dim_y: int, dof: float, dispersion=None, *, task_id: str | None = None) -> Task:
    """Student-t task; the default dispersion is the identity (BMI's ``student-identity``)."""
    _check_dims(dim_x, dim_y)
    if not dof > 0 or not math.isfinite(dof):
        raise MibenchError(f"degrees of freedom must be a finite number > 0, got {dof}")
    disp = np.eye(dim_x + dim_y) if dispersion is None else np.asarray(dispersion, dtype=float)
    if disp.shape != (dim_x + dim_y, dim_x + dim_y):
        raise MibenchError(f"dispersion must have shape {(dim_x + dim_y,) * 2}, got {disp.shape}")
    mi = gaussian_mi(disp, dim_x) + student_mi_correction(dof, dim_x, dim_y)
    dof_str = int(dof) if float(dof).is_integer() else dof
    ident = dispersion is None
    return Task(
        task_id or (f"student-identity-{dim_x}-{dim_y}-{dof_str}" if ident else f"student-{dim_x}-{dim_y}-{dof_str}"),
        family="student", sampler=StudentSampler(disp, dim_x, dof), mutual_information=mi,
        dim_x=dim_x, dim_y=dim_y, name=f"Student-t {dim_x} x {dim_y} (dof={dof_str})",
        params={"dof": dof} if ident else {"dof": dof, "dispersion": disp.tolist()},
    )


# ---- transformed tasks (BMI's naming: "<map>-<base id>") ----------------------------------------


def _family(prefix: str, base: Task) -> str:
    return f"{prefix}-{base.family}"


def normal_cdf_task(base: Task) -> Task:
    return base.transformed(tr.normal_cdf, tr.normal_cdf, id=f"normal_cdf-{base.id}",
                            family=_family("normal_cdf", base), name=f"Normal CDF @ {base.name}")


def half_cube_task(base: Task) -> Task:
    return base.transformed(tr.half_cube, tr.half_cube, id=f"half_cube-{base.id}",
                            family=_family("half_cube", base), name=f"Half-cube @ {base.name}")


def asinh_task(base: Task) -> Task:
    return base.transformed(tr.asinh, tr.asinh, id=f"asinh-{base.id}",
                            family=_family("asinh", base), name=f"Asinh @ {base.name}")


def wiggly_task(base: Task) -> Task:
    if base.dim_x != 1 or base.dim_y != 1:
        raise MibenchError("the wiggly maps act on 1 x 1 tasks")
    return base.transformed(tr.wiggly_x, tr.wiggly_y, id=f"wiggly-{base.id}",
                            family=_family("wiggly", base), name=f"Wiggly @ {base.name}")


def spiral_task(base: Task, speed: float = 1.0) -> Task:
    """BMI's spiral: X rotated in the (0, 1) plane, Y in the (1, 2) plane, speed / dim each."""
    if base.dim_x < 2 or base.dim_y < 3:
        raise MibenchError(f"spiral needs dim_x >= 2 and dim_y >= 3, got {base.dim_x} x {base.dim_y}")
    fx = tr.Spiral(base.dim_x, 0, 1, speed / base.dim_x)
    fy = tr.Spiral(base.dim_y, 1, 2, speed / base.dim_y)
    return base.transformed(fx, fy, id=f"spiral-{base.id}", family=_family("spiral", base),
                            name=f"Spiral @ {base.name}", params={"speed": speed, "normalize_speed": True})


def swissroll_task(base: Task) -> Task:
    """Embeds a 1-D X valued in (0, 1) as a swiss roll in the plane."""
    if base.dim_x != 1:
        raise MibenchError("the swiss roll embeds a 1-D X")
    return base.transformed(tr.swissroll, None, id=f"swissroll_x-{base.id}", family=_family("swissroll", base),
                            name="Swiss roll 2 x 1")


def bimodal_task(correlation: float = 0.75) -> Task:
    """BMI's bimodal task: a bivariate normal whose marginals are mapped to Gaussian mixtures
    0.3 N(0, 1) + 0.7 N(5, 1) (X) and 0.5 N(-1, 1) + 0.5 N(3, 1) (Y) through their quantiles."""
    base = bivariate_normal(correlation)
    fx = tr.NormalToMixture([0.3, 0.7], [0.0, 5.0])
    fy = tr.NormalToMixture([0.5, 0.5], [-1.0, 3.0])
    return base.transformed(fx, fy, id=f"1v1-bimodal-{correlation}", family="bimodal",
                            name="Bimodal 1 x 1", params={"gaussian_correlation": correlation})


# ---- the suite -------------------------------------------------------------------------------


def bmi_suite() -> list[Task]:
    """Suite ``bmi``: the 40 tasks of BMI benchmark v1, in BMI's order."""
    binormal = bivariate_normal(0.75)
    uniform = normal_cdf_task(binormal)
    bistudent = student_task(1, 1, 1)
    one_dim = [binormal, uniform, additive_uniform(0.1), additive_uniform(0.75), bimodal_task(0.75),
               wiggly_task(binormal), half_cube_task(binormal), bistudent, asinh_task(bistudent)]
    embeddings = [swissroll_task(uniform)]
    multinormal = [multinormal_dense(d, d, 0.5) for d in (2, 3, 5, 25, 50)] + [
        multinormal_sparse(d, d, 2, 2.0) for d in (2, 3, 5, 25)]
    student = [student_task(dx, dx, dof) for dx, dof in ((2, 1), (2, 2), (3, 2), (3, 3), (5, 2), (5, 3))]
    sparse = [multinormal_sparse(d, d, 2, 2.0) for d in (3, 5, 25)]
    transformed = (
        [normal_cdf_task(b) for b in sparse]
        + [half_cube_task(b) for b in sparse]
        + [spiral_task(b) for b in sparse]
        + [spiral_task(normal_cdf_task(b)) for b in sparse]
        + [asinh_task(student_task(d, d, dof)) for d, dof in ((2, 1), (3, 2), (5, 2))]
    )
    return one_dim + embeddings + multinormal + student + transformed
