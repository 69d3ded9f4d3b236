"""The model registry: one decorated factory per network family (timm style), and the standard builder."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from archscale.errors import UserError
from archscale.graph import FAMILY_NAMES, Architecture, Family
from archscale.nn.model import ArchModel

if TYPE_CHECKING:
    from torch import nn

Parametrization = Literal["standard", "mup"]
"""How a model's width enters its init and learning rates: `standard` (torch's layers as they are), or
`mup` (Yang et al.'s μP through microsoft's `mup`: base shapes, `MuReadout`, MuSGD; `archscale.nn.mup`).
`archscale.nn.build.build_model` builds either."""


@dataclass(frozen=True)
class ModelSpec:
    """Size of a model: `width` (channels C for NAS-Bench-201), `cells` per NAS-Bench-201 stage,
    output `classes`, the per-sample `input_shape` ((features...), (C, L) or (C, H, W)),
    `batch_norm` after every DAG block and the stem (NAS-Bench-201 always normalises), and
    `prune_dead_edges`: NAS-Bench-201 cells build only the edges on an input→output path instead of
    every edge as the benchmark does (MLP/CNN DAGs always build only those), and the DAG blocks'
    `activation` (`relu` or `gelu`; one of the family's `FamilyEntry.activations`)."""

    width: int
    cells: int
    classes: int
    input_shape: tuple[int, ...]
    batch_norm: bool
    prune_dead_edges: bool = False
    activation: str = "relu"


Factory = Callable[[Architecture, ModelSpec], ArchModel]


@dataclass(frozen=True)
class FamilyEntry:
    """A registered family: its factory, the defaults `build_model` fills in, and the activations
    its factory can build."""

    family: Family
    factory: Factory
    default_width: int
    default_input_shape: tuple[int, ...]
    activations: tuple[str, ...] = ("relu",)


_REGISTRY: dict[Family, FamilyEntry] = {}


def register_model(
    family: Family,
    *,
    default_width: int,
    default_input_shape: tuple[int, ...],
    activations: tuple[str, ...] = ("relu",),
) -> Callable[[Factory], Factory]:
    """Decorator registering `factory` as the builder of `family`'s networks (with `activations`)."""

    def register(factory: Factory) -> Factory:
        if family in _REGISTRY:
            raise ValueError(f"family {family.value} is already registered")
        _REGISTRY[family] = FamilyEntry(family, factory, default_width, default_input_shape, activations)
        return factory

    return register


def list_families(pattern: str = "*") -> list[str]:
    """Names of the registered families matching a shell-style pattern, sorted."""
    return sorted(f.value for f in _REGISTRY if fnmatch.fnmatch(f.value, pattern))


def family_entry(family: Family) -> FamilyEntry:
    if family not in _REGISTRY:
        raise UserError(f"no model is registered for family '{family.value}'; known: {FAMILY_NAMES}")
    return _REGISTRY[family]


def positive(name: str, value: int) -> int:
    """`value`, or UserError naming the size `name` when it is below 1."""
    if value < 1:
        raise UserError(f"{name} must be >= 1, got {value}")
    return value


def _activation(entry: FamilyEntry, name: str) -> str:
    key = name.strip().lower()
    if key not in entry.activations:
        offers = ", ".join(entry.activations)
        raise UserError(f"a {entry.family.value} network cannot use activation '{name}' (it offers {offers})")
    return key


def build_standard_model(
    arch: Architecture,
    *,
    width: int | None = None,
    cells: int = 5,
    classes: int = 10,
    input_shape: tuple[int, ...] | None = None,
    batch_norm: bool = False,
    prune_dead_edges: bool = False,
    activation: str = "relu",
) -> ArchModel:
    """The standard-parametrised torch model of `arch` from its family's factory, with torch's default
    init (`archscale.nn.build_model` documents the options and also builds μP models).
    """
    entry = family_entry(arch.family)
    shape = tuple(input_shape) if input_shape is not None else entry.default_input_shape
    if not shape or any(d < 1 for d in shape):
        raise UserError(f"input shape {shape} must be a non-empty list of positive sizes")
    spec = ModelSpec(
        width=positive("width", entry.default_width if width is None else width),
        cells=positive("cells", cells),
        classes=positive("classes", classes),
        input_shape=shape,
        batch_norm=batch_norm,
        prune_dead_edges=prune_dead_edges,
        activation=_activation(entry, activation),
    )
    return entry.factory(arch, spec)


def parametrization_of(model: nn.Module) -> Parametrization:
    """`mup` when the model's parameters carry μP base shapes (mup's `infshape`, set by
    `mup.set_base_shapes`), else `standard`."""
    return "mup" if any(hasattr(p, "infshape") for p in model.parameters()) else "standard"
