"""Image tasks with known mutual information (suite ``images``): Gaussian latents rendered as
bumps or rectangles by ``mibench.samplers.ImageSampler`` (its docstring states the construction and
why MI(images) = MI(latents)).

Ids: ``image-{gauss|rect}-{s}-{I}`` for s in {16, 32} and I in {0.1, 1, 2.5, 5, 7.5, 10} (24 tasks).
Samples are float32 arrays of shape (n, 1, s, s) in [0, 1].
"""

from __future__ import annotations

import zlib

from mibench import MibenchError, Task
from mibench.samplers.images import MIN_SIDE, SHAPES, SIGMA, ImageSampler, rect_edges

SIZES = (16, 32)
MIS = (0.1, 1.0, 2.5, 5.0, 7.5, 10.0)
__all__ = ["MIN_SIDE", "MIS", "SIGMA", "SIZES", "ImageSampler", "image_task", "images_suite", "rect_edges"]


def image_task(shape: str, size: int, mi: float) -> Task:
    if size < 4:
        raise MibenchError(f"image size must be >= 4, got {size}")
    mi = float(mi)
    if not mi > 0:
        raise MibenchError(f"image tasks need a positive mutual information, got {mi}")
    task_id = f"image-{shape}-{size}-{mi}"
    sampler = ImageSampler(shape, size, mi, rotation_seed=zlib.crc32(task_id.encode()))
    what = "Gaussian bump" if shape == "gauss" else "rectangle"
    return Task(
        task_id, family=f"image-{shape}", sampler=sampler, mutual_information=mi,
        x_shape=(1, size, size), y_shape=(1, size, size),
        name=f"{what} images {size}x{size}, I={mi}",
        params={"shape": shape, "size": size, "latent_dim": SHAPES[shape], "rho": sampler.rho},
        description=f"{what} images rendered from {SHAPES[shape]}-d Gaussian latents with MI {mi} nats",
    )


def images_suite() -> list[Task]:
    """Suite ``images``: Gaussian bumps and rectangles, s in {16, 32}, I in {0.1, 1, 2.5, 5, 7.5, 10}."""
    return [image_task(shape, s, mi) for shape in SHAPES for s in SIZES for mi in MIS]
