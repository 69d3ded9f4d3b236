"""One Tune searcher for a whole phase: queued trials with a known LR, and one Optuna study per
search (ask/tell), least-asked search first, so every worker stays busy across architectures.

Optuna's view stays honest: a trial stopped early is told PRUNED at the budget it reached, a
diverged one COMPLETE with objective 0, a failed one FAIL. Hooks catch their own errors: an
exception in a searcher hook would abort the whole `Tuner.fit()`.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from ray.tune.search import Searcher

from archscale.execution.outcome import METRIC, TIME_ATTR, judge, objective
from archscale.strategies.plan import Search, Unit

if TYPE_CHECKING:
    import optuna

log = logging.getLogger(__name__)


def unit_config(unit: Unit) -> dict[str, Any]:
    return {"unit": _plain(asdict(unit)), "lr": unit.lr, "search": None}


def _plain(unit: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.value if hasattr(v, "value") else v) for k, v in unit.items()}


class StudySearcher(Searcher):
    """Serves `units` first, then trials of `searches` until each has `spec.trials` finished trials
    (those finished in earlier runs of the study count). Opens Optuna lazily: Tune pickles it."""

    def __init__(self, units: list[Unit], searches: list[Search], storage_url: str, budgets: dict[str, int]) -> None:
        super().__init__(metric=METRIC, mode="max")
        self._queue = deque(unit_config(u) for u in units)
        self._searches = {s.name: s for s in searches}
        self._storage_url = storage_url
        self._budgets = budgets
        self._studies: dict[str, optuna.Study] | None = None
        self._remaining: dict[str, int] = {}
        self._asked: dict[str, int] = {}
        self._live: dict[str, tuple[str, optuna.Trial, list[dict[str, Any]]]] = {}

    def _open(self) -> dict[str, optuna.Study]:
        if self._studies is None:
            from archscale.execution.optuna_studies import open_search

            storage = _storage(self._storage_url)
            self._studies = {}
            for name, search in self._searches.items():
                study, done = open_search(search, storage)
                self._studies[name] = study
                self._remaining[name] = max(0, search.spec.trials - done)
                self._asked[name] = 0
        return self._studies

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        try:
            if self._queue:
                return self._queue.popleft()
            studies = self._open()
            open_names = [n for n, left in self._remaining.items() if left > 0]
            if not open_names:
                return Searcher.FINISHED if not self._live else None
            name = min(open_names, key=lambda n: (self._asked[n], n))
            search = self._searches[name]
            trial = studies[name].ask()
            lr = trial.suggest_float("lr", search.spec.low, search.spec.high, log=True)
            self._remaining[name] -= 1
            self._asked[name] += 1
            self._live[trial_id] = (name, trial, [])
            unit = Unit(search.arch_key, search.strategy, search.phase, search.seed, trial.number, lr, search.init)
            return {"unit": _plain(asdict(unit)), "lr": lr, "search": name}
        except Exception:
            log.exception("the searcher could not suggest a trial")
            return Searcher.FINISHED if not self._live else None

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        try:
            live = self._live.get(trial_id)
            if live is not None and TIME_ATTR in result:
                live[2].append(result)
                if result.get(METRIC) is not None:
                    live[1].report(float(result[METRIC]), int(result[TIME_ATTR]))
        except Exception:
            log.exception("the searcher could not record a result")

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        try:
            live = self._live.pop(trial_id, None)
            if live is None:
                return
            import optuna

            name, trial, epochs = live
            study = self._open()[name]
            if error:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                return
            if result is not None and TIME_ATTR in result and result not in epochs:
                epochs.append(result)
            search = self._searches[name]
            outcome = judge(
                epochs, result if result and TIME_ATTR not in result else None, self._budgets[search.strategy.value]
            )
            trial.set_user_attr("status", outcome.status.value)
            trial.set_user_attr("budget", outcome.budget)
            if outcome.status.value == "pruned":
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            else:
                study.tell(trial, objective(outcome))
        except Exception:
            log.exception("the searcher could not record a finished trial")


def _storage(url: str) -> Any:
    from archscale.store import optuna_storage

    return optuna_storage(url)
