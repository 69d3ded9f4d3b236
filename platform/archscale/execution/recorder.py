"""The driver-side Tune callback that streams trials and epochs into the results database: the
single writer. Workers never see database credentials."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ray.tune import Callback

from archscale.execution.context import TrialContext
from archscale.execution.outcome import TIME_ATTR, Outcome, judge
from archscale.store.enums import TrialStatus

if TYPE_CHECKING:
    from ray.tune.experiment import Trial

    from archscale.store import Writer

log = logging.getLogger(__name__)


class Recorder(Callback):
    """Upserts a trial row when a trial starts, buffers its epochs, and writes its outcome; the first
    result of an architecture also records its parameter count."""

    def __init__(self, writer: Writer, study_id: int, arch_ids: dict[str, int], context: TrialContext) -> None:
        self._writer = writer
        self._study_id = study_id
        self._arch_ids = arch_ids
        self._context = context
        self._rows: dict[str, int] = {}
        self._counted: set[str] = set()
        self._epochs: dict[str, list[dict[str, Any]]] = {}
        self.outcomes: list[tuple[dict[str, Any], Outcome]] = []

    def _row(self, trial: Trial, **fields: Any) -> int:
        unit = trial.config["unit"]
        return self._writer.upsert_trial(
            self._study_id,
            self._arch_ids[unit["arch_key"]],
            unit["strategy"],
            unit["phase"],
            unit["seed"],
            unit["trial_number"],
            **fields,
        )

    def on_trial_start(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        unit = trial.config["unit"]
        hyper = {"lr": trial.config["lr"], **unit["init"], "epochs": self._context.budget(unit["strategy"])}
        self._epochs[trial.trial_id] = []
        self._rows[trial.trial_id] = self._row(
            trial,
            hyperparameters=hyper,
            status=TrialStatus.RUNNING,
            started_at=datetime.now(UTC),
            ray_trial_id=trial.trial_id,
            optuna_study=trial.config.get("search"),
            finished_at=None,
            error=None,
        )

    def on_trial_result(
        self, iteration: int, trials: list[Trial], trial: Trial, result: dict[str, Any], **info: Any
    ) -> None:
        row = self._rows.get(trial.trial_id)
        if row is None or TIME_ATTR not in result:
            return
        self._epochs[trial.trial_id].append(result)
        arch_key = trial.config["unit"]["arch_key"]
        if arch_key not in self._counted:
            self._writer.set_parameter_count(self._arch_ids[arch_key], result["params"])
            self._counted.add(arch_key)
        self._writer.add_epoch(
            row,
            int(result[TIME_ATTR]),
            train_loss=result["train_loss"],
            train_accuracy=result["train_acc"],
            val_loss=result["val_loss"],
            val_accuracy=result["val_acc"],
            test_loss=result["test_loss"],
            test_accuracy=result["test_acc"],
            lr=result["lr"],
            seconds=result["seconds"],
        )

    def on_trial_complete(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        epochs = self._epochs.pop(trial.trial_id, [])
        end = trial.last_result if trial.last_result and TIME_ATTR not in trial.last_result else None
        unit = trial.config["unit"]
        outcome = judge(epochs, end, self._context.budget(unit["strategy"]))
        selected = outcome.selected or {}
        device_seconds = (end or {}).get("device_seconds") or (epochs[-1]["device_seconds"] if epochs else None)
        self._row(
            trial,
            status=outcome.status,
            budget_reached=outcome.budget,
            selected_epoch=selected.get(TIME_ATTR),
            val_loss=selected.get("val_loss"),
            val_accuracy=selected.get("val_acc"),
            test_loss=selected.get("test_loss"),
            test_accuracy=selected.get("test_acc"),
            device_kind=(end or {}).get("device_kind", "cpu"),
            device_seconds=device_seconds,
            wall_seconds=(end or {}).get("wall_seconds"),
            node_id=(end or {}).get("node_id"),
            finished_at=datetime.now(UTC),
        )
        self.outcomes.append((trial.config, outcome))
        self._rows.pop(trial.trial_id, None)

    def on_trial_error(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        self._epochs.pop(trial.trial_id, None)
        message = str(getattr(trial, "error_msg", None) or "the trial's worker failed")
        self._row(trial, status=TrialStatus.FAILED, finished_at=datetime.now(UTC), error=message[-2000:])
        self._rows.pop(trial.trial_id, None)

    def on_experiment_end(self, trials: list[Trial], **info: Any) -> None:
        self._writer.flush()
