"""`fixed`: one LR for every architecture: a number, or `base` (the base network's searched LR, unscaled,
i.e. naive transfer; the search is the study's base-LR search under this arm's init)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from archscale.graph import Architecture
from archscale.strategies.base_lr import base_search_need, check_search
from archscale.strategies.context import ArchInfo, StudyContext, base_of, study_convention
from archscale.strategies.needs import Choice, Found, SearchNeed
from archscale.strategies.registry import Strategy, register_strategy
from archscale.study.spec import ArmSettings, PositiveFloat, SearchOverrides, StudySpec


class FixedSettings(ArmSettings):
    lr: PositiveFloat | Literal["base"] = Field(
        "base", description="A number, or `base`: the searched base LR, unscaled."
    )
    base: str | list[dict[str, Any]] | None = Field(None, description="Base network; default: the family's shallowest.")
    search: SearchOverrides = Field(SearchOverrides(), description="Overrides of the study's search (lr: base).")


@register_strategy("fixed")
class Fixed(Strategy):
    settings = FixedSettings

    def label(self, name: str, arm: FixedSettings) -> str:
        return name if arm.lr == "base" or name != "fixed" else f"fixed {arm.lr:g}"

    def check(self, name: str, arm: FixedSettings, spec: StudySpec) -> None:
        if arm.lr == "base":
            check_search(name, ("search",), arm.search, spec)

    def base_network(self, arm: FixedSettings, spec: StudySpec) -> Architecture | None:
        return base_of(spec, arm.base, study_convention(spec)) if arm.lr == "base" else None

    def searches(self, name: str, arm: FixedSettings, ctx: StudyContext) -> list[SearchNeed]:
        return [base_search_need(ctx, arm, arm.search, arm.base)] if arm.lr == "base" else []

    def final_lr(self, name: str, arm: FixedSettings, ctx: StudyContext, info: ArchInfo, found: Found) -> Choice | None:
        if arm.lr != "base":
            return Choice(float(arm.lr), None, "given")
        best = found.get(base_search_need(ctx, arm, arm.search, arm.base))
        return Choice(best[0], best[1], "base network's searched LR, unscaled") if best is not None else None
