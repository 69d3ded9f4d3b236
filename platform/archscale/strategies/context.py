"""A study's validated spec with its architectures, base networks included: what strategies plan from."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from archscale.errors import UserError
from archscale.graph import Architecture, Family, ModuleOrigin, parse_architecture
from archscale.principles import Convention, Scale, default_base, depth_stats
from archscale.settings import ArmSettings
from archscale.study.spec import StudySpec


@dataclass(frozen=True)
class ArchInfo:
    """An architecture of the study with its principled scale under the study's convention.

    `listed`: the user asked for it (final runs and tuning), at `position` in the study's order (-1 for
    an unlisted base); `is_base`: a base network that the base LR is searched or probed on.
    """

    key: str
    arch: Architecture
    scale: Scale
    listed: bool = True
    is_base: bool = False
    position: int = -1


@dataclass(frozen=True)
class StudyContext:
    """The study's name and spec, its architectures (listed ones in order, then unlisted bases), and
    the study's convention (the first principled-like arm's, else official)."""

    name: str
    spec: StudySpec
    archs: dict[str, ArchInfo]
    convention: Convention

    def study_archs(self) -> list[ArchInfo]:
        """The architectures the user listed, in their order."""
        return sorted((i for i in self.archs.values() if i.listed), key=lambda i: i.position)

    def bases(self) -> list[ArchInfo]:
        return [i for i in self.archs.values() if i.is_base]

    def arm_init(self, arm: ArmSettings) -> dict[str, str]:
        return self.spec.arm_init(arm)

    def recipe(self, **overrides: Any) -> dict[str, Any]:
        """The study's training recipe as `TrainConfig` fields (without lr and seed), with overrides."""
        t = self.spec.training
        recipe = {
            "epochs": t.epochs,
            "max_steps": t.max_steps,
            "batch_size": t.batch_size,
            "momentum": t.optimizer.momentum,
            "nesterov": t.optimizer.nesterov,
            "weight_decay": t.optimizer.weight_decay,
            "schedule": t.schedule,
            "warmup_epochs": t.warmup_epochs,
            "device": t.device,
            "bf16": t.bf16,
            "channels_last": t.channels_last,
            "augment": t.augment,
        }
        return {**recipe, **overrides}


def study_convention(spec: StudySpec) -> Convention:
    """The convention of the study's first arm that has one (principled, probe), else `official`."""
    for arm in spec.strategies.values():
        convention = getattr(arm, "convention", None)
        if convention is not None:
            return Convention(convention)
    return Convention.OFFICIAL


_TRACED: dict[ModuleOrigin, Architecture] = {}
"""The architectures of `family: torch` studies by module: traced where torch may be imported
(`archscale.execution`), registered with `remember_traced` when a study's context is built."""


def remember_traced(archs: Iterable[Architecture]) -> None:
    """Register the traced architectures among `archs` (those with an `origin`) for `base_of`."""
    _TRACED.update({arch.origin: arch for arch in archs if arch.origin is not None})


def base_of(spec: StudySpec, base: Any, convention: Convention) -> Architecture:
    """An arm's base network: the given notation, else the family's shallowest (kernel 3 for CNNs).
    In a `family: torch` study: the variant named `base`, else the variant with the smallest S under
    `convention` (the first listed on a tie); UserError when no such variant was traced."""
    if spec.model.family == "torch":
        return _torch_base(spec, base, convention)
    family = Family(spec.model.family)
    if base is not None:
        return parse_architecture(base, family, spec.model.kernel_size)
    return default_base(convention, family)


def _torch_base(spec: StudySpec, base: Any, convention: Convention) -> Architecture:
    from archscale.study.architectures import torch_origins

    archs = [_TRACED[o] for o in torch_origins(spec.architectures, spec.model) if o in _TRACED]
    if not archs:
        raise UserError("the study's torch architectures have not been traced")
    if base is None:
        return min(archs, key=lambda arch: depth_stats(arch, convention).S or 0)
    named = [arch for arch in archs if arch.short == base]
    if not named:
        raise UserError(f"base '{base}' is not one of the study's architectures: {', '.join(a.short for a in archs)}")
    return named[0]
