"""An architecture: a canonical graph plus the network family it is built as."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from archscale.errors import UserError
from archscale.graph import notation
from archscale.graph.dag import Graph
from archscale.graph.ops import LINEAR, OpKind, conv


class Family(StrEnum):
    """Network families: DAG-MLP, DAG-CNN, and NAS-Bench-201 cell networks."""

    MLP = "mlp"
    CNN = "cnn"
    NB201 = "nb201"


FAMILY_NAMES = ", ".join(f.value for f in Family)


def family_from_name(name: str) -> Family:
    try:
        return Family(name.strip().lower())
    except ValueError:
        raise UserError(f"unknown family '{name}'; known: {FAMILY_NAMES}") from None


@dataclass(frozen=True)
class ModuleOrigin:
    """The user's torch module an architecture was traced from (`model.family: torch`): the
    `factory` (`package.module:callable`), its keyword `args` as canonical JSON, the `unsupported`
    policy (`error` or `ignore`) and a display `name`."""

    factory: str
    args: str
    unsupported: str = "error"
    name: str = ""


UNSUPPORTED_POLICIES = ("error", "ignore")
"""What tracing does with an op the theory does not cover: stop with a UserError, or treat it as depth-neutral."""


def module_origin(
    factory: str, args: Mapping[str, Any] | None = None, unsupported: str = "error", name: str = ""
) -> ModuleOrigin:
    """A validated `ModuleOrigin`: `factory` must read `package.module:callable`, `args` be
    JSON-able keywords, `unsupported` one of `error`/`ignore`; the name defaults to `callable(k=v, ...)`."""
    module, _, attr = factory.partition(":")
    if not module or not attr or any(not part.isidentifier() for part in (*module.split("."), *attr.split("."))):
        raise UserError(f"factory '{factory}' must read package.module:callable (e.g. mynets:resnet)")
    if unsupported not in UNSUPPORTED_POLICIES:
        raise UserError(f"unsupported: '{unsupported}' must be one of {', '.join(UNSUPPORTED_POLICIES)}")
    args = dict(args or {})
    try:
        text = json.dumps(args, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise UserError(f"the args of factory '{factory}' must be JSON values: {exc}") from None
    if not name:
        name = f"{attr}({', '.join(f'{k}={json.dumps(v)}' for k, v in args.items())})"
    return ModuleOrigin(factory, text, unsupported, name)


@dataclass(frozen=True)
class Architecture:
    """A graph and its family; `kernel_size` is the model-wide kernel of a CNN (None otherwise);
    `width`, when set, overrides the study's model width for this architecture (width sweeps);
    `origin`, when set, is the user's torch module the graph was traced from (then `family` says
    which built-in family's depth rules it follows: cnn when it has a convolution, else mlp)."""

    graph: Graph
    family: Family
    kernel_size: int | None = None
    width: int | None = None
    origin: ModuleOrigin | None = None

    @property
    def notation(self) -> str:
        """The canonical notation: the DAG string for MLP/CNN, the NAS-Bench-201 string for NB201,
        else a JSON edge list."""
        if self.family is Family.NB201 and notation.fits_nb201(self.graph):
            return notation.to_nb201_string(self.graph)
        if self.family is not Family.NB201 and notation.fits_dag_string(self.graph):
            return notation.to_dag_string(self.graph)
        return json.dumps(notation.to_edge_list(self.graph), separators=(",", ":"))

    @property
    def short(self) -> str:
        """A compact label: a traced module's name, the NAS-Bench-201 digit code where it fits, else
        `notation`."""
        if self.origin is not None:
            return self.origin.name
        if self.family is Family.NB201 and notation.fits_nb201(self.graph):
            return notation.to_nb201_code(self.graph)
        return self.notation

    @property
    def label(self) -> str:
        """`short`, plus the width when this architecture overrides it."""
        return self.short if self.width is None else f"{self.short} @ width {self.width}"

    def digest(self) -> str:
        """A stable identity of (family, kernel, graph, width override, traced module and its args),
        used as the database key."""
        text = f"{self.family.value};k={self.kernel_size};{self.graph.describe()}"
        if self.width is not None:
            text += f";w={self.width}"
        if self.origin is not None:
            text += f";torch={self.origin.factory};{self.origin.args};{self.origin.unsupported}"
        return hashlib.sha256(text.encode()).hexdigest()


