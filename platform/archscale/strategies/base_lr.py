"""The base-LR search shared by kinds that transfer an LR from a base network (`principled`, `fixed:
base`): the study's search configuration on the base network, under the arm's own init, charged once
per study. Arms whose needs are identical share one search."""

from __future__ import annotations

from typing import Any

from archscale.settings import SearchOverrides
from archscale.strategies.context import StudyContext, base_of
from archscale.strategies.needs import SearchNeed
from archscale.vocabulary import Phase


def base_search_need(ctx: StudyContext, arm: Any, overrides: SearchOverrides, base: Any) -> SearchNeed:
    """The search of the base network's LR for `arm` (its init, the study recipe, the study's search
    with the arm's overrides)."""
    network = base_of(ctx.spec, base, ctx.convention)
    init = ctx.arm_init(arm)
    scheme = init["init"]
    return SearchNeed(
        phase=Phase.BASE_SEARCH,
        arch_key=network.digest(),
        init=init,
        search=overrides.over(ctx.spec.search),
        recipe=ctx.recipe(),
        scope="study",
        label="base-search" if scheme == ctx.spec.model.init else f"base-search-{scheme}",
    )
