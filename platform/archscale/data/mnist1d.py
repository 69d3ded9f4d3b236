"""MNIST-1D (Greydanus 2020), generated offline with the `mnist1d` package: 40-sample 1-D signals, 10 classes.

Generation takes a few seconds, so the arrays are kept in memory for the life of the process and in
a small .npz file under `cache_dir()`; the file is only an optimisation (any failure to read or
write it falls back to generating). The package's `get_dataset` is never used: it downloads.
"""

from __future__ import annotations

import functools
import random
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch

from archscale.data.cache import cached_arrays
from archscale.data.registry import Source, register_dataset
from archscale.data.splits import Normalization, Split
from archscale.errors import UserError

_KEYS = ("x", "y", "x_test", "y_test")


def _generate(num_samples: int, seed: int) -> dict[str, np.ndarray]:
    """Run mnist1d's generator, leaving the global `random` and numpy RNG states as they were."""
    from mnist1d.data import get_dataset_args, make_dataset  # imports matplotlib: slow, so only here

    args = get_dataset_args()
    args.num_samples, args.seed = num_samples, seed
    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        data = make_dataset(args)
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
    return {key: data[key].astype(np.int64 if key.startswith("y") else np.float32) for key in _KEYS}


@functools.lru_cache(maxsize=4)
def arrays(num_samples: int, seed: int) -> dict[str, np.ndarray]:
    """The generated train/test arrays (`x`, `y`, `x_test`, `y_test`), from memory, the disk cache or anew."""
    name = f"mnist1d-{version('mnist1d')}-n{num_samples}-seed{seed}.npz"
    return cached_arrays(name, _KEYS, lambda: _generate(num_samples, seed))


@register_dataset("mnist1d")
def mnist1d(root: Path | None, *, num_samples: int = 5000, seed: int = 42) -> Source:
    """MNIST-1D with the package's default arguments: 4,000 training and 1,000 test signals of shape (1, 40).

    `num_samples` (split 80/20 into train/test) and the generator `seed` may be changed; `root` is
    ignored. The package standardises the signals itself (global mean 0, std 1).
    """
    if num_samples < 10:
        raise UserError(f"mnist1d: num_samples must be at least 10 (one per class), got {num_samples}")
    data = arrays(num_samples, seed)

    def split(x: np.ndarray, y: np.ndarray) -> Split:  # copies: the cached arrays stay untouched
        return Split(torch.tensor(x).unsqueeze(1), torch.tensor(y))

    return Source(
        train=split(data["x"], data["y"]),
        test=split(data["x_test"], data["y_test"]),
        input_shape=(1, int(data["x"].shape[1])),
        num_classes=10,
        normalization=Normalization((0.0,), (1.0,), note="standardised by mnist1d (global mean 0, std 1)"),
    )
