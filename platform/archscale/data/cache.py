"""Where archscale keeps files it can always rebuild (generated datasets): a per-user cache directory."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """`$ARCHSCALE_CACHE`, else `$XDG_CACHE_HOME/archscale`, else `~/.cache/archscale` (not created here)."""
    explicit = os.environ.get("ARCHSCALE_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "archscale"
