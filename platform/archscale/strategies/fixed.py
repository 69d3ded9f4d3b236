"""`fixed`: one LR for every architecture: a number, or `base` (the base network's searched LR, unscaled,
i.e. naive transfer; the search is the study's base-LR search under this arm's init).

`training: benchmark` trains the way NAS-Bench-201 trained its networks: LR 0.1, PyTorch's default
init, SGD with momentum 0.9, Nesterov and weight decay 5e-4, cosine schedule (batch size, epochs and
augmentation stay the study's: a proxy's data sets them). It is the default in NAS-Bench-201 studies;
elsewhere the default is the study's own training (`training: study`) with `lr: base`.
"""

from __future__ import annotations

from typing import Any

from archscale.graph import Architecture
from archscale.settings import FixedSettings
from archscale.strategies.base_lr import base_search_need
from archscale.strategies.context import ArchInfo, StudyContext, base_of, study_convention
from archscale.strategies.needs import Choice, Found, SearchNeed
from archscale.strategies.registry import Strategy, register_strategy
from archscale.study.spec import StudySpec

BENCHMARK_RECIPE = {"momentum": 0.9, "nesterov": True, "weight_decay": 5e-4, "schedule": "cosine", "warmup_epochs": 0.0}
"""NAS-Bench-201's training (Dong & Yang 2020, §3.2): SGD, Nesterov momentum 0.9, weight decay 5e-4, cosine."""


@register_strategy("fixed")
class Fixed(Strategy):
    settings = FixedSettings

    def label(self, name: str, arm: FixedSettings) -> str:
        return name

    def recipe(self, name: str, arm: FixedSettings, ctx: StudyContext) -> dict[str, Any]:
        return ctx.recipe(**BENCHMARK_RECIPE) if arm.benchmark(ctx.spec.model.family) else ctx.recipe()

    def base_network(self, arm: FixedSettings, spec: StudySpec) -> Architecture | None:
        return base_of(spec, arm.base, study_convention(spec)) if arm.lr_of(spec.model.family) == "base" else None

    def searches(self, name: str, arm: FixedSettings, ctx: StudyContext) -> list[SearchNeed]:
        if arm.lr_of(ctx.spec.model.family) != "base":
            return []
        return [base_search_need(ctx, arm, arm.search, arm.base)]

    def final_lr(self, name: str, arm: FixedSettings, ctx: StudyContext, info: ArchInfo, found: Found) -> Choice | None:
        lr = arm.lr_of(ctx.spec.model.family)
        if lr != "base":
            return Choice(float(lr), None, "given" if arm.lr is not None else "NAS-Bench-201's LR")
        best = found.get(base_search_need(ctx, arm, arm.search, arm.base))
        return Choice(best[0], best[1], "base network's searched LR, unscaled") if best is not None else None
