"""`tuned`: an Optuna search of the LR of every listed architecture (the study's search, with this
arm's overrides), charged to that architecture; the final runs use each search's best LR."""

from __future__ import annotations

from archscale.strategies.base_lr import check_search
from archscale.strategies.context import ArchInfo, StudyContext
from archscale.strategies.needs import Choice, Found, SearchNeed
from archscale.strategies.registry import Strategy, register_strategy
from archscale.study.spec import ArmSettings, SearchOverrides, StudySpec
from archscale.vocabulary import Phase


class TunedSettings(ArmSettings, SearchOverrides):
    """The arm's init plus any field of the study's `search:` to override (trials, low, high, ...)."""

    def overrides(self) -> SearchOverrides:
        return SearchOverrides(
            **{f: getattr(self, f) for f in self.model_fields_set & set(SearchOverrides.model_fields)}
        )


@register_strategy("tuned")
class Tuned(Strategy):
    settings = TunedSettings

    def check(self, name: str, arm: TunedSettings, spec: StudySpec) -> None:
        check_search(name, (), arm.overrides(), spec)

    def _need(self, name: str, arm: TunedSettings, ctx: StudyContext, info: ArchInfo) -> SearchNeed:
        return SearchNeed(
            phase=Phase.SEARCH,
            arch_key=info.key,
            init=ctx.arm_init(arm),
            search=arm.overrides().over(ctx.spec.search),
            recipe=ctx.recipe(),
            scope="architecture",
            label=name,
        )

    def searches(self, name: str, arm: TunedSettings, ctx: StudyContext) -> list[SearchNeed]:
        return [self._need(name, arm, ctx, info) for info in ctx.study_archs()]

    def final_lr(self, name: str, arm: TunedSettings, ctx: StudyContext, info: ArchInfo, found: Found) -> Choice | None:
        best = found.get(self._need(name, arm, ctx, info))
        return Choice(best[0], best[1], "best of its own search") if best is not None else None
