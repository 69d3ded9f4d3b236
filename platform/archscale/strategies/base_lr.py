"""The base-LR search shared by kinds that transfer an LR from a base network (`principled`, `fixed:
base`): the study's search configuration on the base network, under the arm's own init, charged once
per study. Arms whose needs are identical share one search."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from archscale.strategies.context import StudyContext, base_of
from archscale.strategies.needs import SearchNeed
from archscale.strategies.registry import ArmError
from archscale.study.spec import SearchOverrides
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


def check_search(arm: str, loc: tuple[str, ...], overrides: SearchOverrides, spec: Any) -> None:
    """The arm's search (the study's with its overrides at `loc`) is valid and its early stopping's
    grace period fits in the training epochs; ArmError naming the field otherwise."""
    try:
        search = overrides.over(spec.search)
    except ValidationError as exc:
        message = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        raise ArmError(arm, loc, message) from None
    if search.early_stopping is not None and search.early_stopping.grace_epochs > spec.training.epochs:
        raise ArmError(
            arm,
            (*loc, "early_stopping", "grace_epochs"),
            f"{search.early_stopping.grace_epochs} must not exceed training.epochs ({spec.training.epochs})",
        )
