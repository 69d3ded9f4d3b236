"""Deterministic partitions of a labelled set: a held-out part by fraction, a random subset by count.

Both draw from the `torch.Generator` they are given (a CPU one), so the same seed gives the same
indices on every machine and torch version that keeps `randperm` stable. Returned indices are sorted,
so a partition keeps the data's original order.
"""

from __future__ import annotations

import torch
from torch import Tensor


def holdout(y: Tensor, fraction: float, generator: torch.Generator, *, stratify: bool) -> tuple[Tensor, Tensor]:
    """Split indices 0..N-1 of labels `y` into (kept, held_out), with about `fraction` of N held out.

    Stratified, each class gives round(fraction · its count) examples, so class proportions match;
    otherwise round(fraction · N) examples are drawn uniformly.
    """
    n = y.shape[0]
    perm = torch.randperm(n, generator=generator)
    if stratify:
        by_class = perm[torch.sort(y[perm], stable=True).indices]
        labels = y[by_class]
        counts = torch.bincount(labels)
        starts = torch.cumsum(counts, 0) - counts
        rank = torch.arange(n) - starts[labels]
        quota = torch.round(counts.double() * fraction).long()
        out = rank < quota[labels]
        held, kept = by_class[out], by_class[~out]
    else:
        cut = round(n * fraction)
        held, kept = perm[:cut], perm[cut:]
    return torch.sort(kept).values, torch.sort(held).values


def subset(n: int, size: int, generator: torch.Generator) -> Tensor:
    """`min(size, n)` indices of 0..n-1 drawn uniformly without replacement."""
    return torch.sort(torch.randperm(n, generator=generator)[:size]).values
