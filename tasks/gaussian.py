"""Multivariate normal tasks, with BMI's ids and constructions ("Beyond Normal", NeurIPS 2023).

Truth: I(X; Y) = 1/2 (log det Sigma_X + log det Sigma_Y - log det Sigma), in nats.
"""

from __future__ import annotations

import numpy as np

from mibench import MibenchError, Task


class SplitNormalSampler:
    """Draws Z ~ N(0, Sigma) through a Cholesky factor and splits it into (X, Y)."""

    def __init__(self, covariance: np.ndarray, dim_x: int) -> None:
        self.covariance = np.asarray(covariance, dtype=float)
        self.dim_x = dim_x
        self.cholesky = _cholesky(self.covariance)

    def __call__(self, n: int, rng: np.random.Generator):
        z = rng.standard_normal((n, len(self.covariance))) @ self.cholesky.T
        return z[:, : self.dim_x], z[:, self.dim_x :]


def gaussian_mi(covariance: np.ndarray, dim_x: int) -> float:
    """Mutual information (nats) between the first dim_x and the remaining coordinates."""
    cov = np.asarray(covariance, dtype=float)
    _cholesky(cov)
    logdet = lambda m: np.linalg.slogdet(m)[1]  # noqa: E731
    return 0.5 * (logdet(cov[:dim_x, :dim_x]) + logdet(cov[dim_x:, dim_x:]) - logdet(cov))


def normal_task(task_id: str, covariance, dim_x: int, *, name: str, family: str = "multinormal",
                params: dict | None = None) -> Task:
    cov = np.asarray(covariance, dtype=float)
    _check_dims(dim_x, len(cov) - dim_x)
    return Task(
        task_id, family=family, sampler=SplitNormalSampler(cov, dim_x),
        mutual_information=gaussian_mi(cov, dim_x), dim_x=dim_x, dim_y=len(cov) - dim_x,
        name=name, params=params or {},
    )


def bivariate_normal(correlation: float = 0.75) -> Task:
    _check_corr(correlation)
    cov = np.array([[1.0, correlation], [correlation, 1.0]])
    return normal_task(f"1v1-normal-{correlation}", cov, 1, name=f"Bivariate normal, rho={correlation}",
                       family="bivariate-normal", params={"correlation": correlation})


def dense_covariance(dim_x: int, dim_y: int, off_diag: float) -> np.ndarray:
    """Unit variances, every off-diagonal entry ``off_diag`` (BMI's "dense" multinormal)."""
    _check_dims(dim_x, dim_y)
    d = dim_x + dim_y
    if not -1.0 / (d - 1) < off_diag < 1:
        raise MibenchError(f"off-diagonal correlation {off_diag} must lie in (-1/(d-1), 1) for d = {d}")
    return np.eye(d) * (1 - off_diag) + off_diag


def multinormal_dense(dim_x: int, dim_y: int, off_diag: float = 0.5) -> Task:
    cov = dense_covariance(dim_x, dim_y, off_diag)
    return normal_task(f"multinormal-dense-{dim_x}-{dim_y}-{off_diag}", cov, dim_x,
                       name=f"Multinormal {dim_x} x {dim_y} (dense)", params={"off_diag": off_diag})


def lvm_correlation(dim_x: int, dim_y: int, n_interacting: int, alpha: float = 0.0, lambd: float = 2.0,
                    beta: float = 0.0, eta: float | None = None, epsilon: float = 1.0) -> np.ndarray:
    """BMI's latent-variable covariance (GaussianLVMParametrization), normalised to a correlation matrix.

    Every variable gets epsilon * own noise, alpha * a shared latent and beta * a latent shared
    within its block; pair i < n_interacting shares lambd * Z_i between X_i and Y_i; the other
    coordinates get eta * extra noise (eta defaults to lambd) so that all variances match.
    """
    _check_dims(dim_x, dim_y)
    if not 0 <= n_interacting <= min(dim_x, dim_y):
        raise MibenchError(f"n_interacting={n_interacting} must lie in [0, min(dim_x, dim_y)]")
    eta = lambd if eta is None else eta
    d = dim_x + dim_y
    cov = np.full((d, d), alpha**2)
    cov[:dim_x, :dim_x] += beta**2
    cov[dim_x:, dim_x:] += beta**2
    cov[np.diag_indices(d)] += epsilon**2
    for i in range(n_interacting):
        j = dim_x + i
        cov[i, j] += lambd**2
        cov[j, i] += lambd**2
        cov[i, i] += lambd**2
        cov[j, j] += lambd**2
    for i in list(range(n_interacting, dim_x)) + list(range(dim_x + n_interacting, d)):
        cov[i, i] += eta**2
    s = np.sqrt(np.diag(cov))
    return cov / np.outer(s, s)


def multinormal_sparse(dim_x: int, dim_y: int, n_interacting: int = 2, strength: float = 2.0) -> Task:
    cov = lvm_correlation(dim_x, dim_y, n_interacting, alpha=0.0, lambd=strength, beta=0.0, eta=strength)
    return normal_task(f"multinormal-sparse-{dim_x}-{dim_y}-{n_interacting}-{strength}", cov, dim_x,
                       name=f"Multinormal {dim_x} x {dim_y} (sparse)",
                       params={"n_interacting": n_interacting, "strength": strength})


def gaussian_suite() -> list[Task]:
    """Suite ``gaussian``: BMI's bivariate, dense and sparse multinormal tasks."""
    return (
        [bivariate_normal(0.75)]
        + [multinormal_dense(d, d, 0.5) for d in (2, 3, 5, 25, 50)]
        + [multinormal_sparse(d, d, 2, 2.0) for d in (2, 3, 5, 25)]
    )


def _cholesky(cov: np.ndarray) -> np.ndarray:
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1] or not np.allclose(cov, cov.T):
        raise MibenchError("covariance must be a symmetric square matrix")
    try:
        return np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise MibenchError("covariance matrix is not positive definite") from None


def _check_corr(rho: float) -> None:
    if not -1 < rho < 1:
        raise MibenchError(f"correlation must lie in (-1, 1), got {rho}")


def _check_dims(dim_x: int, dim_y: int) -> None:
    if dim_x < 1 or dim_y < 1:
        raise MibenchError(f"dimensions must be >= 1, got dim_x={dim_x}, dim_y={dim_y}")
