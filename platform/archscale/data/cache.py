"""Where archscale keeps files it can always rebuild (generated or slow-to-load datasets): a per-user
cache directory, and arrays kept there as .npz files."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np


def cache_dir() -> Path:
    """`$ARCHSCALE_CACHE`, else `$XDG_CACHE_HOME/archscale`, else `~/.cache/archscale` (not created here)."""
    explicit = os.environ.get("ARCHSCALE_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "archscale"


def cached_arrays(name: str, keys: Sequence[str], build: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays `keys` from `cache_dir() / name` (.npz), else from `build()`, then written there. The
    file is only an optimisation: any failure to read or write it falls back to building."""
    path = cache_dir() / name
    try:
        with np.load(path) as cached:
            return {key: cached[key] for key in keys}
    except (OSError, KeyError, ValueError):
        pass
    built = build()
    with contextlib.suppress(OSError):  # a read-only or full cache only costs the next process a rebuild
        _write_atomically(path, {key: built[key] for key in keys})
    return built


def _write_atomically(path: Path, arrays: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, **arrays)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
