"""`image-folder`: images in one subfolder per class, read with Pillow (the ImageFolder convention).

Layouts of `path`: `CLASS/IMAGE` (every example; a test split is carved), or `train/CLASS/IMAGE`
with optional `test/CLASS/IMAGE` and `val/CLASS/IMAGE` (then no other subfolder). Classes are the
sorted names of the (training) class folders, labelled 0..K-1; a `val/` or `test/` class folder must
also be a training class. Image files are found by extension (anywhere below a class folder; other
files and hidden ones are skipped). Every image must have the same size unless `size` ([H, W] or
one number for both) resizes them (bilinear). `mode`: `auto` (grayscale `L` when every image is
grayscale, else `RGB`), `RGB` or `L`.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from archscale.data.files import Examples, build_source, check_digest, existing
from archscale.data.registry import Source, register_dataset
from archscale.errors import UserError

EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"})
GRAYSCALE = frozenset({"1", "L", "LA"})
SPLIT_FOLDERS = ("train", "val", "test")


@register_dataset("image-folder", cache=False)
def image_folder(
    root: Path | None,
    *,
    path: str | None = None,
    digest: str | None = None,
    size: int | Sequence[int] | None = None,
    mode: str = "auto",
    test_fraction: float = 0.2,
    test_seed: int = 0,
) -> Source:
    """The images below `path` (see the module), pixels / 255 standardised per channel by the
    training images' mean and std. Without `test/`, a stratified `test_fraction` of the images drawn
    with `test_seed` is the test split. The digest is the sha256 of the listing of every image's
    relative path and sha256 (one `path<TAB>sha256` line each, in reading order)."""
    folder = existing("image-folder", path, folder=True)
    where = f"image-folder: {folder}"
    target = _size(where, size)
    if mode not in ("auto", "RGB", "L"):
        raise UserError(f"{where}: mode must be auto, RGB or L, got '{mode}'")
    layout = _layout(folder)
    classes = _class_folders(where, layout["train"])
    files = {split: _files(where, split_folder, classes) for split, split_folder in layout.items()}
    opened = {split: [_open(folder, file, label) for file, label in found] for split, found in files.items()}
    every = [image for found in opened.values() for image in found]
    listing = "".join(f"{image.name}\t{image.sha256}\n" for image in every)
    found_digest = hashlib.sha256(listing.encode()).hexdigest()
    check_digest("image-folder", folder, found_digest, digest)
    if mode == "auto":
        mode = "L" if all(image.image.mode in GRAYSCALE for image in every) else "RGB"
    first = every[0]
    odd = next((image for image in every if image.image.size != first.image.size), None)
    if target is None and odd is not None:
        raise UserError(
            f"{where}: {odd.name} is {'×'.join(map(str, odd.image.size))} but {first.name} is "
            f"{'×'.join(map(str, first.image.size))} (width×height): set options.size to resize every image"
        )

    def examples(split: str) -> Examples | None:
        if split not in opened:
            return None
        pixels = [image.pixels(mode, target) for image in opened[split]]
        return Examples(np.stack(pixels), np.array([image.label for image in opened[split]], dtype=np.int64))

    train = examples("train")
    assert train is not None
    return build_source(
        where,
        train,
        examples("test"),
        examples("val"),
        test_fraction=test_fraction,
        test_seed=test_seed,
        image=True,
        scale=255.0,
        class_names=tuple(classes),
        digest=found_digest,
    )


def _size(where: str, size: int | Sequence[int] | None) -> tuple[int, int] | None:
    """`size` as (height, width), or None."""
    if size is None:
        return None
    dims = [size] if isinstance(size, int) else list(size)
    if len(dims) not in (1, 2) or not all(isinstance(d, int) and d >= 1 for d in dims):
        raise UserError(f"{where}: size must be a positive number or [height, width], got {size}")
    return (dims[0], dims[-1])


def _layout(folder: Path) -> dict[str, Path]:
    """The folder of each split the data gives: `train/` (and `val/`, `test/`) or `folder` itself."""
    if not (folder / "train").is_dir():
        return {"train": folder}
    others = [p.name for p in _subfolders(folder) if p.name not in SPLIT_FOLDERS]
    if others:
        raise UserError(
            f"image-folder: {folder} has train/ beside '{others[0]}/': with train/, the only other "
            "subfolders may be val/ and test/ (each with one folder per class)"
        )
    return {split: folder / split for split in SPLIT_FOLDERS if (folder / split).is_dir()}


def _subfolders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _class_folders(where: str, folder: Path) -> list[str]:
    """The sorted class names: the subfolders of the training folder."""
    classes = [p.name for p in _subfolders(folder)]
    if not classes:
        raise UserError(f"{where}: {folder} has no class folders (one subfolder of images per class)")
    return classes


def _files(where: str, folder: Path, classes: list[str]) -> list[tuple[Path, int]]:
    """The image files below `folder`, with their labels, sorted by class and then path."""
    found = []
    for sub in _subfolders(folder):
        if sub.name not in classes:
            raise UserError(f"{where}: {sub} is not a training class (the classes: {', '.join(classes)})")
        images = sorted(
            p
            for p in sub.rglob("*")
            if p.suffix.lower() in EXTENSIONS
            and p.is_file()
            and not any(s.startswith(".") for s in p.relative_to(sub).parts)
        )
        if not images:
            raise UserError(f"{where}: the class folder {sub} has no images ({', '.join(sorted(EXTENSIONS))})")
        found += [(image, classes.index(sub.name)) for image in images]
    return found


@dataclass(frozen=True)
class _File:
    """One image file: its path, that path relative to the dataset's folder, its label, the sha256 of
    its bytes, and the image (its header read; its pixels decoded by `pixels`)."""

    path: Path
    name: str
    label: int
    sha256: str
    image: Image.Image

    def pixels(self, mode: str, size: tuple[int, int] | None) -> np.ndarray:
        """The image as uint8 (C, H, W) in `mode`, resized to `size` (height, width) when given."""
        try:
            converted = self.image.convert(mode)
            if size is not None and converted.size != (size[1], size[0]):
                converted = converted.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            pixels = np.asarray(converted, dtype=np.uint8)
        except Exception as error:  # decoding happens here: a truncated file fails now
            raise UserError(f"image-folder: cannot decode {self.path}: {error}") from None
        return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)


def _open(folder: Path, file: Path, label: int) -> _File:
    """The image file `file` below `folder`, with its header read."""
    try:
        data = file.read_bytes()
    except OSError as error:
        raise UserError(f"image-folder: cannot read {file}: {error.strerror}") from None
    try:
        image = Image.open(io.BytesIO(data))
    except Exception as error:  # Pillow raises many types for a broken file
        raise UserError(f"image-folder: cannot read {file} as an image: {error}") from None
    return _File(file, file.relative_to(folder).as_posix(), label, hashlib.sha256(data).hexdigest(), image)
