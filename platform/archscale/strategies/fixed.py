"""`fixed`: one LR for every architecture: a number, or `base` (the base network's searched LR, unscaled,
i.e. naive transfer; the search is the study's base-LR search under this arm's init).

`training: benchmark` trains the way NAS-Bench-201 trained its networks: LR 0.1, PyTorch's default
init, SGD with momentum 0.9, Nesterov and weight decay 5e-4, cosine schedule (batch size, epochs and
augmentation stay the study's: a proxy's data sets them). It is the default in NAS-Bench-201 studies;
elsewhere the default is the study's own training (`training: study`) with `lr: base`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from archscale.graph import Architecture
from archscale.strategies.base_lr import base_search_need, check_search
from archscale.strategies.context import ArchInfo, StudyContext, base_of, study_convention
from archscale.strategies.needs import Choice, Found, SearchNeed
from archscale.strategies.registry import Strategy, register_strategy
from archscale.study.spec import ArmSettings, PositiveFloat, SearchOverrides, StudySpec

BENCHMARK_LR = 0.1
BENCHMARK_INIT = "pytorch-default"
BENCHMARK_RECIPE = {"momentum": 0.9, "nesterov": True, "weight_decay": 5e-4, "schedule": "cosine", "warmup_epochs": 0.0}
"""NAS-Bench-201's training (Dong & Yang 2020, §3.2): SGD, Nesterov momentum 0.9, weight decay 5e-4, cosine."""


class FixedSettings(ArmSettings):
    lr: PositiveFloat | Literal["base"] | None = Field(
        None, description="A number, or base (the searched base LR, unscaled) [benchmark: 0.1; else base]."
    )
    training: Literal["study", "benchmark"] | None = Field(
        None, description="The study's training, or NAS-Bench-201's [benchmark in nb201 studies, else study]."
    )
    base: str | list[dict[str, Any]] | None = Field(None, description="Base network; default: the family's shallowest.")
    search: SearchOverrides = Field(SearchOverrides(), description="Overrides of the study's search (lr: base).")


def benchmark(arm: FixedSettings, spec: StudySpec) -> bool:
    return (arm.training or ("benchmark" if spec.model.family == "nb201" else "study")) == "benchmark"


def lr_of(arm: FixedSettings, spec: StudySpec) -> float | Literal["base"]:
    if arm.lr is not None:
        return arm.lr
    return BENCHMARK_LR if benchmark(arm, spec) else "base"


@register_strategy("fixed")
class Fixed(Strategy):
    settings = FixedSettings

    def label(self, name: str, arm: FixedSettings) -> str:
        return name

    def check(self, name: str, arm: FixedSettings, spec: StudySpec) -> None:
        if lr_of(arm, spec) == "base":
            check_search(name, ("search",), arm.search, spec)

    def default_init(self, arm: FixedSettings, spec: StudySpec) -> str | None:
        return BENCHMARK_INIT if benchmark(arm, spec) else None

    def recipe(self, name: str, arm: FixedSettings, ctx: StudyContext) -> dict[str, Any]:
        return ctx.recipe(**BENCHMARK_RECIPE) if benchmark(arm, ctx.spec) else ctx.recipe()

    def base_network(self, arm: FixedSettings, spec: StudySpec) -> Architecture | None:
        return base_of(spec, arm.base, study_convention(spec)) if lr_of(arm, spec) == "base" else None

    def searches(self, name: str, arm: FixedSettings, ctx: StudyContext) -> list[SearchNeed]:
        return [base_search_need(ctx, arm, arm.search, arm.base)] if lr_of(arm, ctx.spec) == "base" else []

    def final_lr(self, name: str, arm: FixedSettings, ctx: StudyContext, info: ArchInfo, found: Found) -> Choice | None:
        lr = lr_of(arm, ctx.spec)
        if lr != "base":
            return Choice(float(lr), None, "given" if arm.lr is not None else "NAS-Bench-201's LR")
        best = found.get(base_search_need(ctx, arm, arm.search, arm.base))
        return Choice(best[0], best[1], "base network's searched LR, unscaled") if best is not None else None
