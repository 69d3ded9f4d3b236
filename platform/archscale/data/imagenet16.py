"""ImageNet16-120: NAS-Bench-201's 16×16 downsampled ImageNet, restricted to its first 120 classes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from archscale.data.batchfiles import decode_images, find_directory, read_batch
from archscale.data.registry import Source, register_dataset
from archscale.data.splits import Normalization, Split

SHAPE = (3, 16, 16)
CLASSES = 120
TRAIN_FILES = tuple(f"train_data_batch_{i}" for i in range(1, 11))
TEST_FILES = ("val_data",)
NORMALIZATION = Normalization(
    mean=(122.68 / 255, 116.66 / 255, 104.01 / 255),
    std=(63.22 / 255, 61.26 / 255, 65.09 / 255),
    scale=255,
    note="NAS-Bench-201's ImageNet16 constants",
)


def _read(directory: Path, files: tuple[str, ...]) -> Split:
    """Images whose 1-based label is in 1..120, relabelled 0..119 (as NAS-Bench-201 does)."""
    rows, labels = [], []
    for name in files:  # filter file by file: all ten training files hold ~1 GB of pixels
        data, y = read_batch(directory / name, "imagenet16-120", "labels", 3 * 16 * 16)
        keep = (y >= 1) & (y <= CLASSES)
        rows.append(data[keep])
        labels.append(y[keep] - 1)
    return Split(decode_images(np.concatenate(rows), SHAPE, NORMALIZATION), torch.from_numpy(np.concatenate(labels)))


@register_dataset("imagenet16-120")
def imagenet16_120(root: Path | None) -> Source:
    """ImageNet16-120: `train_data_batch_1..10` (151,700 kept images) and `val_data` (6,000 kept).

    `root` is NAS-Bench-201's `ImageNet16` folder or the folder containing it. Labels in the files
    are 1-based ImageNet classes 1..1000; classes 1..120 are kept, as 0..119.
    """
    directory = find_directory(
        root,
        "imagenet16-120",
        "ImageNet16",
        TRAIN_FILES + TEST_FILES,
        "train_data_batch_1..10 and val_data (NAS-Bench-201's downsampled ImageNet16 files)",
    )
    return Source(
        train=_read(directory, TRAIN_FILES),
        test=_read(directory, TEST_FILES),
        input_shape=SHAPE,
        num_classes=CLASSES,
        normalization=NORMALIZATION,
        augment_padding=2,
    )
