"""`tuned`: an Optuna search of the LR of every listed architecture (the study's search, with this
arm's overrides), charged to that architecture; the final runs use each search's best LR. With
`sample: N` only N of the listed architectures, drawn with `sample_seed`, are tuned (and have final
runs): at the scale of a whole search space the other arms run everywhere and tuning on a sample."""

from __future__ import annotations

import random

from archscale.settings import TunedSettings
from archscale.strategies.context import ArchInfo, StudyContext
from archscale.strategies.needs import Choice, Found, SearchNeed
from archscale.strategies.registry import Strategy, register_strategy
from archscale.vocabulary import Phase


@register_strategy("tuned")
class Tuned(Strategy):
    settings = TunedSettings

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
        listed = ctx.study_archs()
        if arm.sample is not None and arm.sample < len(listed):
            drawn = set(random.Random(arm.sample_seed).sample(range(len(listed)), arm.sample))
            listed = [info for i, info in enumerate(listed) if i in drawn]
        return [self._need(name, arm, ctx, info) for info in listed]

    def final_lr(self, name: str, arm: TunedSettings, ctx: StudyContext, info: ArchInfo, found: Found) -> Choice | None:
        """The best LR of the architecture's search (None when it has none yet, or is not in the sample)."""
        best = found.get(self._need(name, arm, ctx, info))
        return Choice(best[0], best[1], "best of its own search") if best is not None else None
