"""Digits tasks: the truth by enumeration of the label channel, the data-set conditions it rests on
(labels are functions of the images, also after shifts), the sampler's channel, the nuisance
variants and determinism."""

import itertools
import math

import numpy as np
import pytest
from mibench.tasks.digits import DigitsSampler, digits_data, digits_mi, digits_task, shift_blocks

import mibench

BLOCKS, EPS = (1, 2, 4), (0.0, 0.1, 0.3, 0.6)


def _channel_matrix(eps):
    """P(L' = b | L = a), written from the definition (stay with 1 - eps, else one of 9 uniformly)."""
    q = np.full((10, 10), eps / 9)
    np.fill_diagonal(q, 1 - eps)
    return q


def _mi_by_enumeration(m, eps):
    """I(L; L') = sum over all 10^m x 10^m label tuples of P log P / (P(l) P(l')), marginals summed from
    the table (built in chunks over the first label of L)."""
    q = _channel_matrix(eps)
    rest = np.ones((1, 1))
    for _ in range(m - 1):
        rest = np.kron(rest, q)
    rest /= 10.0 ** (m - 1)

    def chunk(a):  # rows: L with first label a; columns: all L'
        return np.kron(q[a : a + 1] / 10, rest)

    p_l = np.concatenate([chunk(a).sum(axis=1) for a in range(10)])
    p_lp = sum(chunk(a).sum(axis=0) for a in range(10))
    total, mi = 0.0, 0.0
    for a in range(10):
        p = chunk(a)
        total += p.sum()
        rows = p_l[a * len(rest) : (a + 1) * len(rest)]
        nz = p > 0
        mi += np.sum(p[nz] * np.log(p[nz] / np.outer(rows, p_lp)[nz]))
    assert abs(total - 1) < 1e-12
    return mi


@pytest.mark.parametrize("m", (1, 2, 3))
def test_truth_by_enumeration_of_the_label_channel(m):
    """m = 1, 2 are suite tasks; m = 3 (a 1000 x 1000 table) checks the growth in m that m = 4 relies on
    (its 10^8-entry table would take ~10 s here)."""
    for eps in EPS:
        assert digits_mi(m, eps) == pytest.approx(_mi_by_enumeration(m, eps), abs=1e-9)
    for t in mibench.list_tasks("digits"):
        assert t.mutual_information == digits_mi(t.params["digits"], t.params["eps"])
    assert mibench.get_task("digits-4-0.0").mutual_information == pytest.approx(4 * math.log(10), abs=1e-12)


def test_suite_ids_shapes_and_range():
    tasks = mibench.list_tasks("digits")
    assert len(tasks) == 36
    expected = {f"digits-{tag}{m}-{eps}" for tag in ("", "noise-", "shift-") for m in BLOCKS for eps in EPS}
    assert {t.id for t in tasks} == expected
    assert max(t.mutual_information for t in tasks) == pytest.approx(9.2103, abs=1e-4)
    for tid in ("digits-1-0.1", "digits-noise-2-0.3", "digits-shift-4-0.6"):
        t = mibench.get_task(tid)
        m = t.params["digits"]
        assert t.is_image and t.x_shape == t.y_shape == (1, 8, 8 * m)
        x, y = t.sample(64, 5)
        assert x.shape == y.shape == (64, 1, 8, 8 * m) and x.dtype == np.float32
        assert 0 <= x.min() and x.max() <= 1 and 0 <= y.min() and y.max() <= 1


