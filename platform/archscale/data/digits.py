"""scikit-learn's bundled 8×8 handwritten digits (1,797 images, 10 classes); nothing to download.

Importing scikit-learn takes about a second, so the arrays are also kept in a small .npz file under
`cache_dir()` (per scikit-learn version), which every later process reads instead."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch

from archscale.data.cache import cached_arrays
from archscale.data.partition import holdout
from archscale.data.registry import Source, register_dataset
from archscale.data.splits import Normalization, Split
from archscale.errors import UserError

SHAPE = (1, 8, 8)


def _load() -> dict[str, np.ndarray]:
    from sklearn.datasets import load_digits  # scikit-learn is slow to import; only this loader needs it

    bunch = load_digits()
    return {"images": bunch.images, "target": bunch.target}


@register_dataset("digits")
def digits(root: Path | None, *, test_fraction: float = 0.2, test_seed: int = 0) -> Source:
    """The digits, with a stratified test split of `test_fraction` drawn with `test_seed`.

    The test split depends on `test_seed` only (not on the validation `split_seed`), so every
    validation split of a study is scored on the same test images. Pixels (0..16) are divided by 16
    and standardised with the mean and std of the training pixels. `root` is ignored.
    """
    if not 0 < test_fraction < 1:
        raise UserError(f"digits: test_fraction must be in (0, 1), got {test_fraction}")
    arrays = cached_arrays(f"digits-sklearn-{version('scikit-learn')}.npz", ("images", "target"), _load)
    x = torch.tensor(arrays["images"], dtype=torch.float32).reshape(-1, *SHAPE) / 16
    y = torch.tensor(arrays["target"], dtype=torch.int64)
    train, test = holdout(y, test_fraction, torch.Generator().manual_seed(test_seed), stratify=True)
    mean, std = x[train].mean().item(), x[train].std().item()
    normalization = Normalization((mean,), (std,), scale=16, note="mean and std of the training pixels")
    x = (x - mean) / std
    return Source(
        train=Split(x[train], y[train]),
        test=Split(x[test], y[test]),
        input_shape=SHAPE,
        num_classes=10,
        normalization=normalization,
    )
