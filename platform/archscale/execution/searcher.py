"""One Tune searcher for a whole study: queued trials with a known LR, one Optuna study per search
(ask/tell) asked in rounds that do not depend on the workers, and the final runs as their searches
finish (`FinalRuns`), so that every worker stays busy across architectures and phases while the
study's rows stay a function of its YAML.

Optuna's view stays honest: a trial stopped early is told PRUNED at the budget it reached, a
diverged one COMPLETE with objective 0, a failed one FAIL. Hooks catch their own errors: an
exception in a searcher hook would abort the whole `Tuner.fit()`. The searcher declares no metric to
Tune (it reads its own from the trials' messages), so Tune checks no report for one.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ray.tune.search import Searcher

from archscale.execution.finals import FinalRuns
from archscale.execution.messages import TrialRequest, pack_config
from archscale.execution.optuna_studies import open_search, rounds
from archscale.execution.outcome import Outcome, objective
from archscale.execution.packs import even_size, largest_first, make_packs
from archscale.execution.trial_log import TrialLog
from archscale.strategies import Search, Unit
from archscale.vocabulary import RunKey, TrialStatus

if TYPE_CHECKING:
    import optuna

log = logging.getLogger(__name__)


def unit_request(unit: Unit) -> TrialRequest:
    return TrialRequest(
        unit.key,
        unit.kind,
        unit.lr,
        dict(unit.init),
        dict(unit.recipe),
        None,
        dict(unit.model),
        [tuple(shared) for shared in unit.shared_with],
    )


def search_request(search: Search, trial_number: int, lr: float) -> TrialRequest:
    need = search.need
    return TrialRequest(
        RunKey(need.arch_key, search.arms[0], need.phase, search.seed, trial_number, search.repeat),
        search.kind,
        lr,
        dict(need.init),
        dict(need.recipe),
        search.name,
        dict(need.model),
    )


@dataclass
class _Live:
    """A pack of search trials: each member's search and Optuna trial, the config and the epochs told so
    far (a pack holds one search's round, or in a simulated study the rounds of every search ready)."""

    names: list[str]
    trials: list[optuna.Trial]
    config: dict[str, Any]
    reported: list[set[int]] = field(default_factory=list)


class StudySearcher(Searcher):
    """Serves `packs` of runs with a known LR first (one trial each, in the given order), then the
    searches' trials in **rounds**, and the final runs that `finals` releases as their searches finish.

    A search asks its first round (`rounds`: the sampler's random start-up) at once, and each later
    round (`search.batch` trials) only once every trial of the round before has finished and been told
    to Optuna, in trial-number order. So a search proposes the same LRs from the same results whatever
    the number of workers or the order in which trials end: the searcher never asks because a worker
    is free. A round trains as packs of at most `pack_limit` members, split evenly. Among the searches
    ready for a round, the least-asked goes first, and among those the most expensive by `cost` (per
    epoch of one run, by architecture key), so that long searches do not start last; when no search is
    ready, a worker gets final runs. A `simulated` study (whose metrics do not depend on a run's
    companions) packs the rounds of every search ready at once together, in that order: Tune's cost
    per trial, not training, is what it spends. Final runs are packed per search they come from (`FinalRuns`), so
    that their packs, too, follow from the plan alone. Opens Optuna lazily: Tune pickles it."""

    def __init__(
        self,
        packs: list[list[Unit]],
        searches: list[Search],
        storage_url: str,
        trials: TrialLog,
        pack_limit: int = 1,
        cost: Mapping[str, float] | None = None,
        finals: FinalRuns | None = None,
        *,
        simulated: bool = False,
    ) -> None:
        super().__init__()
        self._queue = deque(pack_config([unit_request(u) for u in pack]) for pack in packs)
        self._searches = {s.name: s for s in searches}
        self._storage_url = storage_url
        self._log = trials
        self._pack_limit = max(1, pack_limit)
        self._simulated = simulated
        self._arch_cost = dict(cost or {})
        self._studies: dict[str, optuna.Study] | None = None
        self._remaining: dict[str, int] = {}
        self._rounds: dict[str, int] = {}  # rounds asked per search
        self._drawn: dict[str, int] = {}  # Optuna trials the search's study holds
        self._open_packs: dict[str, int] = {}  # packs of the search's current round not finished yet
        self._untold: dict[str, list[tuple[optuna.Trial, Outcome | None]]] = {}
        self._complete: list[str] = []  # searches with every trial asked and told, in the order they finished
        self._released: int | None = None  # how many of them the final runs were last planned from
        self._round_queue: deque[_Live] = deque()
        self._live: dict[str, _Live] = {}
        self._finals = finals
        self._final_queue: deque[dict[str, Any]] = deque()
        self._released_all = finals is None

    def __getstate__(self) -> dict[str, Any]:
        """Tune pickles its searcher into its experiment state; the final runs' planner (the driver's
        database writer) stays with the driver."""
        return {**self.__dict__, "_finals": None}

    def _open(self) -> dict[str, optuna.Study]:
        if self._studies is None:
            from archscale.store import optuna_storage

            self._studies = {}
            storage = optuna_storage(self._storage_url) if self._searches else None  # no search, no Optuna
            for name, search in self._searches.items() if storage is not None else ():
                study, done = open_search(search, storage)
                self._studies[name] = study
                self._remaining[name] = max(0, search.spec.trials - done)
                if self._remaining[name] == 0:
                    self._complete.append(name)
                self._drawn[name] = len(study.get_trials(deepcopy=False))
                self._rounds[name] = 0
                self._open_packs[name] = 0
                self._untold[name] = []
        return self._studies

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        try:
            if self._queue:
                return self._queue.popleft()
            self._open()
            if not self._round_queue and (ready := self._ready()):
                self._ask_rounds(ready if self._simulated else ready[:1])
            if self._round_queue:
                live = self._round_queue.popleft()
                self._live[trial_id] = live
                return live.config
            self._release_finals()
            if self._final_queue:
                return self._final_queue.popleft()
            return Searcher.FINISHED if not self._live and self._released_all else None
        except Exception:
            log.exception("the searcher could not suggest a trial")
            return Searcher.FINISHED if not self._live else None

    def _ready(self) -> list[str]:
        """The searches that may ask a round now (trials left, no round open), in the order they ask:
        the least-asked and then the most expensive first."""
        ready = [n for n, left in self._remaining.items() if left > 0 and self._open_packs[n] == 0]
        return sorted(ready, key=lambda n: (self._rounds[n], -self._search_cost(n), n))

    def _ask_rounds(self, names: list[str]) -> None:
        """Ask each search's next round of Optuna trials and queue the members, in that order, as packs
        of at most `pack_limit` split evenly."""
        members = [member for name in names for member in self._ask_round(name)]
        step = even_size(len(members), self._pack_limit)
        for i in range(0, len(members), step):
            pack = members[i : i + step]
            names_of = [name for name, _, _ in pack]
            config = pack_config([request for _, _, request in pack])
            self._round_queue.append(_Live(names_of, [t for _, t, _ in pack], config, [set() for _ in pack]))
            for name in set(names_of):
                self._open_packs[name] += 1

    def _ask_round(self, name: str) -> list[tuple[str, optuna.Trial, TrialRequest]]:
        """Ask the search's next round of Optuna trials: (search, trial, request) per member."""
        assert self._studies is not None
        search, study = self._searches[name], self._studies[name]
        first, batch = rounds(search)
        size = min(self._remaining[name], first - self._drawn[name] if self._drawn[name] < first else batch)
        asked = [study.ask() for _ in range(size)]
        lrs = [t.suggest_float("lr", search.spec.low, search.spec.high, log=True) for t in asked]
        self._remaining[name] -= size
        self._drawn[name] += size
        self._rounds[name] += 1
        return [(name, t, search_request(search, t.number, lr)) for t, lr in zip(asked, lrs, strict=True)]

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        try:
            live = self._live.get(trial_id)
            if live is None:
                return
            self._log.add(trial_id, live.config, result)
            records = self._log.start(trial_id, live.config)
            for trial, record, reported in zip(live.trials, records, live.reported, strict=True):
                for epoch in record.epochs.values():
                    if epoch.epoch not in reported and epoch.val_accuracy is not None:
                        trial.report(float(epoch.val_accuracy), epoch.epoch)
                    reported.add(epoch.epoch)
        except Exception:
            log.exception("the searcher could not record a result")

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        try:
            live = self._live.pop(trial_id, None)
            if live is None:
                return
            if error:
                outcomes: list[Outcome | None] = [None] * len(live.trials)
            else:
                self._log.add(trial_id, live.config, result)
                outcomes = [record.outcome() for record in self._log.start(trial_id, live.config)]
            for name, trial, outcome in zip(live.names, live.trials, outcomes, strict=True):
                self._untold[name].append((trial, outcome))
            for name in dict.fromkeys(live.names):
                self._open_packs[name] -= 1
                if self._open_packs[name] == 0:
                    self._tell(name)
        except Exception:
            log.exception("the searcher could not record a finished trial")
        finally:
            self._release_finals()

    def _tell(self, name: str) -> None:
        """Tell Optuna the finished round of search `name`, in trial-number order: a trial stopped early
        as PRUNED, a failed one as FAIL, the others with their objective."""
        import optuna

        assert self._studies is not None
        study, untold = self._studies[name], sorted(self._untold[name], key=lambda told: told[0].number)
        self._untold[name] = []
        if self._remaining[name] == 0:
            self._complete.append(name)
        for trial, outcome in untold:
            if outcome is None:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                continue
            trial.set_user_attr("status", outcome.status.value)
            trial.set_user_attr("budget", outcome.budget)
            if outcome.status is TrialStatus.PRUNED:
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            else:
                study.tell(trial, objective(outcome))

    def _search_cost(self, name: str) -> float:
        """The estimated cost of one trial of search `name` (0 without costs)."""
        search = self._searches[name]
        return self._arch_cost.get(search.arch_key, 0.0) * int(search.need.recipe.get("epochs", 1))

    def _release_finals(self) -> None:
        """Queue the final runs that newly finished searches make possible (all of them once every
        search has finished), packed per search they come from; plans only when a search has finished
        since the last call (and once at the start, for LRs no search chooses). Runs in Tune's driver
        loop, between trials."""
        if self._finals is None or self._released_all or self._studies is None:
            return
        if self._released == len(self._complete):
            return  # no search finished since the last planning
        try:
            self._released = len(self._complete)
            self._released_all = len(self._complete) == len(self._searches)
            groups = self._finals.release(self._searches[n] for n in self._complete)
            limit, simulated = self._pack_limit, self._simulated
            packs = [pack for group in groups for pack in make_packs(group, limit, simulated=simulated)]
            self._final_queue.extend(
                pack_config([unit_request(u) for u in pack]) for pack in largest_first(packs, self._arch_cost)
            )
        except Exception:
            log.exception("the searcher could not plan the final runs")
            self._released_all = True
