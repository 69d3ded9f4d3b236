"""The model registry: one decorated factory per network family (timm style), and `build_model`."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

from archscale.errors import UserError
from archscale.graph import FAMILY_NAMES, Architecture, Family
from archscale.nn.model import ArchModel

if TYPE_CHECKING:
    from torch import nn

Parametrization = Literal["standard", "mup"]
"""How a model's width enters its init and learning rates: `standard` (torch's layers as they are), or
`mup` (Yang et al.'s μP through microsoft's `mup`: base shapes, `MuReadout`, MuSGD; `archscale.nn.mup`)."""


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


def _positive(name: str, value: int) -> int:
    if value < 1:
        raise UserError(f"{name} must be >= 1, got {value}")
    return value


def _activation(entry: FamilyEntry, name: str) -> str:
    key = name.strip().lower()
    if key not in entry.activations:
        offers = ", ".join(entry.activations)
        raise UserError(f"a {entry.family.value} network cannot use activation '{name}' (it offers {offers})")
    return key


def build_model(
    arch: Architecture,
    *,
    width: int | None = None,
    cells: int = 5,
    classes: int = 10,
    input_shape: tuple[int, ...] | None = None,
    batch_norm: bool = False,
    prune_dead_edges: bool = False,
    activation: str = "relu",
    parametrization: str = "standard",
    mup_base_width: int | None = None,
) -> ArchModel:
    """Build the torch model of `arch` with torch's default init (apply a scheme with `init_model`).

    `width` and `input_shape` default per family (`family_entry`); `prune_dead_edges` as in
    `ModelSpec`; `activation` (`relu` or `gelu`) for the families that offer it (MLP, CNN; paper
    App. E.2). `parametrization="mup"` builds the μP model instead (`archscale.nn.mup.build_mup_model`:
    base shapes from the same network at `mup_base_width`, default the family's standard width, and
    its delta at twice that), already drawn with μP's init (`init_model(model, "mup")` re-draws it).
    Raise UserError on a size, activation or parametrization the family cannot take, on
    `mup_base_width` without `parametrization="mup"`, or on an architecture without an
    input→output path except a NAS-Bench-201 cell built whole (whose output is then constant, as in
    the benchmark).
    """
    if parametrization not in get_args(Parametrization):
        known = ", ".join(get_args(Parametrization))
        raise UserError(f"unknown parametrization '{parametrization}'; known: {known}")
    if parametrization == "mup":
        from archscale.nn.mup import build_mup_model

        return build_mup_model(
            arch,
            width=width,
            base_width=None if mup_base_width is None else _positive("mup_base_width", mup_base_width),
            cells=cells,
            classes=classes,
            input_shape=input_shape,
            batch_norm=batch_norm,
            prune_dead_edges=prune_dead_edges,
            activation=activation,
        )
    if mup_base_width is not None:
        raise UserError("mup_base_width is a setting of parametrization 'mup' only")
    entry = family_entry(arch.family)
    shape = tuple(input_shape) if input_shape is not None else entry.default_input_shape
    if not shape or any(d < 1 for d in shape):
        raise UserError(f"input shape {shape} must be a non-empty list of positive sizes")
    spec = ModelSpec(
        width=_positive("width", entry.default_width if width is None else width),
        cells=_positive("cells", cells),
        classes=_positive("classes", classes),
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
