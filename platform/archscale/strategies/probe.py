"""`probe`: the paper's maximal-LR protocol (paper-spec §4.5): a geometric LR grid with a short budget
and its own optimizer and schedule on every architecture (base network included); an architecture's
maximal LR is the largest reaching the lowest training loss (`train_loss`, or the mean over the
epoch's last steps, `train_loss_tail`). It has no final runs."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field

from archscale.graph import Architecture, Family
from archscale.principles import Convention, default_base
from archscale.strategies.context import StudyContext
from archscale.strategies.needs import UnitNeed
from archscale.strategies.registry import ArmError, Strategy, register_strategy
from archscale.study.spec import ArmSettings, OptimizerSpec, PositiveFloat, StudySpec
from archscale.vocabulary import Phase


class ProbeSettings(ArmSettings):
    low: PositiveFloat = 1e-4
    high: PositiveFloat = 1.0
    points: int = Field(17, ge=2)
    epochs: int = Field(1, ge=1)
    criterion: Literal["train_loss", "train_loss_tail"] = "train_loss"
    convention: Literal["official", "paper"] = "official"
    optimizer: OptimizerSpec = OptimizerSpec(momentum=0.0)
    schedule: Literal["constant", "cosine"] = "constant"


def probe_grid(low: float, high: float, points: int) -> list[float]:
    """A geometric grid from `low` to `high` inclusive."""
    ratio = math.log(high / low) / (points - 1)
    return [low * math.exp(ratio * i) for i in range(points)]


@register_strategy("probe")
class Probe(Strategy):
    settings = ProbeSettings
    has_finals = False

    def check(self, name: str, arm: ProbeSettings, spec: StudySpec) -> None:
        if arm.low >= arm.high:
            raise ArmError(name, ("low",), f"low ({arm.low}) must be below high ({arm.high})")

    def base_network(self, arm: ProbeSettings, spec: StudySpec) -> Architecture | None:
        return default_base(Convention(arm.convention), Family(spec.model.family))

    def recipe(self, name: str, arm: ProbeSettings, ctx: StudyContext) -> dict[str, Any]:
        o = arm.optimizer
        return ctx.recipe(
            epochs=arm.epochs,
            momentum=o.momentum,
            nesterov=o.nesterov,
            weight_decay=o.weight_decay,
            schedule=arm.schedule,
        )

    def units(self, name: str, arm: ProbeSettings, ctx: StudyContext) -> list[UnitNeed]:
        grid = probe_grid(arm.low, arm.high, arm.points)
        init, recipe = ctx.arm_init(arm), self.recipe(name, arm, ctx)
        return [
            UnitNeed(info.key, Phase.PROBE, seed, number, lr, init, recipe)
            for info in ctx.archs.values()
            for number, lr in enumerate(grid)
            for seed in ctx.spec.seeds
        ]
