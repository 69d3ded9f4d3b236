"""The model registry: one decorated factory per network family (timm style), and `build_model`."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass

from archscale.errors import UserError
from archscale.graph import FAMILY_NAMES, Architecture, Family
from archscale.nn.model import ArchModel


@dataclass(frozen=True)
class ModelSpec:
    """Size of a model: `width` (channels C for NAS-Bench-201), `cells` per NAS-Bench-201 stage,
    output `classes`, the per-sample `input_shape` ((features...), (C, L) or (C, H, W)), and
    `batch_norm` after every DAG block and the stem (NAS-Bench-201 always normalises)."""

    width: int
    cells: int
    classes: int
    input_shape: tuple[int, ...]
    batch_norm: bool


Factory = Callable[[Architecture, ModelSpec], ArchModel]


@dataclass(frozen=True)
class FamilyEntry:
    """A registered family: its factory and the defaults `build_model` fills in."""

    family: Family
    factory: Factory
    default_width: int
    default_input_shape: tuple[int, ...]


_REGISTRY: dict[Family, FamilyEntry] = {}


def register_model(
    family: Family, *, default_width: int, default_input_shape: tuple[int, ...]
) -> Callable[[Factory], Factory]:
    """Decorator registering `factory` as the builder of `family`'s networks."""

    def register(factory: Factory) -> Factory:
        if family in _REGISTRY:
            raise ValueError(f"family {family.value} is already registered")
        _REGISTRY[family] = FamilyEntry(family, factory, default_width, default_input_shape)
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


def build_model(
    arch: Architecture,
    *,
    width: int | None = None,
    cells: int = 5,
    classes: int = 10,
    input_shape: tuple[int, ...] | None = None,
    batch_norm: bool = False,
) -> ArchModel:
    """Build the torch model of `arch` with torch's default init (apply a scheme with `init_model`).

    `width` and `input_shape` default per family (`family_entry`); raise UserError on a size the
    family cannot take or an architecture without an input→output path.
    """
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
    )
    return entry.factory(arch, spec)
