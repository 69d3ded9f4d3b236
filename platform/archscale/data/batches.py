"""Mini-batches from tensors that already live on the training device: no DataLoader, no copies per batch
beyond the gather of the batch itself."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import torch
from torch import Tensor

from archscale.data.splits import Split


class BatchIterator:
    """The batches of one pass over a split, re-iterable (one pass per `iter`).

    Every example is visited once per pass, in batches of `batch_size` (the last one may be smaller).
    With a `generator` (which must live on the split's device) each pass draws a fresh permutation
    with `torch.randperm` on that device; without one, batches follow the stored order and are
    views. `augment`, when given, transforms every input batch (e.g. `CropFlip`).
    """

    def __init__(
        self,
        split: Split,
        batch_size: int,
        *,
        generator: torch.Generator | None = None,
        augment: Callable[[Tensor], Tensor] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.split = split
        self.batch_size = batch_size
        self.generator = generator
        self.augment = augment

    def __len__(self) -> int:
        return math.ceil(len(self.split) / self.batch_size)

    def batch_sizes(self) -> list[int]:
        """The size of each batch of a pass, in order."""
        n, size = len(self.split), self.batch_size
        return [min(size, n - start) for start in range(0, n, size)]

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        x, y, size = self.split.x, self.split.y, self.batch_size
        order = None
        if self.generator is not None:
            order = torch.randperm(len(self.split), generator=self.generator, device=x.device)
        for start in range(0, len(self.split), size):
            if order is None:
                xb, yb = x[start : start + size], y[start : start + size]
            else:
                index = order[start : start + size]
                xb, yb = x[index], y[index]
            yield (xb if self.augment is None else self.augment(xb)), yb
