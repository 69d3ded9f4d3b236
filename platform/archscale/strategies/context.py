"""A study's validated spec with its architectures, base networks included: what strategies plan from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archscale.graph import Architecture, Family, parse_architecture
from archscale.principles import Convention, Scale, default_base, lr_scale
from archscale.study.spec import ArmSettings, StudySpec


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

    @classmethod
    def build(cls, name: str, spec: StudySpec, archs: list[Architecture]) -> StudyContext:
        from archscale.strategies.registry import get_strategy

        convention = study_convention(spec)
        base = default_base(convention, Family(spec.model.family))
        infos: dict[str, ArchInfo] = {}
        for position, arch in enumerate(archs):
            infos.setdefault(
                arch.digest(), ArchInfo(arch.digest(), arch, lr_scale(arch, convention, base), position=position)
            )
        for arm in spec.strategies.values():
            strategy = get_strategy(arm.kind)
            needs_base = getattr(strategy, "base_network", None)
            wanted = needs_base(arm, spec) if needs_base is not None else None
            if wanted is None:
                continue
            key = wanted.digest()
            known = infos.get(key)
            infos[key] = ArchInfo(
                key,
                wanted,
                lr_scale(wanted, convention, base),
                listed=known is not None and known.listed,
                is_base=True,
                position=known.position if known is not None else -1,
            )
        return cls(name, spec, infos, convention)

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


def base_of(spec: StudySpec, base: Any, convention: Convention) -> Architecture:
    """An arm's base network: the given notation, else the family's shallowest (kernel 3 for CNNs)."""
    family = Family(spec.model.family)
    if base is not None:
        return parse_architecture(base, family, spec.model.kernel_size)
    return default_base(convention, family)
