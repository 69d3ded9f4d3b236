"""The dataset registry: loaders register under a name; `load_dataset` turns one into `Splits`.

A loader is a function `loader(root: Path | None, *, option=default, ...) -> Source` that reads or
generates a dataset's normalised training and test examples. Loaders never download anything:
file-based ones read `root` (or a `path=` option: `npz`, `image-folder`, `table`) and raise
`UserError` naming the files they expected; the others ignore `root`. Keyword options (e.g. `shape=`
for `synthetic`) are passed through by `load_dataset`, which checks them against the loader's
signature. Everything after loading — the optional size limits,
the validation carve, flattening — is common to all datasets and lives here.
"""

from __future__ import annotations

import fnmatch
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from archscale.data.partition import holdout, subset
from archscale.data.splits import Normalization, Split, Splits
from archscale.data.standardize import standardize_mode, standardize_per_feature
from archscale.errors import UserError


@dataclass(frozen=True)
class Source:
    """What a loader returns: a dataset's own training and test examples, already normalised.

    `val`: a validation split the data itself gives (then `val_fraction` is not used); `class_names`:
    the names of labels 0..K-1 where the data names them; `digest`: the sha256 of the files read.
    """

    train: Split
    test: Split
    input_shape: tuple[int, ...]
    num_classes: int
    normalization: Normalization
    augment_padding: int | None = None
    val: Split | None = None
    class_names: tuple[str, ...] | None = None
    digest: str | None = None


Loader = Callable[..., Source]

_LOADERS: dict[str, Loader] = {}
_UNCACHED: set[str] = set()  # datasets read anew by every call: files a user may change between calls
_LAST: dict[str, Source] = {}  # the last source loaded, so that repeated trials in a process skip the reading


def _key(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def register_dataset(name: str, *, cache: bool = True) -> Callable[[Loader], Loader]:
    """Decorator: register a loader under `name` (matched case-insensitively, '_' same as '-').

    `cache=False`: every `load_dataset` call runs the loader (for data a user may change between
    calls, so that the change is always seen); otherwise the last source loaded is reused."""

    def decorate(loader: Loader) -> Loader:
        key = _key(name)
        if key in _LOADERS:
            raise ValueError(f"dataset '{key}' is registered twice")
        _LOADERS[key] = loader
        if not cache:
            _UNCACHED.add(key)
        return loader

    return decorate


def list_datasets(pattern: str = "*") -> list[str]:
    """The registered dataset names matching a shell-style `pattern`, sorted."""
    return sorted(name for name in _LOADERS if fnmatch.fnmatch(name, _key(pattern)))


def _options(loader: Loader) -> list[str]:
    params = list(inspect.signature(loader).parameters.values())[1:]  # the first is `root`
    return [p.name for p in params]


def _load(key: str, loader: Loader, root: Path | None, options: dict[str, Any]) -> Source:
    """The loader's source, reused when the previous call asked for the same one (one entry is kept)."""
    if key in _UNCACHED:
        return loader(root, **options)
    token = repr((key, None if root is None else root.resolve(), sorted(options.items())))
    if token not in _LAST:
        _LAST.clear()  # drop the previous dataset before reading the next
        _LAST[token] = loader(root, **options)
    return _LAST[token]


def load_dataset(
    name: str,
    *,
    root: str | Path | None = None,
    val_fraction: float = 0.1,
    split_seed: int = 0,
    flatten: bool = False,
    limit: int | None = None,
    test_limit: int | None = None,
    stratify: bool = True,
    standardize: str = "global",
    **options: Any,
) -> Splits:
    """Load a registered dataset and split it deterministically.

    - `root`: the dataset's directory (for file-based datasets; see each loader).
    - `limit`: use at most this many of the training examples (a random subset drawn with
      `split_seed`, before the validation carve); `test_limit`: at most this many test examples (the
      same subset whatever the seed, so that seeds are scored alike). For quick runs.
    - `val_fraction` of the (limited) training examples become the validation split, stratified by
      class unless `stratify` is False; 0 leaves it empty. The draw uses `split_seed` only, so a seed
      gives the same split on every run and machine. A dataset that gives its own validation split
      (an npz file's `x_val`, an image folder's `val/`) uses that one instead.
    - `standardize`: `global` keeps the loader's standardisation (one mean and std); `per-feature`
      then standardises each feature by the training split's own mean and std (never validation or
      test statistics; see `archscale.data.standardize`), for datasets without crop augmentation.
    - `flatten`: inputs as vectors (for MLPs).
    - `options`: dataset-specific keywords, checked against the loader.

    The loaded source of the last call is kept in memory and reused by a call with the same name,
    root and options (the splits are drawn anew; datasets registered with `cache=False` are read
    anew), so treat the returned tensors as read-only.
    Raises `UserError` for an unknown name, option or standardize mode, a bad fraction or limit, or
    missing data.
    """
    key = _key(name)
    loader = _LOADERS.get(key)
    if loader is None:
        raise UserError(f"unknown dataset '{name}'; known datasets: {', '.join(list_datasets())}")
    allowed = _options(loader)
    for option in options:
        if option not in allowed:
            takes = f"its options: {', '.join(allowed)}" if allowed else "it takes no options"
            raise UserError(f"dataset '{key}' has no option '{option}' ({takes})")
    mode = standardize_mode(standardize)
    if not 0 <= val_fraction < 1:
        raise UserError(f"val_fraction must be in [0, 1), got {val_fraction}")
    for what, value in (("limit", limit), ("test_limit", test_limit)):
        if value is not None and value < 1:
            raise UserError(f"{what} must be a positive number of examples, got {value}")

    source = _load(key, loader, None if root is None else Path(root).expanduser(), options)
    generator = torch.Generator().manual_seed(split_seed)
    pool, test = source.train, source.test
    if limit is not None and limit < len(pool):
        pool = pool.take(subset(len(pool), limit, generator))
    if test_limit is not None and test_limit < len(test):
        test = test.take(subset(len(test), test_limit, torch.Generator().manual_seed(0)))
    if source.val is not None:
        train, val = pool, source.val
    else:
        kept, held = holdout(pool.y, val_fraction, generator, stratify=stratify)
        if len(kept) == 0:
            raise UserError(f"{key}: val_fraction {val_fraction} leaves no training examples of {len(pool)}")
        train, val = pool.take(kept), pool.take(held)
    splits = Splits(
        name=key,
        train=train,
        val=val,
        test=test,
        input_shape=source.input_shape,
        num_classes=source.num_classes,
        normalization=source.normalization,
        augment_padding=source.augment_padding,
        class_names=source.class_names,
        digest=source.digest,
    )
    if mode == "per-feature":
        splits = standardize_per_feature(splits)
    return splits.flatten() if flatten else splits
