"""Image tasks: ids, shapes, and the truth checked independently (latent recovery from pixels,
canonical correlations of the latents, pixel values against brute-force rendering)."""

import math

import numpy as np
import pytest
from mibench.tasks.images import MIN_SIDE, SIGMA, image_task, rect_edges
from scipy.special import ndtr

import mibench

SIZES, MIS = (16, 32), (0.1, 1.0, 2.5, 5.0, 7.5, 10.0)


def test_suite_ids_and_shapes():
    tasks = mibench.list_tasks("images")
    ids = {t.id for t in tasks}
    assert len(tasks) == 24
    assert {f"image-{k}-{s}-{mi}" for k in ("gauss", "rect") for s in SIZES for mi in MIS} == ids
    t = mibench.get_task("image-rect-32-10.0")
    assert t.is_image and t.x_shape == (1, 32, 32) and t.mutual_information == 10.0
    x, y = t.sample(50, 3)
    assert x.shape == y.shape == (50, 1, 32, 32) and x.dtype == np.float32
    assert 0 <= x.min() and x.max() <= 1 and 0 <= y.min() and y.max() <= 1
    x2, _ = t.sample(50, 3)
    assert np.array_equal(x, x2)
    assert not np.array_equal(x, t.sample(50, 4)[0])


def _cca_mi(zx, zy):
    """MI of a Gaussian from its sample canonical correlations (independent of the task's rho formula)."""
    d = zx.shape[1]
    c = np.cov(np.column_stack([zx, zy]), rowvar=False)
    sxx, syy, sxy = c[:d, :d], c[d:, d:], c[:d, d:]
    m = np.linalg.solve(sxx, sxy) @ np.linalg.solve(syy, sxy.T)
    r2 = np.sort(np.linalg.eigvals(m).real)
    return r2, c


@pytest.mark.parametrize("kind,mi", [("gauss", 1.0), ("gauss", 10.0), ("rect", 0.1), ("rect", 5.0)])
def test_latent_mi_from_canonical_correlations(kind, mi):
    task = image_task(kind, 16, mi)
    d = 2 if kind == "gauss" else 4
    n = 200_000
    zx, zy = task._sampler.latents(n, np.random.default_rng(1))
    r2, c = _cca_mi(zx, zy)
    # identity marginals
    np.testing.assert_allclose(c[:d, :d], np.eye(d), atol=0.015)
    np.testing.assert_allclose(c[d:, d:], np.eye(d), atol=0.015)
    # every canonical pair carries mi / d nats: -1/2 log(1 - r^2) per pair, summed
    per_pair = -0.5 * np.log1p(-r2)
    np.testing.assert_allclose(per_pair, mi / d, rtol=0.03, atol=0.003)
    assert abs(per_pair.sum() - mi) < 0.03 * mi + 0.005
    # the rotation really mixes: the cross-covariance is not diagonal
    assert np.abs(c[:d, d:] - np.diag(np.diag(c[:d, d:]))).max() > 0.05 * math.sqrt(1 - math.exp(-2 * mi / d))


def _fit_bump_centres(img):
    """Least-squares fit of log(pixel) = -|g - mu|^2 / (2 sigma^2) (linear in mu after expanding)."""
    n, _, s, _ = img.shape
    g = np.linspace(0, 1, s)
    gr, gc = np.meshgrid(g, g, indexing="ij")
    logi = np.log(img[:, 0].astype(np.float64)).reshape(n, -1)
    # log I + (gc^2 + gr^2) / (2 s^2) = (mu1 gc + mu2 gr) / s^2 - |mu|^2 / (2 s^2)
    lhs = logi + ((gc**2 + gr**2) / (2 * SIGMA**2)).ravel()
    design = np.column_stack([gc.ravel(), gr.ravel(), np.ones(s * s)]) / SIGMA**2
    coef, *_ = np.linalg.lstsq(design, lhs.T, rcond=None)
    return coef[:2].T


@pytest.mark.parametrize("size", SIZES)
def test_bump_centre_recovered_from_pixels(size):
    task = image_task("gauss", size, 5.0)
    x, y = task.sample(400, 7)
    zx, zy = task._sampler.latents(400, np.random.default_rng(7))
    for img, z in ((x, zx), (y, zy)):
        mu = _fit_bump_centres(img)
        np.testing.assert_allclose(mu, ndtr(z), atol=2e-4)


def test_bump_pixels_match_direct_formula():
    task = image_task("gauss", 16, 2.5)
    x, _ = task.sample(5, 0)
    zx, _ = task._sampler.latents(5, np.random.default_rng(0))
    mu = ndtr(zx)
    g = np.linspace(0, 1, 16)
    for i in range(5):
        direct = np.array([[math.exp(-((c - mu[i, 0]) ** 2 + (r - mu[i, 1]) ** 2) / (2 * SIGMA**2)) for c in g]
                           for r in g])
        np.testing.assert_allclose(x[i, 0], direct, rtol=1e-5, atol=1e-7)