def test_no_two_identical_images_carry_different_labels():
    images, labels = digits_data()
    assert images.shape == (1797, 8, 8) and np.all(images == np.round(images)) and images.max() == 16
    flat = images.reshape(len(images), -1)
    _, inverse, counts = np.unique(flat, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    for g in np.flatnonzero(counts > 1):
        assert len(set(labels[inverse == g])) == 1
    # every class is populated (the sampler draws within each class)
    assert np.bincount(labels, minlength=10).min() > 150


def test_shifted_images_of_different_labels_never_coincide():
    """The condition behind the shift variant's truth: over all 9 shifts of all images, equal arrays
    carry equal labels (so the label is a function of the shifted image)."""
    images, labels = digits_data()
    n = len(images)
    shifted, labs = [], []
    for dr, dc in itertools.product((-1, 0, 1), repeat=2):
        shifted.append(shift_blocks(images, np.full(n, dr), np.full(n, dc)).reshape(n, -1))
        labs.append(labels)
    a, lab = np.concatenate(shifted), np.concatenate(labs)
    _, inverse, counts = np.unique(a, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    for g in np.flatnonzero(counts > 1):
        assert len(set(lab[inverse == g])) == 1


def test_shift_blocks_moves_content():
    img = np.zeros((1, 8, 8))
    img[0, 3, 4] = 1.0
    out = shift_blocks(img, np.array([1]), np.array([-1]))
    assert out[0, 4, 3] == 1.0 and out.sum() == 1.0
    edge = np.zeros((1, 8, 8))
    edge[0, 7, 0] = 1.0
    assert shift_blocks(edge, np.array([1]), np.array([0])).sum() == 0.0  # zero fill, content leaves


def _label_lookup():
    images, labels = digits_data()
    return {img.astype(np.int64).tobytes(): int(lab) for img, lab in zip(images, labels)}


def _recover_labels(x, m, lookup, levels=16):
    """Labels of each 8 x 8 block by exact lookup of the integer image."""
    blocks = np.rint(x[:, 0] * levels).astype(np.int64).reshape(len(x), 8, m, 8).transpose(0, 2, 1, 3)
    return np.array([[lookup[b.tobytes()] for b in row] for row in blocks])


def test_sampler_implements_the_label_channel():
    """Labels read back from the images are the sampler's labels; the flip rate is eps and flips are
    uniform over the other 9 labels; the plug-in MI of the read-back labels matches the truth."""
    lookup = _label_lookup()
    task = mibench.get_task("digits-2-0.3")
    n = 20_000
    x, y = task.sample(n, 3)
    lx, ly = DigitsSampler(2, 0.3).labels(n, np.random.default_rng(3))
    rx, ry = _recover_labels(x, 2, lookup), _recover_labels(y, 2, lookup)
    assert np.array_equal(rx, lx) and np.array_equal(ry, ly)
    flips = rx != ry
    rate = flips.mean()
    assert abs(rate - 0.3) < 4 * math.sqrt(0.3 * 0.7 / flips.size)
    offsets = ((ry - rx) % 10)[flips]
    counts = np.bincount(offsets, minlength=10)
    assert counts[0] == 0
    expected = flips.sum() / 9
    assert np.all(np.abs(counts[1:] - expected) < 5 * math.sqrt(expected))
    assert np.all(np.abs(np.bincount(rx.ravel(), minlength=10) - rx.size / 10) < 5 * math.sqrt(rx.size / 10))
    # plug-in MI of one position's labels (bias ~ 81 / (2n) = 0.002 nats)
    joint = np.bincount(rx[:, 0] * 10 + ry[:, 0], minlength=100).reshape(10, 10) / n
    nz = joint > 0
    plug_in = np.sum(joint[nz] * np.log(joint[nz] / np.outer(joint.sum(1), joint.sum(0))[nz]))
    assert abs(2 * plug_in - task.mutual_information) < 0.05


def test_images_are_uniform_within_their_class():
    """Each image of a class is drawn equally often (chi-square-like bound on the counts)."""
    images, labels = digits_data()
    task = mibench.get_task("digits-1-0.0")
    n = 60_000
    x, _ = task.sample(n, 11)
    index = {img.astype(np.int64).tobytes(): i for i, img in enumerate(images)}
    hits = np.bincount([index[b.tobytes()] for b in np.rint(x[:, 0] * 16).astype(np.int64)], minlength=len(images))
    expected = n / 10 / np.bincount(labels)[labels]
    z = (hits - expected) / np.sqrt(expected)
    assert abs(np.mean(z**2) - 1) < 0.15 and np.abs(z).max() < 6


def test_nuisance_variants_keep_the_label_and_the_truth():
    lookup = _label_lookup()
    n = 2000
    for m in (1, 4):
        plain = mibench.get_task(f"digits-{m}-0.1")
        noisy = mibench.get_task(f"digits-noise-{m}-0.1")
        shifted = mibench.get_task(f"digits-shift-{m}-0.1")
        assert plain.mutual_information == noisy.mutual_information == shifted.mutual_information
        px, py = plain.sample(n, 9)
        nx, ny = noisy.sample(n, 9)
        sx, sy = shifted.sample(n, 9)
        # dequantisation: floor(17 x) is the clean pixel value, recovered exactly; no constant pixels
        for clean, dirty in ((px, nx), (py, ny)):
            assert np.array_equal(np.floor(dirty.astype(np.float64) * 17) / 16, clean.astype(np.float64))
            assert np.all(dirty.reshape(n, -1).std(axis=0) > 0)
        # shifts: a shifted version of the same clean digits, labels still recovered by lookup
        lx, ly = DigitsSampler(m, 0.1).labels(n, np.random.default_rng(9))
        shifts = {}
        images, labels = digits_data()
        for dr, dc in itertools.product((-1, 0, 1), repeat=2):
            moved = shift_blocks(images, np.full(len(images), dr), np.full(len(images), dc)).astype(np.int64)
            shifts.update({img.tobytes(): int(lab) for img, lab in zip(moved, labels)})
        assert np.array_equal(_recover_labels(sx, m, shifts), lx)
        assert np.array_equal(_recover_labels(sy, m, shifts), ly)
        assert np.array_equal(_recover_labels(px, m, lookup), lx)
        assert not np.array_equal(sx, px)


def test_deterministic_and_global_rng_untouched():
    task = mibench.get_task("digits-shift-2-0.6")
    state = np.random.get_state()[1].copy()
    a = task.sample(300, 1)
    b = task.sample(300, 1)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], task.sample(300, 2)[0])
    assert np.array_equal(np.random.get_state()[1], state)


def test_bad_parameters():
    with pytest.raises(mibench.MibenchError, match="eps"):
        digits_task(1, 1.0)
    with pytest.raises(mibench.MibenchError, match="nuisance"):
        digits_task(1, 0.1, "blur")
    with pytest.raises(mibench.MibenchError, match="positive integer"):
        digits_task(0, 0.1)
