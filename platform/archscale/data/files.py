"""What the datasets read from a user's own files (`npz`, `image-folder`, `table`) share.

Contract of those loaders: they read only `path` (never download), fingerprint the bytes they read
(sha256; `digest` checks it when given, so a study never mixes two versions of its data), and turn
every problem with the data into one `UserError` line naming the file. Examples become a `Source`
through `build_source`, which checks the labels (integers 0..K-1, every class with training
examples), carves a stratified test split when the files give none (`test_fraction`, `test_seed`:
independent of the validation `split_seed`, as for `digits`) and standardises the inputs by the
training examples' statistics: one mean and std for flat features, one per channel for images.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from archscale.data.partition import holdout
from archscale.data.registry import Source
from archscale.data.splits import Normalization, Split
from archscale.errors import UserError


@dataclass(frozen=True)
class Examples:
    """Inputs `x` (N, *shape) of any real dtype and integer class indices `y` (N,) of one split."""

    x: np.ndarray
    y: np.ndarray


def existing(dataset: str, path: str | None, *, folder: bool) -> Path:
    """`path` as a Path when it names an existing file (or folder); UserError otherwise."""
    what = "folder" if folder else "file"
    if path is None:
        raise UserError(f"{dataset}: no data {what} given: set dataset.path")
    found = Path(path).expanduser()
    if not (found.is_dir() if folder else found.is_file()):
        problem = "does not exist" if not found.exists() else f"is not a {what}"
        raise UserError(f"{dataset}: {found} {problem} (nothing is downloaded)")
    return found


def read_file(dataset: str, path: Path, digest: str | None) -> tuple[bytes, str]:
    """The bytes of `path` and their sha256, checked against `digest` when it is given."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UserError(f"{dataset}: cannot read {path}: {error.strerror}") from None
    found = hashlib.sha256(data).hexdigest()
    check_digest(dataset, path, found, digest)
    return data, found


def check_digest(dataset: str, path: Path, found: str, expected: str | None) -> None:
    """UserError when the data's sha256 `found` is not the study's `expected` one (None: not checked)."""
    if expected is not None and found != expected.lower():
        raise UserError(
            f"{dataset}: {path} changed: its sha256 is {found[:12]}…, the study's dataset.digest "
            f"{expected[:12]}…; restore the data, or run the study under a new name (--new-name)"
        )


def class_labels(where: str, y: np.ndarray) -> np.ndarray:
    """`y` as int64 class indices; UserError (prefixed by `where`) unless it holds non-negative integers."""
    if y.ndim != 1:
        raise UserError(f"{where} has shape {y.shape}: labels must be one integer per example")
    if y.dtype.kind == "b" or y.dtype.kind not in "iuf":
        raise UserError(f"{where} holds {y.dtype} values: labels must be integer class indices 0..K-1")
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y) | (y != np.round(y))
        if bad.any():
            raise UserError(f"{where} has the non-integer label {y[bad][0]}: labels must be class indices 0..K-1")
    if len(y) and y.min() < 0:
        raise UserError(f"{where} has the negative label {y.min():g}: labels must be class indices 0..K-1")
    return y.astype(np.int64)


def check_finite(where: str, x: np.ndarray) -> None:
    """UserError (prefixed by `where`) when `x` is not real numbers or holds NaN or infinity."""
    if x.dtype.kind not in "biuf":
        raise UserError(f"{where} holds {x.dtype} values, not real numbers")
    if x.dtype.kind == "f":
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        if bad:
            raise UserError(f"{where} has {bad} NaN or infinite values")


def build_source(
    where: str,
    train: Examples,
    test: Examples | None,
    val: Examples | None = None,
    *,
    test_fraction: float,
    test_seed: int,
    image: bool,
    scale: float = 1.0,
    class_names: tuple[str, ...] | None = None,
    digest: str,
) -> Source:
    """The checked, split and standardised `Source` of these examples (`where` prefixes every error).

    `test` None: a stratified `test_fraction` of `train` drawn with `test_seed`. `val`: a validation
    split given by the files (the study's `val_fraction` is then not used). `image`: inputs are
    (N, C, H, W), standardised per channel, with crop-and-flip padding H // 8 (at least 1); otherwise
    flat, by one mean and std. `scale` divides raw values first (255 for 8-bit pixels).
    """
    if not 0 < test_fraction < 1:
        raise UserError(f"{where}: test_fraction must be in (0, 1), got {test_fraction}")
    if len(train.y) == 0:
        raise UserError(f"{where} has no training examples")
    classes = int(train.y.max()) + 1 if class_names is None else len(class_names)
    if test is None:
        generator = torch.Generator().manual_seed(test_seed)
        kept, held = (i.numpy() for i in holdout(torch.from_numpy(train.y), test_fraction, generator, stratify=True))
        train, test = Examples(train.x[kept], train.y[kept]), Examples(train.x[held], train.y[held])
    if classes < 2:
        raise UserError(f"{where}: all training examples have one label; a classification needs at least 2 classes")
    counts = np.bincount(train.y, minlength=classes)
    if not counts.all():
        empty = [str(c) if class_names is None else class_names[c] for c in np.flatnonzero(counts == 0)]
        raise UserError(
            f"{where}: class {', '.join(empty[:5])} has no training examples "
            f"(labels must be 0..K-1 with every class present)"
        )
    for name, split in (("test", test), ("validation", val)):
        if split is not None and len(split.y) and split.y.max() >= classes:
            raise UserError(
                f"{where}: the {name} label {split.y.max()} is out of range: the training labels are 0..{classes - 1}"
            )
    shift, spread, normalization = _statistics(train.x, image, scale)

    def split(examples: Examples) -> Split:
        x = (torch.from_numpy(np.ascontiguousarray(examples.x, dtype=np.float32)) / scale - shift) / spread
        return Split(x, torch.from_numpy(examples.y))

    shape = tuple(int(d) for d in train.x.shape[1:])
    return Source(
        train=split(train),
        test=split(test),
        val=None if val is None else split(val),
        input_shape=shape,
        num_classes=classes,
        normalization=normalization,
        augment_padding=max(1, shape[1] // 8) if image else None,
        class_names=class_names,
        digest=digest,
    )


def _statistics(x: np.ndarray, image: bool, scale: float) -> tuple[torch.Tensor, torch.Tensor, Normalization]:
    """Mean and population std (1 where constant) of the training inputs / `scale`, over all values
    (flat) or per channel (images), shaped to broadcast over (N, *shape), and their `Normalization`."""
    axes = (0, 2, 3) if image else None
    mean = np.atleast_1d(x.mean(axis=axes, dtype=np.float64)) / scale
    std = np.atleast_1d(x.std(axis=axes, dtype=np.float64)) / scale
    std = np.where(std > 1e-12, std, 1.0)
    what = "per channel" if image else "one for all features"
    normalization = Normalization(
        tuple(mean.tolist()), tuple(std.tolist()), scale, f"mean and std of the training examples ({what})"
    )
    view = (-1, 1, 1) if image else ()
    return (
        torch.tensor(mean, dtype=torch.float32).reshape(view),
        torch.tensor(std, dtype=torch.float32).reshape(view),
        normalization,
    )
