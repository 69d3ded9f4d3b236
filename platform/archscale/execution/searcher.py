"""One Tune searcher for a whole study: queued trials with a known LR, one Optuna study per search
(ask/tell), least-asked search first, and the final runs as their searches finish (`FinalRuns`), so
every worker stays busy across architectures and phases.

Optuna's view stays honest: a trial stopped early is told PRUNED at the budget it reached, a
diverged one COMPLETE with objective 0, a failed one FAIL. Hooks catch their own errors: an
exception in a searcher hook would abort the whole `Tuner.fit()`. The searcher declares no metric to
Tune (it reads its own from the trials' messages), so Tune checks no report for one.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ray.tune.search import Searcher

from archscale.execution.finals import FinalRuns
from archscale.execution.messages import TrialRequest, pack_config
from archscale.execution.optuna_studies import open_search, random_trials
from archscale.execution.outcome import objective
from archscale.execution.packs import pack_runs
from archscale.execution.trial_log import TrialLog
from archscale.strategies import Search, Unit
from archscale.vocabulary import TrialStatus

if TYPE_CHECKING:
    import optuna

log = logging.getLogger(__name__)


def unit_request(unit: Unit) -> TrialRequest:
    return TrialRequest(
        unit.arch_key,
        unit.arm,
        unit.kind,
        unit.phase.value,
        unit.seed,
        unit.trial_number,
        unit.repeat,
        unit.lr,
        dict(unit.init),
        dict(unit.recipe),
        None,
        dict(unit.model),
    )


def search_request(search: Search, trial_number: int, lr: float) -> TrialRequest:
    need = search.need
    return TrialRequest(
        need.arch_key,
        search.arms[0],
        search.kind,
        need.phase.value,
        search.seed,
        trial_number,
        search.repeat,
        lr,
        dict(need.init),
        dict(need.recipe),
        search.name,
        dict(need.model),
    )


@dataclass
class _Live:
    """A running trial of a search: its Optuna trials (one per member) and the epochs told so far."""

    name: str
    trials: list[optuna.Trial]
    config: dict[str, Any]
    reported: list[set[int]] = field(default_factory=list)


class StudySearcher(Searcher):
    """Serves `packs` of runs with a known LR first (one trial each, in the given order), then trials of
    `searches` until each has `spec.trials` finished trials (those finished in earlier runs of the
    study count): the least-asked search first, and among those the most expensive by `cost` (per
    epoch of one run, by architecture key), so that long searches do not start last. Then the final
    runs that `finals` releases as their searches finish: served once every search trial has been
    asked, and packed when a worker needs a trial, from all the runs released by then, so that packs
    stay as large as what is known allows. Each
    trial of a search asks Optuna for several trials at once and trains them as one pack (at most
    `pack_limit`, and few enough that `slots` trials can run at once); early stopping judges each
    member on its own (`early_stopping`). Opens Optuna lazily: Tune pickles it."""

    def __init__(
        self,
        packs: list[list[Unit]],
        searches: list[Search],
        storage_url: str,
        trials: TrialLog,
        pack_limit: int = 1,
        slots: int = 1,
        cost: Mapping[str, float] | None = None,
        finals: FinalRuns | None = None,
    ) -> None:
        super().__init__()
        self._queue = deque(pack_config([unit_request(u) for u in pack]) for pack in packs)
        self._searches = {s.name: s for s in searches}
        self._storage_url = storage_url
        self._log = trials
        self._pack_limit = max(1, pack_limit)
        self._slots = max(1, slots)
        self._arch_cost = dict(cost or {})
        self._studies: dict[str, optuna.Study] | None = None
        self._remaining: dict[str, int] = {}
        self._asked: dict[str, int] = {}  # Tune trials started per search
        self._drawn: dict[str, int] = {}  # Optuna trials the search's study holds
        self._live: dict[str, _Live] = {}
        self._finals = finals
        self._final_queue: deque[dict[str, Any]] = deque()
        self._final_runs: list[Unit] = []  # released, not yet packed
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
                self._drawn[name] = len(study.get_trials(deepcopy=False))
                self._asked[name] = 0
        return self._studies

    def _pack_size(self, name: str) -> int:
        """How many trials of `name` to ask now: up to the pack limit while leaving enough trials of the
        open searches to keep every slot busy, and no more than the sampler draws at random (a TPE
        search asks its first trials together, then one at a time, so that each learns from the
        trials before it as it would unpacked)."""
        left = sum(self._remaining.values())
        at_random = random_trials(self._searches[name])
        independent = self._remaining[name] if at_random is None else at_random - self._drawn[name]
        return max(1, min(self._pack_limit, self._remaining[name], math.ceil(left / self._slots), independent))

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        try:
            if self._queue:
                return self._queue.popleft()
            studies = self._open()
            open_names = [n for n, left in self._remaining.items() if left > 0]
            if not open_names:
                self._release_finals()
                if not self._final_queue and self._final_runs:
                    packs = pack_runs(self._final_runs, self._pack_limit, self._slots, self._arch_cost)
                    self._final_queue.extend(pack_config([unit_request(u) for u in pack]) for pack in packs)
                    self._final_runs = []
                if self._final_queue:
                    return self._final_queue.popleft()
                return Searcher.FINISHED if not self._live and self._released_all else None
            name = min(open_names, key=lambda n: (self._asked[n], -self._search_cost(n), n))
            search = self._searches[name]
            asked = [studies[name].ask() for _ in range(self._pack_size(name))]
            lrs = [t.suggest_float("lr", search.spec.low, search.spec.high, log=True) for t in asked]
            self._remaining[name] -= len(asked)
            self._drawn[name] += len(asked)
            self._asked[name] += 1
            config = pack_config([search_request(search, t.number, lr) for t, lr in zip(asked, lrs, strict=True)])
            self._live[trial_id] = _Live(name, asked, config, [set() for _ in asked])
            return config
        except Exception:
            log.exception("the searcher could not suggest a trial")
            return Searcher.FINISHED if not self._live else None

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
            import optuna

            study = self._open()[live.name]
            if error:
                for trial in live.trials:
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                return
            self._log.add(trial_id, live.config, result)
            for trial, record in zip(live.trials, self._log.start(trial_id, live.config), strict=True):
                outcome = record.outcome()
                trial.set_user_attr("status", outcome.status.value)
                trial.set_user_attr("budget", outcome.budget)
                if outcome.status is TrialStatus.PRUNED:
                    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                else:
                    study.tell(trial, objective(outcome))
        except Exception:
            log.exception("the searcher could not record a finished trial")
        finally:
            self._release_finals()

    def _search_cost(self, name: str) -> float:
        """The estimated cost of one trial of search `name` (0 without costs)."""
        search = self._searches[name]
        return self._arch_cost.get(search.arch_key, 0.0) * int(search.need.recipe.get("epochs", 1))

    def _finished(self) -> list[str]:
        """The searches with every trial asked and none running."""
        running = {live.name for live in self._live.values()}
        return [n for n, left in self._remaining.items() if left == 0 and n not in running]

    def _release_finals(self) -> None:
        """Queue the final runs that newly finished searches make possible (all of them once every
        search has finished). Runs in Tune's driver loop, between trials."""
        if self._finals is None or self._released_all or self._studies is None:
            return
        try:
            finished = self._finished()
            self._released_all = len(finished) == len(self._searches)
            if not finished and not self._released_all:
                return
            self._final_runs += self._finals.release(self._searches[n] for n in finished)
        except Exception:
            log.exception("the searcher could not plan the final runs")
            self._released_all = True
