"""Pickled image-batch files (CIFAR, downsampled ImageNet): finding them, reading them, decoding images.

Each file is a pickled dict with a `data` array of N rows of uint8 pixels (channel planes one after
another, so a row reshapes to (C, H, W)) and a list of N integer labels. The unpickler accepts only
numpy arrays, scalars and dtypes: a file that refers to anything else is refused, not executed.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from archscale.data.splits import Normalization
from archscale.errors import UserError

_ALLOWED = {
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module.startswith("numpy.core"):  # written by numpy < 2
            module = "numpy._core" + module.removeprefix("numpy.core")
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"it refers to {module}.{name}, which a data batch never needs")
        return super().find_class(module, name)


def find_directory(root: Path | None, dataset: str, folder: str, files: Sequence[str], expected: str) -> Path:
    """`root` itself or `root/folder`, whichever holds all of `files`.

    `expected` describes the files for the error message, e.g. "data_batch_1..5 and test_batch (the
    'CIFAR-10 python version' files)".
    """
    if root is None:
        raise UserError(f"{dataset}: no data directory given; pass the folder with {expected}")
    for candidate in (root, root / folder):
        if all((candidate / name).is_file() for name in files):
            return candidate
    raise UserError(f"{dataset}: {root} has no {expected}, in it or in {folder}/ (nothing is downloaded)")


def read_batch(path: Path, dataset: str, label_key: str, row_size: int) -> tuple[np.ndarray, np.ndarray]:
    """The (N, row_size) uint8 pixel rows and (N,) int64 labels of one batch file.

    Raises `UserError` naming the file when it cannot be read or is not such a batch.
    """
    try:
        with path.open("rb") as file:
            batch = _ArrayUnpickler(file, encoding="latin1").load()
    except Exception as error:  # a corrupt pickle can raise almost any exception type
        raise UserError(f"{dataset}: cannot read {path} as a pickled data batch: {error}") from None
    data = batch.get("data") if isinstance(batch, dict) else None
    labels = batch.get(label_key) if isinstance(batch, dict) else None
    if not (
        isinstance(data, np.ndarray)
        and data.dtype == np.uint8
        and data.ndim == 2
        and data.shape[1] == row_size
        and labels is not None
        and len(labels) == data.shape[0]
    ):
        raise UserError(
            f"{dataset}: {path} is not a data batch: expected a dict with 'data' (N, {row_size}) uint8 "
            f"and '{label_key}' (N labels)"
        )
    return data, np.asarray(labels, dtype=np.int64)


def decode_images(rows: np.ndarray, shape: tuple[int, int, int], normalization: Normalization) -> Tensor:
    """uint8 pixel rows as normalised float32 images (N, C, H, W)."""
    images = torch.from_numpy(rows).reshape(-1, *shape).float().div_(normalization.scale)
    mean = torch.tensor(normalization.mean).view(-1, 1, 1)
    std = torch.tensor(normalization.std).view(-1, 1, 1)
    return images.sub_(mean).div_(std)
