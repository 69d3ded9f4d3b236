"""What strategy kinds ask of the plan: searches (`SearchNeed`), trials with a known LR (`Unit`),
and what they get back: the searches' and probes' results (`Found`, from the finished known-LR trials,
`RunResults`) and an LR per architecture (`Choice`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from archscale.settings import SearchSpec
from archscale.strategies.grid import Probed
from archscale.vocabulary import Phase, RunKey

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

    @cached_property
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
class Unit:
    """One trial whose LR is known before it starts (a probe's grid point, a final run): its run's
    `key`, its arm's `kind`, its LR, `init`, `recipe` (a training config's fields without lr and seed)
    and `model` (`build_model` keywords beyond the study's). `shared_with` lists the (arm, kind,
    repeat) of identical final runs (same architecture, LR, seed, init, recipe and model options) that
    this run stands for: it trains once and its rows are recorded under each of their keys too."""

    key: RunKey
    kind: str
    lr: float
    init: Mapping[str, str]
    recipe: Mapping[str, Any]
    model: Mapping[str, Any] = field(default_factory=dict)
    shared_with: tuple[tuple[str, str, int], ...] = ()

    @cached_property
    def content(self) -> str:
        """What the run computes: two units with equal contents train the same run."""
        k = self.key
        return json.dumps(
            [k.arch_key, k.phase.value, k.seed, self.lr, dict(self.init), dict(self.recipe), dict(self.model)],
            sort_keys=True,
            default=str,
        )


@dataclass(frozen=True)
class Choice:
    """An arm's LR on one architecture for one search repeat: `search` is the Optuna study it came
    from (None for a given LR) and `source` says how it was derived, in words."""

    lr: float
    search: str | None
    source: str


@dataclass(frozen=True)
class RunResult:
    """A finished trial with a known LR, as stored: whether it diverged, and its last epoch's metrics
    by epoch column (empty when it recorded no epoch)."""

    diverged: bool
    last: Mapping[str, float] = field(default_factory=dict)


RunResults = Mapping[RunKey, RunResult]
"""The finished trials with a known LR, by their run's key."""


@dataclass(frozen=True)
class Found:
    """The best LR of each search (by identity) of one search repeat: (lr, Optuna study name); and the
    settled probe results (`probed`) by (arm, architecture key)."""

    best: Mapping[str, tuple[float, str]] = field(default_factory=dict)
    probed: Mapping[tuple[str, str], Probed] = field(default_factory=dict)

    def get(self, need: SearchNeed) -> tuple[float, str] | None:
        return self.best.get(need.identity)