def _edges_from_pixels(img):
    """Edges (x-left, x-right, y-top, y-bottom) from coverage: the full rows/columns have value 1, so the
    column profile is the max over rows; a = (first partially/fully covered pixel + 1 - its coverage)/s."""
    s = img.shape[-1]
    out = []
    for prof in (img[:, 0].max(axis=1), img[:, 0].max(axis=2)):  # columns (x), rows (y)
        prof = prof.astype(np.float64)
        first = np.argmax(prof > 0, axis=1)
        last = s - 1 - np.argmax(prof[:, ::-1] > 0, axis=1)
        rows = np.arange(len(prof))
        a = (first + 1 - prof[rows, first]) / s
        b = (last + prof[rows, last]) / s
        out += [a, b]
    return np.column_stack(out)


def _unit_from_edges(a, b):
    """Inverse of the edge map, derived by hand: t = b - MIN_SIDE, u1 = (t / 0.8)^2, u2 = (b - a - MIN_SIDE) / t."""
    t = b - MIN_SIDE
    return (t / (1 - MIN_SIDE)) ** 2, (b - a - MIN_SIDE) / t


@pytest.mark.parametrize("size", SIZES)
def test_rectangle_latent_recovered_from_pixels(size):
    task = image_task("rect", size, 7.5)
    x, y = task.sample(400, 11)
    zx, zy = task._sampler.latents(400, np.random.default_rng(11))
    for img, z in ((x, zx), (y, zy)):
        e = _edges_from_pixels(img)
        assert np.all(e[:, 1] - e[:, 0] >= MIN_SIDE - 1e-5) and np.all(e[:, 3] - e[:, 2] >= MIN_SIDE - 1e-5)
        assert e.min() >= -1e-6 and e.max() <= 1 + 1e-6
        u = np.column_stack([*_unit_from_edges(e[:, 0], e[:, 1]), *_unit_from_edges(e[:, 2], e[:, 3])])
        # sub-pixel precision: edges to 1e-5 image units; u2 divides by t, so compare where t is not tiny
        t_ok = (e[:, 1] - MIN_SIDE > 0.02) & (e[:, 3] - MIN_SIDE > 0.02)
        np.testing.assert_allclose(u[t_ok], ndtr(z)[t_ok], atol=2e-4)


def test_rectangle_pixels_match_supersampling():
    task = image_task("rect", 16, 1.0)
    x, _ = task.sample(4, 2)
    zx, _ = task._sampler.latents(4, np.random.default_rng(2))
    u = ndtr(zx)
    ax, bx = rect_edges(u[:, 0], u[:, 1])
    ay, by = rect_edges(u[:, 2], u[:, 3])
    k = 64  # sub-samples per pixel side
    pts = (np.arange(16 * k) + 0.5) / (16 * k)
    for i in range(4):
        inside = ((pts >= ay[i]) & (pts <= by[i]))[:, None] & ((pts >= ax[i]) & (pts <= bx[i]))[None, :]
        cover = inside.reshape(16, k, 16, k).mean(axis=(1, 3))
        np.testing.assert_allclose(x[i, 0], cover, atol=2.0 / k)


def test_edge_map_is_uniform_on_the_triangle():
    """Monte Carlo: uniform (u1, u2) give (a, b) uniform on {0 <= a, b <= 1, b - a >= 0.2}: compare the
    centroid and the second moments with the triangle's exact values (vertices (0,.2), (0,1), (.8,1))."""
    rng = np.random.default_rng(0)
    a, b = rect_edges(rng.random(400_000), rng.random(400_000))
    assert np.all(a >= 0) and np.all(b <= 1) and np.all(b - a >= MIN_SIDE - 1e-12)
    v = np.array([[0, 0.2], [0, 1.0], [0.8, 1.0]])
    centroid = v.mean(0)
    # second moment of a uniform triangle: E[p p^T] = (sum_i v_i v_i^T + 9 c c^T) / 12
    m2 = (v.T @ v + 9 * np.outer(centroid, centroid)) / 12
    p = np.column_stack([a, b])
    np.testing.assert_allclose(p.mean(0), centroid, atol=2e-3)
    np.testing.assert_allclose(p.T @ p / len(p), m2, atol=2e-3)
    # and the histogram over a grid of cells fully inside the triangle is flat
    h, _, _ = np.histogram2d(a, b, bins=10, range=[[0, 1], [0, 1]])
    inner = [(i, j) for i in range(10) for j in range(10) if (j / 10) - (i + 1) / 10 >= MIN_SIDE and i < 8]
    counts = np.array([h[i, j] for i, j in inner])
    expected = len(a) * 0.01 / 0.32
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))


def test_bad_parameters():
    with pytest.raises(mibench.MibenchError):
        image_task("circle", 16, 1.0)
    with pytest.raises(mibench.MibenchError):
        image_task("gauss", 16, 0.0)
