"""Seeded Gaussian class clusters of any shape, number of classes and size: for benchmarks and tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from archscale.data.registry import Source, register_dataset
from archscale.data.splits import Normalization, Split
from archscale.errors import UserError


@register_dataset("synthetic")
def synthetic(
    root: Path | None,
    *,
    shape: Sequence[int] = (3, 32, 32),
    classes: int = 10,
    train_size: int = 5000,
    test_size: int = 1000,
    noise: float = 1.0,
    seed: int = 0,
) -> Source:
    """Examples `centre[y] + noise · N(0, I)` with class centres drawn from N(0, I) and uniform labels.

    Everything is drawn from `seed`, so the same arguments give the same data. Image-shaped data
    (3-D `shape`) gets the CIFAR-style crop augmentation (padding 4). `root` is ignored.
    """
    dims = tuple(int(d) for d in shape)
    if not dims or min(dims) < 1:
        raise UserError(f"synthetic: shape must be positive sizes, got {list(shape)}")
    if classes < 2 or train_size < 1 or test_size < 1 or noise < 0:
        raise UserError(
            "synthetic: needs classes >= 2, train_size and test_size >= 1 and noise >= 0, got "
            f"classes={classes}, train_size={train_size}, test_size={test_size}, noise={noise}"
        )
    generator = torch.Generator().manual_seed(seed)
    centres = torch.randn(classes, *dims, generator=generator)

    def draw(n: int) -> Split:
        y = torch.randint(classes, (n,), generator=generator)
        return Split(centres[y] + noise * torch.randn(n, *dims, generator=generator), y)

    return Source(
        train=draw(train_size),
        test=draw(test_size),
        input_shape=dims,
        num_classes=classes,
        normalization=Normalization((0.0,), (1.0,), note="generated; not rescaled"),
        augment_padding=4 if len(dims) == 3 else None,
    )
