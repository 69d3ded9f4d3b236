"""`principled`: the paper's rule. The base network's LR (given, or found by the study's base-LR search
under this arm's init) times the architecture's scale (S_base / S)^(1/2) (× 3/k for CNN kernels) under
the arm's convention (`official`: the authors' code; `paper`: the equations)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from archscale.graph import Architecture
from archscale.principles import Convention, lr_scale
from archscale.strategies.base_lr import base_search_need, check_search
from archscale.strategies.context import ArchInfo, StudyContext, base_of
from archscale.strategies.needs import Choice, Found, SearchNeed
from archscale.strategies.registry import Strategy, register_strategy
from archscale.study.spec import ArmSettings, PositiveFloat, SearchOverrides, Strict, StudySpec


class BaseLrSearch(Strict):
    search: SearchOverrides = Field(SearchOverrides(), description="Overrides of the study's search.")


class PrincipledSettings(ArmSettings):
    base_lr: PositiveFloat | BaseLrSearch = Field(
        BaseLrSearch(), description="The base network's LR, or {search: {...}} to find it with the study's search."
    )
    base: str | list[dict[str, Any]] | None = Field(None, description="Base network; default: the family's shallowest.")
    convention: Literal["official", "paper"] = "official"


@register_strategy("principled")
class Principled(Strategy):
    settings = PrincipledSettings

    def check(self, name: str, arm: PrincipledSettings, spec: StudySpec) -> None:
        if isinstance(arm.base_lr, BaseLrSearch):
            check_search(name, ("base_lr", "search"), arm.base_lr.search, spec)

    def base_network(self, arm: PrincipledSettings, spec: StudySpec) -> Architecture | None:
        return base_of(spec, arm.base, Convention(arm.convention))

    def searches(self, name: str, arm: PrincipledSettings, ctx: StudyContext) -> list[SearchNeed]:
        if not isinstance(arm.base_lr, BaseLrSearch):
            return []
        return [base_search_need(ctx, arm, arm.base_lr.search, arm.base)]

    def final_lr(
        self, name: str, arm: PrincipledSettings, ctx: StudyContext, info: ArchInfo, found: Found
    ) -> Choice | None:
        convention = Convention(arm.convention)
        scale = lr_scale(info.arch, convention, base_of(ctx.spec, arm.base, convention))
        if scale.lr_factor is None:
            return None
        if isinstance(arm.base_lr, BaseLrSearch):
            best = found.get(base_search_need(ctx, arm, arm.base_lr.search, arm.base))
            if best is None:
                return None
            base_lr, search = best
        else:
            base_lr, search = float(arm.base_lr), None
        return Choice(
            scale.lr(base_lr), search, f"base LR {base_lr:.4g} × scale {scale.lr_factor:.4g} ({convention.value})"
        )
