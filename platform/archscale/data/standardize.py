"""How a dataset's inputs are standardised: the loader's own constants, or per feature from the training split.

- `global` (the default): the values the loader returns, standardised with one mean and std for all
  features (digits: of the training pixels, validation included; mnist1d: by the package itself).
- `per-feature`: then, each feature j (every element of the per-sample shape) becomes
  (x_j - mean_j) / std_j with the mean and population std of the *training split only* (after the
  validation carve; never validation or test examples), applied alike to all three splits. A feature
  that is constant on the training split (std <= `CONSTANT_STD`) is only centred: std_j = 1, so it is
  0 on the training split and finite everywhere.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor

from archscale.data.splits import Normalization, Split, Splits
from archscale.errors import UserError

STANDARDIZE_MODES = ("global", "per-feature")

CONSTANT_STD = 1e-6
"""A training std at or below this (inputs are already globally standardised, so of order 1) marks
a constant feature."""


def standardize_mode(name: str) -> str:
    """The mode named `name` (case-insensitive, '_' same as '-'); UserError when unknown."""
    key = name.strip().lower().replace("_", "-")
    if key not in STANDARDIZE_MODES:
        raise UserError(f"unknown standardize mode '{name}'; known: {', '.join(STANDARDIZE_MODES)}")
    return key


def feature_stats(x: Tensor) -> tuple[Tensor, Tensor]:
    """Per-feature mean and population std (ddof 0) over the rows of `x` (N, *shape), in float32,
    with std 1 for the constant features. Computed in float64."""
    x64 = x.to(torch.float64)
    mean = x64.mean(dim=0)
    std = x64.std(dim=0, correction=0)
    std = torch.where(std <= CONSTANT_STD, torch.ones_like(std), std)
    return mean.to(torch.float32), std.to(torch.float32)


def standardize_per_feature(splits: Splits) -> Splits:
    """`splits` with every split standardised per feature by the training split's statistics.

    Raise UserError for a dataset with crop augmentation (its padding value and translation
    invariance assume one statistic per channel).
    """
    if splits.augment_padding is not None:
        raise UserError(
            f"dataset {splits.name}: per-feature standardisation is for datasets without crop augmentation "
            f"(this one pads {splits.augment_padding}); use standardize: global"
        )
    mean, std = feature_stats(splits.train.x)

    def apply(split: Split) -> Split:
        return Split((split.x - mean) / std, split.y)

    previous = splits.normalization
    note = f"then per feature by the mean and std of the {len(splits.train)} training examples"
    normalization = Normalization(
        previous.mean, previous.std, previous.scale, f"{previous.note}; {note}" if previous.note else note
    )
    return replace(
        splits,
        train=apply(splits.train),
        val=apply(splits.val),
        test=apply(splits.test),
        normalization=normalization,
    )
