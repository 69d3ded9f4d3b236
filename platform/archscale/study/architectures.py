"""Turn the study's `architectures` entries into a list of distinct Architectures.

Architectures without an input→output path are reported and skipped (their output is constant);
space samples draw only from architectures that have one.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from archscale.errors import UserError
from archscale.graph import Architecture, Family, ModuleOrigin, module_origin, parse_architecture
from archscale.study.spec import DepthSweep, KernelSweep, ModelSpec, SpaceSample, TorchVariant, WidthSweep

SPACE_FAMILY = {"nb201": Family.NB201, "mlp-dag": Family.MLP, "cnn-dag": Family.CNN}
SPACE_MAX_DIGIT = {"nb201": 4, "mlp-dag": 2, "cnn-dag": 2}
ENUMERABLE = 100_000


@dataclass(frozen=True)
class Skipped:
    label: str
    reason: str


Tracer = Callable[[ModuleOrigin], Architecture]
"""Traces a user's module into its Architecture (`archscale.nn.traced`; this layer imports no torch)."""


def expand_architectures(
    entries: list[Any], model: ModelSpec, trace: Tracer | None = None
) -> tuple[list[Architecture], list[Skipped]]:
    """The study's architectures in order (duplicates dropped) and those skipped, with the reason;
    a `family: torch` study's variants are traced by `trace`."""
    kept: dict[str, Architecture] = {}
    skipped: list[Skipped] = []
    if model.family == "torch":
        if trace is None:
            raise ValueError("a torch study's architectures need a tracer")
        for arch in map(trace, torch_origins(entries, model)):
            kept.setdefault(arch.digest(), arch)
        return list(kept.values()), skipped
    family = Family(model.family)
    for index, entry in enumerate(entries):
        try:
            candidates = _entry(entry, family, model.kernel_size)
        except UserError as exc:
            raise UserError(f"architectures[{index}]: {exc}") from None
        for arch in candidates:
            if not arch.graph.has_path():
                skipped.append(Skipped(arch.label, "no input→output path"))
            else:
                kept.setdefault(arch.digest(), arch)
    return list(kept.values()), skipped


def torch_origins(entries: list[Any], model: ModelSpec) -> list[ModuleOrigin]:
    """The module of each variant of a `family: torch` study: its args over `model.args`, named by
    `name` or by its own args; UserError on another kind of entry or a name given to two variants."""
    assert model.factory is not None
    origins: dict[str, ModuleOrigin] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, TorchVariant):
            raise UserError(f"architectures[{index}]: a torch model's architectures are {{name, args}} variants")
        try:
            name = entry.name or module_origin(model.factory, entry.args).name
            origin = module_origin(model.factory, {**model.args, **entry.args}, model.unsupported, name)
        except UserError as exc:
            raise UserError(f"architectures[{index}]: {exc}") from None
        if origins.setdefault(name, origin) != origin:
            raise UserError(f"architectures[{index}]: two variants are named '{name}'")
    return list(origins.values())


def _entry(entry: Any, family: Family, kernel_size: int) -> list[Architecture]:
    if isinstance(entry, str | list):
        arch = parse_architecture(entry, family, kernel_size)
        if arch.family is not family:
            raise UserError(f"'{arch.short}' is a {arch.family.value} architecture but model.family is {family.value}")
        return [arch]
    if isinstance(entry, SpaceSample):
        return _sample(entry, family, kernel_size)
    if isinstance(entry, DepthSweep):
        block = "3" if family is Family.NB201 else "2"
        return [
            parse_architecture("_".join("0" * k + block for k in range(depth)), family, kernel_size)
            for depth in entry.depths
        ]
    if isinstance(entry, WidthSweep):
        return [
            replace(parse_architecture(a, family, kernel_size), width=w)
            for w in entry.widths
            for a in entry.architectures
        ]
    if isinstance(entry, KernelSweep):
        if family is not Family.CNN:
            raise UserError("a kernel_size sweep needs model.family cnn")
        return [parse_architecture(a, family, k) for k in entry.kernel_sizes for a in entry.architectures]
    raise UserError(f"cannot read architecture entry {entry!r}")


def _sample(entry: SpaceSample, family: Family, kernel_size: int) -> list[Architecture]:
    if SPACE_FAMILY[entry.space] is not family:
        raise UserError(f"space {entry.space} needs model.family {SPACE_FAMILY[entry.space].value}")
    nodes = 4 if entry.space == "nb201" else entry.nodes
    edges = nodes * (nodes - 1) // 2
    digits = "01234"[: SPACE_MAX_DIGIT[entry.space] + 1]
    size = len(digits) ** edges
    rng = random.Random(entry.seed)

    def build(code: str) -> Architecture:
        groups = [code[k * (k - 1) // 2 : k * (k + 1) // 2] for k in range(1, nodes)]
        return parse_architecture("_".join(groups), family, kernel_size)

    if size <= ENUMERABLE:
        valid = [a for a in (build("".join(d)) for d in itertools.product(digits, repeat=edges)) if a.graph.has_path()]
        if entry.sample == "all":
            return valid
        if entry.sample > len(valid):
            raise UserError(f"space {entry.space} has only {len(valid)} architectures with a path")
        return rng.sample(valid, entry.sample)
    if entry.sample == "all":
        raise UserError(f"space {entry.space} with {nodes} nodes has {size:,} graphs: give a sample size")
    drawn: dict[str, Architecture] = {}
    for _ in range(entry.sample * 1000):
        arch = build("".join(rng.choice(digits) for _ in range(edges)))
        if arch.graph.has_path():
            drawn.setdefault(arch.digest(), arch)
        if len(drawn) == entry.sample:
            return list(drawn.values())
    raise UserError(f"could not draw {entry.sample} distinct architectures with a path from {entry.space}")
