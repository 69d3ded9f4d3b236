"""The final runs, planned while the searches still run: an arm's final runs on an architecture are
planned as soon as every search its LR comes from has finished, and join the same Tune run as the
searches, so that they fill the workers the last searches leave idle and the study pays for Ray
Tune's start-up once.

An LR depends only on the searches it names (`Strategy.final_lr` reads `found` by search identity),
so planning from the searches finished so far gives the same choices as planning once after all of
them; the release that sees every search finished is exactly the batch `final_plan`. Runs come back
grouped by the search their LR came from (runs with a given LR: one group), never by when that search
finished, so that the packs made from them follow from the plan; identical runs of a group (e.g.
`principled` and `fixed: base` on the base network) are one run that stands for all (`merge_identical`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from archscale.execution.optuna_studies import found_per_repeat
from archscale.strategies import ArmChoice, Found, Search, StudyContext, Unit, final_plan
from archscale.strategies.grid import Probed
from archscale.strategies.plan import merge_identical
from archscale.vocabulary import RunKey

if TYPE_CHECKING:
    from optuna.storages import BaseStorage


PLACEHOLDER_LR = 0.1
"""The LR every search is assumed to find when counting the final runs before the searches finish."""


class FinalRuns:
    """Plans the final runs whose searches have finished, once each: `release` records the new choices
    (`record`, all of a release at once) and returns the new runs still to train (not in `done`), grouped by the search
    their LR came from, identical runs merged. `to_train` hears how
    many final runs the study will train (not in `done`) whenever that changes: first `expected`,
    then, once every search has finished, the exact count (fewer when a search found no LR).
    `storage` holds the searches' Optuna studies (None when there are no searches); `probed` the
    settled probe results that arms' LRs may come from (`Found.probed`), fixed for this planner."""

    def __init__(
        self,
        ctx: StudyContext,
        searches: list[Search],
        storage: BaseStorage | None,
        done: set[RunKey],
        record: Callable[[list[ArmChoice]], None],
        to_train: Callable[[int], None],
        probed: Mapping[tuple[str, str], Probed] | None = None,
    ) -> None:
        self._ctx = ctx
        self._probed = dict(probed or {})
        self._searches = {s.name for s in searches}
        self._storage = storage
        self._done = done
        self._record = record
        self._to_train = to_train
        self._pending = 0
        self.expected = expected_finals(ctx, searches, done, self._probed)
        """The final runs to train (not in `done`) if every search finds an LR: the study's count
        unless one finds none."""
        self._told = self.expected
        to_train(self.expected)
        self._seen: set[str] = set()
        self._planned_once = False
        self._best: list[dict[str, tuple[float, str]]] = [{} for _ in range(ctx.spec.search_repeats)]
        self._chosen: set[tuple[str, str, int]] = set()
        self.planned: dict[RunKey, Unit] = {}
        """Every final run planned so far (finished ones included), by natural key."""
        self.all_planned = False
        """Whether `release` has seen every search of `searches` finished: `planned` is then complete."""

    def release(self, finished: Iterable[Search]) -> list[list[Unit]]:
        """The final runs still to train that the searches `finished` so far (all their trials done)
        newly make possible; their choices are recorded first. Reads each search's result once, and plans
        again only when a search is new (so it may be called after every trial)."""
        new = [s for s in finished if s.name not in self._seen]
        if not new and self._planned_once:
            return []
        self._planned_once = True
        self._seen.update(s.name for s in new)
        self.all_planned = self._searches <= self._seen
        if new:
            if self._storage is None:
                raise ValueError("final runs planned from searches need the searches' Optuna storage")
            for repeat, found in enumerate(found_per_repeat(new, self._ctx.spec.search_repeats, self._storage)):
                self._best[repeat].update(found.best)
        plan, choices = final_plan(self._ctx, [Found(dict(best), self._probed) for best in self._best])
        source: dict[tuple[str, str, int], str | None] = {}
        new_choices: list[ArmChoice] = []
        for choice in choices:
            key = (choice.arm, choice.arch_key, choice.repeat)
            source[key] = choice.choice.search
            if key not in self._chosen:
                self._chosen.add(key)
                new_choices.append(choice)
        if new_choices:
            self._record(new_choices)
        units = [u for u in plan.units if u.key not in self.planned]
        self.planned.update((u.key, u) for u in units)
        groups: dict[str | None, list[Unit]] = {}
        for unit in units:
            if unit.key not in self._done:
                groups.setdefault(source[(unit.key.arm, unit.key.arch_key, unit.key.repeat)], []).append(unit)
        merged = [merge_identical(group) for group in groups.values()]
        self._pending += sum(len(group) for group in merged)
        if (total := self._pending if self.all_planned else max(self.expected, self._pending)) != self._told:
            self._told = total
            self._to_train(total)
        return merged


def expected_finals(
    ctx: StudyContext, searches: list[Search], done: set[RunKey], probed: Mapping[tuple[str, str], Probed]
) -> int:
    """How many final runs not in `done` will train when every search finds `PLACEHOLDER_LR` (and the
    settled probe results are `probed`), identical runs of one search counted once (different searches
    are assumed to find different LRs)."""
    found = [
        Found({s.need.identity: (PLACEHOLDER_LR, s.name) for s in searches if s.repeat == repeat}, probed)
        for repeat in range(ctx.spec.search_repeats)
    ]
    plan, choices = final_plan(ctx, found)
    source = {(c.arm, c.arch_key, c.repeat): c.choice.search for c in choices}
    runs = {(source[(u.key.arm, u.key.arch_key, u.key.repeat)], u.content) for u in plan.units if u.key not in done}
    return len(runs)
