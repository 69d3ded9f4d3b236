"""What strategy kinds ask of the plan: searches (`SearchNeed`), trials with a known LR (`UnitNeed`),
and what they get back: the searches' results (`Found`) and an LR per architecture (`Choice`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from archscale.study.spec import SearchSpec
from archscale.vocabulary import Phase

Scope = Literal["architecture", "study"]
"""How a search's cost is charged: to the architecture it searched, or once per study (amortised)."""


@dataclass(frozen=True)
class SearchNeed:
    """An Optuna search of the LR of one architecture under `init`, `recipe` (a training config's
    fields without lr and seed) and `model` (`build_model` keywords beyond the study's). `label` names
    it in Optuna study names; needs with the same `identity` are one search, charged to every arm
    that needs it."""

    phase: Phase
    arch_key: str
    init: Mapping[str, str]
    search: SearchSpec
    recipe: Mapping[str, Any]
    scope: Scope
    label: str
    model: Mapping[str, Any] = field(default_factory=dict)

    @property
    def identity(self) -> str:
        return json.dumps(
            [
                self.phase.value,
                self.arch_key,
                dict(self.init),
                self.search.model_dump(mode="json"),
                dict(self.recipe),
                dict(self.model),
            ],
            sort_keys=True,
        )


@dataclass(frozen=True)
class UnitNeed:
    """A search-phase trial whose LR is known before it starts (e.g. a probe grid point)."""

    arch_key: str
    phase: Phase
    seed: int
    trial_number: int
    lr: float
    init: Mapping[str, str]
    recipe: Mapping[str, Any]
    model: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Choice:
    """An arm's LR on one architecture for one search repeat: `search` is the Optuna study it came
    from (None for a given LR) and `source` says how it was derived, in words."""

    lr: float
    search: str | None
    source: str


@dataclass(frozen=True)
class Found:
    """The best LR of each search (by identity) of one search repeat: (lr, Optuna study name)."""

    best: Mapping[str, tuple[float, str]] = field(default_factory=dict)

    def get(self, need: SearchNeed) -> tuple[float, str] | None:
        return self.best.get(need.identity)
