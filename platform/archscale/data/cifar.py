"""CIFAR-10 and CIFAR-100 from the standard "python version" pickle files in a local directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from archscale.data.batchfiles import decode_images, find_directory, read_batch
from archscale.data.registry import Source, register_dataset
from archscale.data.splits import Normalization, Split
from archscale.errors import UserError

SHAPE = (3, 32, 32)


@dataclass(frozen=True)
class _Layout:
    """Where one CIFAR variant keeps what, and how its pixels are normalised."""

    name: str
    folder: str
    train_files: tuple[str, ...]
    test_files: tuple[str, ...]
    label_key: str
    classes: int
    normalization: Normalization
    expected: str

    def read(self, directory: Path, files: tuple[str, ...]) -> Split:
        row = SHAPE[0] * SHAPE[1] * SHAPE[2]
        batches = [read_batch(directory / name, self.name, self.label_key, row) for name in files]
        rows = np.concatenate([data for data, _ in batches])
        labels = np.concatenate([y for _, y in batches])
        if labels.min() < 0 or labels.max() >= self.classes:
            raise UserError(f"{self.name}: {', '.join(files)} in {directory} have labels outside 0..{self.classes - 1}")
        return Split(decode_images(rows, SHAPE, self.normalization), torch.from_numpy(labels))

    def load(self, root: Path | None) -> Source:
        directory = find_directory(root, self.name, self.folder, self.train_files + self.test_files, self.expected)
        return Source(
            train=self.read(directory, self.train_files),
            test=self.read(directory, self.test_files),
            input_shape=SHAPE,
            num_classes=self.classes,
            normalization=self.normalization,
            augment_padding=4,
        )


CIFAR10 = _Layout(
    name="cifar10",
    folder="cifar-10-batches-py",
    train_files=tuple(f"data_batch_{i}" for i in range(1, 6)),
    test_files=("test_batch",),
    label_key="labels",
    classes=10,
    normalization=Normalization(
        mean=(0.49139968, 0.48215827, 0.44653124),
        std=(0.2023, 0.1994, 0.2010),
        scale=255,
        note="the paper's code (its std is the common, slightly wrong one; paper-spec D22)",
    ),
    expected="data_batch_1..5 and test_batch (the 'CIFAR-10 python version' files)",
)
CIFAR100 = _Layout(
    name="cifar100",
    folder="cifar-100-python",
    train_files=("train",),
    test_files=("test",),
    label_key="fine_labels",
    classes=100,
    normalization=Normalization(
        mean=(129.3 / 255, 124.1 / 255, 112.4 / 255),
        std=(68.2 / 255, 65.4 / 255, 70.4 / 255),
        scale=255,
        note="NAS-Bench-201's CIFAR-100 constants (the paper's code reuses the CIFAR-10 ones)",
    ),
    expected="train and test (the 'CIFAR-100 python version' files)",
)


@register_dataset("cifar10")
def cifar10(root: Path | None) -> Source:
    """CIFAR-10: `data_batch_1..5` (50,000 training images) and `test_batch` (10,000), 10 classes.

    `root` is the `cifar-10-batches-py` folder or the folder containing it.
    """
    return CIFAR10.load(root)


@register_dataset("cifar100")
def cifar100(root: Path | None) -> Source:
    """CIFAR-100: `train` (50,000 images) and `test` (10,000) with their 100 `fine_labels`.

    `root` is the `cifar-100-python` folder or the folder containing it.
    """
    return CIFAR100.load(root)
