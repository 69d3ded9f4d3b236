"""What `archscale submit` ships with a job, through Ray's runtime environment, so that the cluster's
driver and workers import the user's code without it being installed on the nodes.

- `working_dir`: the working directory (the current one unless `--working-dir` says otherwise) when
  the study file lies in it. The job runs there: code at its top is importable and the study's
  relative paths resolve as they do here. Ray leaves out what `.gitignore` and `.rayignore` exclude,
  and `EXCLUDES`. A study outside it travels alone, in a folder of its own.
- `py_modules`: every package the study needs that the working directory does not hold at its top:
  the top-level packages of `imports:` and of a `family: torch` factory (unless they are installed
  libraries, in the standard library or a site-packages folder: those must be installed on the nodes,
  as torch is), and every plugin's distribution: its metadata folder (so that the nodes find its entry
  points) and the packages of its entry points.
- the dataset's `path`: shipped when it lies in the working directory; otherwise every node must
  have it at the same absolute path (a note says so).
- the study's `python_path` folders: those in the working directory ship with it; the job's study
  drops the others, whose packages ship as `py_modules`.
"""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path

from archscale.errors import UserError
from archscale.plugins import plugins
from archscale.study.spec import StudySpec

EXCLUDES = [".git", ".venv", "venv", "__pycache__", "*.pyc", ".*_cache", "*.egg-info", "*.db", "*.db-shm", "*.db-wal"]
"""Never shipped: version control, virtual environments, caches, SQLite results databases."""
INSTALLED = {"site-packages", "dist-packages"}


@dataclass(frozen=True)
class Shipment:
    """A job's code and data: `working_dir` (None: the study file alone, in a folder of its own), the
    study's path inside what ships, the `py_modules`, the `--set` overrides the job adds (the
    dataset's path as the cluster must read it), and notes for the user."""

    working_dir: Path | None
    study: str
    py_modules: tuple[Path, ...]
    overrides: tuple[str, ...]
    notes: tuple[str, ...]

    def summary(self) -> str:
        """One line: what ships."""
        code = f"working directory {self.working_dir}" if self.working_dir else "the study file alone"
        modules = f"; modules: {', '.join(map(str, self.py_modules))}" if self.py_modules else ""
        return f"shipping {code}{modules}"


def shipment(study: Path, spec: StudySpec, working_dir: Path) -> Shipment:
    """What a job of `study` (validated as `spec`, with its plugins and imports loaded) ships when
    submitted from `working_dir`; UserError when a module it needs cannot be found here."""
    study, root = study.resolve(), working_dir.resolve()
    inside = study.is_relative_to(root)
    home = root if inside else study.parent  # where the job's study sits: its relative paths start here
    modules: list[Path] = []
    notes: list[str] = []
    needed = [("imports", name) for name in spec.imports]
    if spec.model.factory:
        needed.append(("model.factory", spec.model.factory.partition(":")[0]))
    for field, name in needed:
        for location in _locations(field, name):
            if _installed(location) or (inside and location.parent == root):
                continue
            if location.is_file() and location.suffix != ".py":
                notes.append(f"{field}: {location} is not Python source and cannot ship: install it on the nodes")
            else:
                modules.append(location)
    for plugin in plugins():
        if plugin.metadata is None:
            notes.append(f"plugin {plugin.name} ({plugin.distribution}) has no metadata folder to ship: install it")
        else:
            modules.append(plugin.metadata)
        modules += [p for p in _locations(f"plugin {plugin.name}", plugin.module) if not (inside and p.parent == root)]
    overrides, data_note = _data(spec, study, root if inside else None)
    notes += data_note
    overrides += _python_path(spec, study, root if inside else None)
    return Shipment(
        root if inside else None,
        str(study.relative_to(home)),
        tuple(dict.fromkeys(modules)),
        overrides,
        tuple(notes),
    )


def _data(spec: StudySpec, study: Path, root: Path | None) -> tuple[tuple[str, ...], list[str]]:
    """The dataset's path as the job must read it: relative to the study when it ships in the working
    directory, else absolute (with a note that the nodes must have it)."""
    path = spec.dataset.path
    if path is None:
        return (), []
    if root is not None and Path(path).resolve().is_relative_to(root):
        return (f"dataset.path={os.path.relpath(Path(path).resolve(), study.parent)}",), []
    where = f"the working directory {root}" if root else "what ships (the study file alone)"
    note = f"dataset.path {path} is outside {where}: every node must have it at that path"
    return (f"dataset.path={path}",), [note]


def _python_path(spec: StudySpec, study: Path, root: Path | None) -> tuple[str, ...]:
    """The `--set` that keeps only the study's `python_path` folders that ship in the working
    directory (relative to the study, as the job reads it), when some do not: the code in the others
    reaches the nodes as `py_modules`."""
    folders = [Path(folder) for folder in spec.python_path]
    kept = [f for f in folders if root is not None and f.resolve().is_relative_to(root)]
    if len(kept) == len(folders):
        return ()
    return ("python_path=" + json.dumps([os.path.relpath(f.resolve(), study.parent) for f in kept]),)


def _locations(field: str, name: str) -> list[Path]:
    """The files or folders of the top-level package of module `name`; UserError when it is not found."""
    top = name.split(".")[0]
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise UserError(f"{field}: cannot find the module '{top}' here (the current directory is importable)")
    if spec.submodule_search_locations:
        return [Path(p) for p in spec.submodule_search_locations]
    return [] if spec.origin in (None, "built-in", "frozen") else [Path(str(spec.origin))]


def _installed(location: Path) -> bool:
    """Whether `location` belongs to the Python environment (a site-packages folder or the standard
    library) rather than to the user's code."""
    return bool(INSTALLED & set(location.parts)) or _in_stdlib(location)


def _in_stdlib(location: Path) -> bool:
    import sysconfig

    return any(location.is_relative_to(sysconfig.get_path(key)) for key in ("stdlib", "platstdlib"))
