"""Early stopping that compares trials of the same architecture only: one ASHA per search."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ray.tune.schedulers import AsyncHyperBandScheduler, FIFOScheduler, TrialScheduler

from archscale.execution.outcome import METRIC, TIME_ATTR
from archscale.study.spec import EarlyStopping

if TYPE_CHECKING:
    from ray.tune.experiment import Trial


class PerSearchASHA(FIFOScheduler):
    """Routes each trial to the ASHA of its search (trials outside a search run to the end)."""

    def __init__(self, rules: dict[str, EarlyStopping], max_t: int) -> None:
        super().__init__()
        self._rules = rules
        self._max_t = max_t
        self._asha: dict[str, AsyncHyperBandScheduler] = {}

    def _of(self, trial: Trial) -> AsyncHyperBandScheduler | None:
        name = trial.config.get("search")
        rule = self._rules.get(name) if name else None
        if rule is None:
            return None
        if name not in self._asha:
            self._asha[name] = AsyncHyperBandScheduler(
                time_attr=TIME_ATTR,
                metric=METRIC,
                mode="max",
                max_t=self._max_t,
                grace_period=rule.grace_epochs,
                reduction_factor=rule.reduction_factor,
                brackets=1,
                stop_last_trials=False,  # a trial at its last epoch finishes and reports how it ended
            )
        return self._asha[name]

    def on_trial_add(self, tune_controller: Any, trial: Trial) -> None:
        asha = self._of(trial)
        if asha is not None:
            asha.on_trial_add(tune_controller, trial)

    def on_trial_result(self, tune_controller: Any, trial: Trial, result: dict[str, Any]) -> str:
        asha = self._of(trial)
        return asha.on_trial_result(tune_controller, trial, result) if asha else TrialScheduler.CONTINUE

    def on_trial_complete(self, tune_controller: Any, trial: Trial, result: dict[str, Any]) -> None:
        asha = self._of(trial)
        if asha is not None and trial.trial_id in asha._trial_info:
            asha.on_trial_complete(tune_controller, trial, result)

    def on_trial_remove(self, tune_controller: Any, trial: Trial) -> None:
        asha = self._of(trial)
        if asha is not None and trial.trial_id in asha._trial_info:
            asha.on_trial_remove(tune_controller, trial)

    def on_trial_error(self, tune_controller: Any, trial: Trial) -> None:
        self.on_trial_remove(tune_controller, trial)
