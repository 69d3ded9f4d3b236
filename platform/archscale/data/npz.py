"""`npz`: a dataset from a NumPy `.npz` archive (`numpy.savez`), arrays named by `x` and `y`.

Keys, for `x: X` and `y: Y` (default `x` and `y`): the training examples are `X` or `X_train` (with
`Y` or `Y_train`); `X_val`/`Y_val` optionally give the validation split, `X_test`/`Y_test` the test
split. Any other array in the archive is an error (a misspelt `x_tset` would otherwise be ignored).
Inputs: (N, features) flat; (N, H, W) single-channel images; (N, C, H, W) images, or (N, H, W, C)
with `channels_last`. Labels: integer class indices 0..K-1.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from archscale.data.files import Examples, build_source, check_finite, class_labels, existing, read_file
from archscale.data.registry import Source, register_dataset
from archscale.errors import UserError

SPLITS = ("train", "val", "test")


@register_dataset("npz", cache=False)
def npz(
    root: Path | None,
    *,
    path: str | None = None,
    x: str = "x",
    y: str = "y",
    digest: str | None = None,
    channels_last: bool = False,
    test_fraction: float = 0.2,
    test_seed: int = 0,
) -> Source:
    """The arrays of the archive at `path` (see the module); without `X_test`, a stratified
    `test_fraction` of the training examples drawn with `test_seed` is the test split. Inputs are
    standardised by the training examples' mean and std (per channel for images). `root` is ignored."""
    file = existing("npz", path, folder=False)
    data, found = read_file("npz", file, digest)
    arrays = _arrays(file, data)
    where = f"npz: {file}"
    keys = {role: _keys(where, arrays, role) for role in (x, y)}
    unknown = sorted(set(arrays) - {key for named in keys.values() for key in named.values()})
    if unknown:
        raise UserError(
            f"{where} has the unknown array '{unknown[0]}': expected {x}|{x}_train, {y}|{y}_train and optionally "
            f"{x}_val, {y}_val, {x}_test, {y}_test (dataset.x and dataset.y name the arrays)"
        )
    splits: dict[str, Examples | None] = {}
    for split in SPLITS:
        kx, ky = keys[x].get(split), keys[y].get(split)
        if (kx is None) != (ky is None):
            given, lacking = (ky, f"{x}_{split}") if kx is None else (kx, f"{y}_{split}")
            raise UserError(f"{where} has '{given}' but not '{lacking}'")
        splits[split] = None if kx is None or ky is None else _examples(where, arrays, kx, ky, channels_last)
    train = splits["train"]
    assert train is not None  # `_keys` requires the training arrays
    for split in ("val", "test"):
        other = splits[split]
        if other is not None and other.x.shape[1:] != train.x.shape[1:]:
            raise UserError(
                f"{where}: {keys[x][split]} has examples of shape {other.x.shape[1:]}, "
                f"{keys[x]['train']} of shape {train.x.shape[1:]}"
            )
    return build_source(
        where,
        train,
        splits["test"],
        splits["val"],
        test_fraction=test_fraction,
        test_seed=test_seed,
        image=train.x.ndim == 4,
        digest=found,
    )


def _arrays(file: Path, data: bytes) -> dict[str, np.ndarray]:
    """Every array of the archive, read without unpickling anything."""
    try:
        archive = np.load(io.BytesIO(data), allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise UserError(f"npz: {file} is a single .npy array, not an .npz archive (numpy.savez)")
        with archive:
            return {key: archive[key] for key in archive.files}
    except UserError:
        raise
    except Exception as error:  # a corrupt archive can raise almost any exception type
        raise UserError(f"npz: cannot read {file} as an .npz archive (numpy.savez): {error}") from None


def _keys(where: str, arrays: dict[str, np.ndarray], role: str) -> dict[str, str]:
    """The archive's keys for `role` (the x or y name) by split; the training one is required."""
    keys = {split: f"{role}_{split}" for split in SPLITS if f"{role}_{split}" in arrays}
    if role in arrays:
        if "train" in keys:
            raise UserError(f"{where} has both '{role}' and '{role}_train': keep one of them")
        keys["train"] = role
    if "train" not in keys:
        raise UserError(f"{where} has no array '{role}' or '{role}_train' (its arrays: {', '.join(sorted(arrays))})")
    return keys


def _examples(where: str, arrays: dict[str, np.ndarray], kx: str, ky: str, channels_last: bool) -> Examples:
    """The checked examples of one split: inputs (N, features) or (N, C, H, W), integer labels (N,)."""
    x, labels = arrays[kx], arrays[ky]
    if x.ndim not in (2, 3, 4):
        raise UserError(
            f"{where}: {kx} has shape {x.shape}; expected (N, features), (N, H, W) or (N, C, H, W) "
            "((N, H, W, C) with options.channels_last)"
        )
    check_finite(f"{where}: {kx}", x)
    if labels.ndim != 1 or len(labels) != len(x):
        raise UserError(f"{where}: {kx} has {len(x)} examples but {ky} has shape {labels.shape}; expected ({len(x)},)")
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and channels_last:
        x = x.transpose(0, 3, 1, 2)
    return Examples(x, class_labels(f"{where}: {ky}", labels))
