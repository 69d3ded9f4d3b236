"""Datasets as device-ready tensors: a registry of loaders, deterministic splits, batches, augmentation.

    splits = load_dataset("mnist1d", val_fraction=0.1, split_seed=0)
    batches = BatchIterator(splits.train, 128, generator=torch.Generator().manual_seed(0))

Nothing is downloaded: `digits` ships with scikit-learn, `mnist1d` and `synthetic` are generated, and
`cifar10`, `cifar100` and `imagenet16-120` are read from local files in their standard formats, and
`npz`, `image-folder` and `table` from a user's own files (`archscale.data.files`).
"""

# Importing the loader modules registers their datasets.
from archscale.data import cifar, digits, image_folder, imagenet16, mnist1d, npz, synthetic, table  # noqa: F401
from archscale.data.augment import CropFlip
from archscale.data.batches import BatchIterator
from archscale.data.cache import cache_dir
from archscale.data.registry import Source, list_datasets, load_dataset, register_dataset
from archscale.data.splits import Normalization, Split, Splits

__all__ = [
    "BatchIterator",
    "CropFlip",
    "Normalization",
    "Source",
    "Split",
    "Splits",
    "cache_dir",
    "list_datasets",
    "load_dataset",
    "register_dataset",
]
