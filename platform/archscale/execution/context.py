"""What every trial of a study needs besides its own config; shipped to workers once per phase."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archscale.strategies.plan import StudyContext
from archscale.study.spec import StudySpec


@dataclass(frozen=True)
class TrialContext:
    """Plain data (picklable): the dataset, model and training settings and the architectures."""

    dataset: dict[str, Any]
    model: dict[str, Any]
    training: dict[str, Any]
    probe: dict[str, Any] | None
    archs: dict[str, tuple[Any, str, int | None, int | None]]
    threads: int

    @classmethod
    def of(cls, ctx: StudyContext) -> TrialContext:
        spec: StudySpec = ctx.spec
        archs = {
            key: (info.arch.notation, info.arch.family.value, info.arch.kernel_size, info.arch.width)
            for key, info in ctx.archs.items()
        }
        probe = spec.strategies.probe.model_dump() if spec.strategies.probe is not None else None
        return cls(
            spec.dataset.model_dump(),
            spec.model.model_dump(),
            spec.training.model_dump(),
            probe,
            archs,
            max(1, int(spec.resources.cpu_per_trial)),
        )

    def budget(self, strategy: str) -> int:
        """The epochs a trial of this strategy runs when nothing stops it."""
        return int(self.probe["epochs"]) if strategy == "probe" and self.probe else int(self.training["epochs"])