def resolve_family(text: str, family: Family | None) -> Family:
    """The family of a text notation: NAS-Bench-201 strings and codes with digits 3/4 are nb201,
    other digit strings mlp unless `family` says otherwise; raise UserError on a contradiction."""
    text = text.strip()
    is_nb201 = text.startswith("|") or (("3" in text or "4" in text) and notation.is_digit_string(text))
    if family is None:
        return Family.NB201 if is_nb201 else Family.MLP
    if is_nb201 and family is not Family.NB201:
        kind = "NAS-Bench-201 string" if text.startswith("|") else "NAS-Bench-201 code (digits 3/4)"
        raise UserError(f"'{text}' is a {kind}, which does not fit family {family.value}")
    return family


def parse_architecture(spec: Any, family: Family | str | None = None, kernel_size: int = 3) -> Architecture:
    """Parse any accepted notation (string or edge list) into an Architecture.

    Digit strings are MLP DAG strings unless they use digits 3/4 or `family` says nb201; a CNN's
    parameterised edges become `conv(kernel_size)`. Raise UserError with a one-line message on any
    malformed input or a family that contradicts the notation.
    """
    fam = family_from_name(family) if isinstance(family, str) else family
    if isinstance(spec, str) and spec.strip().startswith("["):
        try:
            spec = json.loads(spec)
        except json.JSONDecodeError as exc:
            raise UserError(f"edge list is not valid JSON: {exc.msg} at column {exc.colno}") from None
    if isinstance(spec, str):
        return _parse_text(spec.strip(), fam, kernel_size)
    graph = notation.parse_edge_list(spec)
    kinds = {e.op.kind for e in graph.edges}
    if fam is None:
        fam = Family.MLP if OpKind.LINEAR in kinds or not kinds & {OpKind.CONV, OpKind.AVG_POOL} else Family.CNN
    if fam is Family.MLP and kinds - {OpKind.SKIP, OpKind.LINEAR}:
        raise UserError("an MLP edge list may only use zero, skip and linear ops")
    if fam is Family.NB201 and OpKind.LINEAR in kinds:
        raise UserError(f"a {fam.value} edge list cannot use linear ops; use convKxK")
    if fam is Family.CNN:
        kernels = {e.op.kernel for e in graph.edges if e.op.kind is OpKind.CONV}
        kernel = max(kernels) if kernels else kernel_size
        return Architecture(graph, fam, kernel)
    return Architecture(graph, fam)


def _parse_text(text: str, family: Family | None, kernel_size: int) -> Architecture:
    if not text:
        raise UserError("empty architecture")
    family = resolve_family(text, family)
    if text.startswith("|"):
        return Architecture(notation.parse_nb201_string(text), Family.NB201)
    if family is Family.NB201:
        return Architecture(notation.parse_nb201_code(text), Family.NB201)
    if not notation.is_digit_string(text):
        raise UserError(
            f"cannot read architecture '{text}': expected a DAG string (2_02_002), a NAS-Bench-201 "
            "code (3_33_133) or string (|nor_conv_3x3~0|+...), or an edge list"
        )
    if family is Family.CNN:
        if kernel_size < 1:
            raise UserError(f"kernel size must be >= 1, got {kernel_size}")
        return Architecture(notation.parse_dag_string(text, conv(kernel_size)), Family.CNN, kernel_size)
    return Architecture(notation.parse_dag_string(text, LINEAR), Family.MLP)
