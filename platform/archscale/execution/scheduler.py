"""Early stopping that compares trials of the same search only: one ASHA per search."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ray.tune.schedulers import AsyncHyperBandScheduler, FIFOScheduler, TrialScheduler

from archscale.execution.messages import METRIC, TIME_ATTR, TrialRequest
from archscale.study.spec import EarlyStopping

if TYPE_CHECKING:
    from ray.tune.experiment import Trial


def asha_knows(asha: AsyncHyperBandScheduler, trial: Trial) -> bool:
    """Whether `asha` has `trial` in its bracket. Ray has no public way to ask; this reads
    `AsyncHyperBandScheduler._trial_info`, the one private attribute used, which
    tests/test_execution_units.py checks so that a Ray upgrade that renames it fails loudly."""
    return trial.trial_id in asha._trial_info


class PerSearchASHA(FIFOScheduler):
    """Routes each trial to the ASHA of its search (trials outside a search run to the end). Only
    epoch reports reach ASHA; the end-of-trial report is not a result to judge."""

    def __init__(self, rules: dict[str, tuple[EarlyStopping, int]]) -> None:
        """`rules`: per search name, its early stopping and the epochs of its trials (ASHA's max_t)."""
        super().__init__()
        self._rules = rules
        self._asha: dict[str, AsyncHyperBandScheduler] = {}

    def _of(self, trial: Trial) -> AsyncHyperBandScheduler | None:
        name = TrialRequest.of(trial.config).search
        rule = self._rules.get(name) if name else None
        if name is None or rule is None:
            return None
        if name not in self._asha:
            stopping, epochs = rule
            self._asha[name] = AsyncHyperBandScheduler(
                time_attr=TIME_ATTR,
                metric=METRIC,
                mode="max",
                max_t=epochs,
                grace_period=stopping.grace_epochs,
                reduction_factor=stopping.reduction_factor,
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
        if asha is None or TIME_ATTR not in result or result.get(METRIC) is None:
            return TrialScheduler.CONTINUE
        return asha.on_trial_result(tune_controller, trial, result)

    def on_trial_complete(self, tune_controller: Any, trial: Trial, result: dict[str, Any]) -> None:
        asha = self._of(trial)
        if asha is not None and asha_knows(asha, trial) and TIME_ATTR in result:
            asha.on_trial_complete(tune_controller, trial, result)
        elif asha is not None and asha_knows(asha, trial):
            asha.on_trial_remove(tune_controller, trial)

    def on_trial_remove(self, tune_controller: Any, trial: Trial) -> None:
        asha = self._of(trial)
        if asha is not None and asha_knows(asha, trial):
            asha.on_trial_remove(tune_controller, trial)

    def on_trial_error(self, tune_controller: Any, trial: Trial) -> None:
        self.on_trial_remove(tune_controller, trial)
