"""Code of the user's that a process imports besides archscale: plugins and a study's `imports:`.

A **plugin** is a distribution that declares entry points in the groups `archscale.models`,
`archscale.datasets` or `archscale.strategies`. Each entry point names a module (or an object in one,
`package.module:name`); loading it imports that module, whose import registers what it brings with
archscale's decorators (`archscale.nn.register_init`, `archscale.data.register_dataset`,
`archscale.strategies.register_strategy`). Nothing is called. A study's `imports:` names more
modules to import the same way, for code that is not installed as a distribution.

`prepare_process` is what every process of a study runs first: the driver before it validates the
study (its arms parse with the registered strategy kinds), every Ray worker before a trial. Entry
points are read from `sys.path` again only when `sys.path` changed; each is loaded once per process.
The current directory is importable, as it is for `python -m`. A module that fails to import ends in
one `UserError` naming it.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from archscale.errors import UserError

GROUPS = ("archscale.models", "archscale.datasets", "archscale.strategies")


@dataclass(frozen=True)
class Plugin:
    """One entry point: its `group` and `name`, the `value` it loads (`module` or `module:object`),
    the distribution declaring it and that distribution's metadata folder (a `.dist-info`, when
    the distribution lives in one)."""

    group: str
    name: str
    value: str
    distribution: str
    metadata: Path | None

    @property
    def module(self) -> str:
        return self.value.partition(":")[0].strip()


def importable_cwd() -> None:
    """Put the current directory on `sys.path` (first) unless it is there already."""
    cwd = os.getcwd()
    if not any(os.path.abspath(entry or os.curdir) == cwd for entry in sys.path):
        sys.path.insert(0, cwd)


def plugins() -> list[Plugin]:
    """Every entry point of the archscale groups visible on `sys.path` now, in group order."""
    from importlib.metadata import entry_points

    found = entry_points()
    listed = []
    for group in GROUPS:
        for point in found.select(group=group):
            folder = getattr(point.dist, "_path", None)  # a PathDistribution's metadata folder
            metadata = Path(folder) if isinstance(folder, os.PathLike | str) and Path(folder).is_dir() else None
            name = point.dist.name if point.dist is not None else "an unknown distribution"
            listed.append(Plugin(group, point.name, point.value, name, metadata))
    return listed


@dataclass
class _Loaded:
    """The process's plugins: the `sys.path` they were read from and the values already imported."""

    path: tuple[str, ...] | None = None
    values: frozenset[str] = frozenset()


_LOADED = _Loaded()


def load_plugins() -> None:
    """Import every plugin not yet imported in this process (entry points are read again only when
    `sys.path` changed since the last call); UserError naming the entry point and its module when
    one fails."""
    path = tuple(sys.path)
    if _LOADED.path == path:
        return
    for plugin in plugins():
        if plugin.value in _LOADED.values:
            continue
        try:
            loaded = importlib.import_module(plugin.module)
            for part in filter(None, plugin.value.partition(":")[2].strip().split(".")):
                loaded = getattr(loaded, part)
        except Exception as exc:  # a plugin's own error, whatever its type, is the user's to fix
            raise UserError(
                f"plugin '{plugin.name}' ({plugin.group} entry point of {plugin.distribution}): "
                f"cannot load '{plugin.value}': {_reason(exc)}"
            ) from None
        _LOADED.values |= {plugin.value}
    _LOADED.path = path


def import_module(name: str) -> None:
    """Import the module `name` (a study's `imports:` entry); UserError naming it when that fails."""
    try:
        importlib.import_module(name)
    except Exception as exc:
        raise UserError(f"cannot import '{name}': {_reason(exc)}") from None


def importable_folders(folders: Sequence[str]) -> None:
    """Put the existing `folders` (a study's `python_path`, absolute) first on `sys.path`, in their
    order, unless they are there already; a folder this machine lacks is passed over (on a cluster's
    other nodes the code arrives as `py_modules` instead)."""
    for folder in reversed(folders):
        if os.path.isdir(folder) and folder not in sys.path:
            sys.path.insert(0, folder)


def prepare_process(imports: Sequence[str] = (), python_path: Sequence[str] = ()) -> None:
    """What a process of a study does before it reads the study or runs a trial: make the current
    directory and the study's `python_path` folders importable, load the plugins, import the
    study's `imports`."""
    importable_cwd()
    importable_folders(python_path)
    load_plugins()
    for name in imports:
        import_module(name)


def _reason(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
