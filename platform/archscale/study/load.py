"""Read a study YAML into a validated StudySpec; every error is one line naming the field and line."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from archscale.errors import UserError
from archscale.plugins import import_module, prepare_process
from archscale.settings import ArmError, arm_kinds
from archscale.study.spec import MODULE_PATTERN, StudySpec

EFFECTIVE_HEADER = "# archscale: the effective study (its YAML with every --set override applied)\n"
LEGACY_SET_PREFIX = "# --set "
"""Release 1 stored the YAML verbatim plus one `# --set key=value` line per override."""


@dataclass(frozen=True)
class LoadedStudy:
    """A validated study. `text` is the effective study (the YAML after its `--set` overrides, as
    YAML): what the database stores, keys a study's identity on, and `--resume` runs."""

    spec: StudySpec
    text: str
    path: Path | None


def study_schema() -> dict[str, Any]:
    """The JSON Schema of a study YAML (for editors and validators): each arm is one of the registered
    kinds' settings."""
    schema = StudySpec.model_json_schema()
    kinds = []
    for kind, settings in arm_kinds().items():
        arm = settings.model_json_schema()
        for name, definition in arm.pop("$defs", {}).items():
            schema.setdefault("$defs", {}).setdefault(name, definition)
        arm["properties"]["kind"] = {"const": kind, "description": f"`{kind}` (optional when the arm is named {kind})"}
        arm["required"] = [r for r in arm.get("required", []) if r != "kind"]
        kinds.append(arm)
    schema["properties"]["strategies"]["additionalProperties"] = {"oneOf": kinds}
    schema["$defs"].pop("ArmSettings", None)
    return schema


def load_study(path: str | Path, overrides: list[str] | None = None) -> LoadedStudy:
    """Load and validate `path`, applying `key.path=value` overrides (values parsed as YAML)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise UserError(f"cannot read study {path}: {exc.strerror}") from None
    return parse_study(text, str(path), overrides or [], path)


def parse_stored_study(text: str, name: str) -> LoadedStudy:
    """The study stored in the database as it ran: the effective study (or, from release 1, the
    verbatim YAML with its `# --set` lines, which are applied)."""
    overrides = [
        line.removeprefix(LEGACY_SET_PREFIX) for line in text.splitlines() if line.startswith(LEGACY_SET_PREFIX)
    ]
    return parse_study(text, f"stored study '{name}'", overrides)


def parse_study(text: str, source: str, overrides: list[str], path: Path | None = None) -> LoadedStudy:
    """Validate a study's YAML text after applying `overrides`; every error is a one-line UserError."""
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"{source}{where}: invalid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise UserError(f"{source}: a study must be a YAML mapping (name, dataset, architectures, ...)")
    for override in overrides:
        _apply(data, override)
    _absolute_data_path(data, path)
    _absolute_python_path(data, path, root, source)
    _import_code(data, root, source)
    try:
        spec = StudySpec.model_validate(data)
    except ValidationError as exc:
        _raise_arm_error(exc, root, source)
        error = max(exc.errors(), key=lambda e: len(_field_path(e["loc"])))
        loc = _field_path(error["loc"])
        field = ".".join(str(p) for p in loc) or "(top level)"
        line = _line_of(root, loc)
        where = f":{line}" if line else ""
        others = [e for e in exc.errors() if _field_path(e["loc"]) != loc[: len(_field_path(e["loc"]))]]
        more = f" (and {len(others)} more)" if others else ""
        raise UserError(f"{source}{where}: {field}: {_message(error)}{more}") from None
    effective = EFFECTIVE_HEADER + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)
    return LoadedStudy(spec, effective, path)


def _absolute_data_path(data: dict[str, Any], path: Path | None) -> None:
    """Make `dataset.path` absolute: relative to the study file's folder (the current directory when
    the study has no file), so that the stored study reads the same data from anywhere."""
    dataset = data.get("dataset")
    if isinstance(dataset, dict) and isinstance(dataset.get("path"), str):
        base = path.parent if path is not None else Path()
        dataset["path"] = os.path.abspath(base / Path(dataset["path"]).expanduser())


