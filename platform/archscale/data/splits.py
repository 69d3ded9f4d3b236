"""A dataset in memory: train / validation / test tensors and the facts a model and a trainer need."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
from torch import Tensor


@dataclass(frozen=True)
class Normalization:
    """How raw values became the stored floats: `x = (raw / scale - mean[c]) / std[c]` per channel.

    `mean` and `std` have one entry per channel, or a single entry for all of them; `note` says where
    the constants come from. Identity (mean 0, std 1, scale 1) means the values are stored as given.
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]
    scale: float = 1.0
    note: str = ""

    def raw_zero(self, channels: int) -> Tensor:
        """The stored value of a raw 0 in each channel, shape (channels,): what zero padding looks like."""
        mean = torch.tensor(self.mean, dtype=torch.float32).expand(channels)
        std = torch.tensor(self.std, dtype=torch.float32).expand(channels)
        return -mean / std

    def __str__(self) -> str:
        raw = "x" if self.scale == 1 else f"x/{self.scale:g}"
        text = f"({raw} - {_floats(self.mean)}) / {_floats(self.std)}"
        return f"{text}; {self.note}" if self.note else text


def _floats(values: tuple[float, ...]) -> str:
    if len(values) == 1:
        return f"{values[0]:.4g}"
    return f"({', '.join(f'{v:.4g}' for v in values)})"


@dataclass(frozen=True)
class Split:
    """The examples of one split: `x` float32 of shape (N, *input_shape), `y` int64 class indices (N,)."""

    x: Tensor
    y: Tensor

    def __post_init__(self) -> None:
        if self.x.dtype != torch.float32 or self.y.dtype != torch.int64:
            raise TypeError(f"a Split holds float32 x and int64 y, got {self.x.dtype} and {self.y.dtype}")
        if self.x.shape[0] != self.y.shape[0] or self.y.dim() != 1:
            raise ValueError(f"x has {self.x.shape[0]} rows but y has shape {tuple(self.y.shape)}")

    def __len__(self) -> int:
        return self.y.shape[0]

    def take(self, index: Tensor) -> Split:
        """The examples at `index` (a 1-D int64 tensor), in that order."""
        return Split(self.x[index], self.y[index])

    def to(self, device: torch.device) -> Split:
        """This split on `device` (itself when it is already there)."""
        return Split(self.x.to(device), self.y.to(device))


@dataclass(frozen=True)
class Splits:
    """A dataset ready for training: the three splits plus what describes them.

    Contract: `train`, `val` and `test` are disjoint; `val` was carved from the dataset's training
    data (it may be empty), `test` is the dataset's own held-out data. Every `x` has shape
    (N, *input_shape); every label is in 0..num_classes-1. `augment_padding` is the padding of the
    dataset's standard random-crop-and-flip augmentation, None when it has none (flat or tiny inputs).
    `class_names` name labels 0..K-1 where the data names them; `digest` is the sha256 of the files
    a dataset read from a user's files was read from (None for the others).
    """

    name: str
    train: Split
    val: Split
    test: Split
    input_shape: tuple[int, ...]
    num_classes: int
    normalization: Normalization
    augment_padding: int | None = None
    class_names: tuple[str, ...] | None = None
    digest: str | None = None

    @property
    def device(self) -> torch.device:
        return self.train.x.device

    def to(self, device: torch.device) -> Splits:
        """All three splits on `device`."""
        return replace(self, train=self.train.to(device), val=self.val.to(device), test=self.test.to(device))

    def flatten(self) -> Splits:
        """Inputs flattened to vectors (for MLPs); flat inputs have no crop augmentation."""
        features = math.prod(self.input_shape)

        def flat(split: Split) -> Split:
            return Split(split.x.reshape(len(split), features), split.y)

        return replace(
            self,
            train=flat(self.train),
            val=flat(self.val),
            test=flat(self.test),
            input_shape=(features,),
            augment_padding=None,
        )