def _absolute_python_path(data: dict[str, Any], path: Path | None, root: yaml.Node | None, source: str) -> None:
    """Make each `python_path` folder absolute, relative to the study file's folder (the current
    directory when the study has no file); a folder a study file names must exist. A stored study
    keeps its folders as they were and does not check them: reports read it wherever it is."""
    folders = data.get("python_path")
    if not isinstance(folders, list):
        return
    base = path.parent if path is not None else Path()
    for index, folder in enumerate(folders):
        if not isinstance(folder, str):
            continue  # left to the validation
        folders[index] = os.path.abspath(base / Path(folder).expanduser())
        if path is not None and not Path(folders[index]).is_dir():
            line = _line_of(root, ("python_path", index))
            where = f":{line}" if line else ""
            raise UserError(f"{source}{where}: python_path.{index}: no folder {folders[index]}")


def _import_code(data: dict[str, Any], root: yaml.Node | None, source: str) -> None:
    """Load the plugins and import the study's `imports:` (`archscale.plugins`) before the study is
    validated: they may register the strategy kinds its arms name. An entry that is not a module
    name is left to the validation; one that fails to import is reported at its line. The study's
    `python_path` folders (made absolute) go first on the import path."""
    folders = data.get("python_path")
    prepare_process(python_path=[f for f in folders if isinstance(f, str)] if isinstance(folders, list) else ())
    imports = data.get("imports")
    for index, name in enumerate(imports if isinstance(imports, list) else []):
        if isinstance(name, str) and re.fullmatch(MODULE_PATTERN, name):
            try:
                import_module(name)
            except UserError as exc:
                line = _line_of(root, ("imports", index))
                where = f":{line}" if line else ""
                raise UserError(f"{source}{where}: imports.{index}: {exc}") from None


def with_dataset_digest(loaded: LoadedStudy, digest: str | None) -> LoadedStudy:
    """`loaded` with `dataset.digest` set to the digest of the data just read (`loaded` itself when
    there is none or it is already set): the stored study then names the data it ran on."""
    if digest is None or loaded.spec.dataset.digest == digest:
        return loaded
    data = yaml.safe_load(loaded.text)
    data["dataset"]["digest"] = digest
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)
    return parse_study(text, str(loaded.path or "study"), [], loaded.path)


def _raise_arm_error(exc: ValidationError, root: yaml.Node | None, source: str) -> None:
    """An invalid arm, or one that does not fit the study, is reported at its field's line."""
    for error in exc.errors():
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, ArmError):
            loc = ("strategies", cause.arm, *_field_path(cause.loc))
            line = _line_of(root, loc)
            where = f":{line}" if line else ""
            raise UserError(f"{source}{where}: {'.'.join(str(p) for p in loc)}: {cause.message}") from None


def _field_path(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """The YAML path of a pydantic error location, without its union-branch labels
    (`constrained-float`, `BaseLrSearch`, ...): our fields are all snake_case."""
    return tuple(p for p in loc if isinstance(p, int) or re.fullmatch(r"[a-z_][a-z0-9_]*", str(p)))


def _message(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return "unknown field (check the spelling; `archscale schema` lists the fields)"
    return message


def _apply(data: dict[str, Any], override: str) -> None:
    key, sep, value = override.partition("=")
    if not sep or not key.strip():
        raise UserError(f"--set {override!r}: expected key.path=value")
    *parents, last = key.strip().split(".")
    node: Any = data
    for part in parents:
        child = node.get(part) if isinstance(node, dict) else None
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise UserError(f"--set {override!r}: {part} is not a mapping")
        node = child
    try:
        node[last] = yaml.safe_load(value)
    except yaml.YAMLError:
        raise UserError(f"--set {override!r}: the value is not valid YAML") from None


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the deepest YAML node on the path `loc` (pydantic's error location)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
            key = next((k for k, _ in node.value if k.value == part), None)
            if match is None:
                return line
            node, line = match, (key.start_mark.line + 1 if key is not None else line)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            continue  # pydantic's union-branch labels have no node of their own
    return line
