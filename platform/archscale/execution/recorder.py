"""The driver-side Tune callback that streams trials and epochs into the results database: the
single writer. Workers never see database credentials."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ray.tune import Callback

from archscale.execution.messages import EpochReport, TrialRequest
from archscale.execution.outcome import Outcome
from archscale.execution.trial_log import TrialLog
from archscale.store import TrialFields
from archscale.vocabulary import TrialStatus

if TYPE_CHECKING:
    from ray.tune.experiment import Trial

    from archscale.store import Writer

log = logging.getLogger(__name__)


class Recorder(Callback):
    """Upserts a row per member when a trial (a pack of runs) starts, writes their epochs as they come,
    and each member's outcome when the trial ends; the first epoch of an architecture records the
    study's parameter count for it. A member that stands for identical runs of other arms
    (`TrialRequest.shared_with`) gets their rows too, with the same epochs and outcome and
    `same_run_as` naming its arm. Public `record_*` methods take plain configs and results, so they
    can be driven without Tune."""

    def __init__(self, writer: Writer, study_id: int, arch_ids: dict[str, int], trials: TrialLog) -> None:
        self._writer = writer
        self._study_id = study_id
        self._arch_ids = arch_ids
        self._log = trials
        self._rows: dict[str, list[list[int]]] = {}
        self._written: dict[tuple[str, int], set[int]] = {}
        self._counted: set[str] = set()
        self.outcomes: list[tuple[TrialRequest, Outcome]] = []

    def _rows_of(self, rows: list[tuple[TrialRequest, TrialFields]]) -> list[list[int]]:
        """Upsert the members' rows, and those of the runs each stands for, in one transaction; return
        each member's row ids (its own first)."""
        keyed, counts = [], []
        for request, fields in rows:
            sharers = request.sharers()
            keyed.append((request.key, request.kind, fields))
            keyed += [(s.key, s.kind, TrialFields(**fields, same_run_as=request.key.arm)) for s in sharers]
            counts.append(1 + len(sharers))
        ids = iter(self._writer.upsert_trials(self._study_id, keyed))
        return [[next(ids) for _ in range(count)] for count in counts]

    def record_start(self, trial_id: str, config: dict[str, Any]) -> None:
        started = datetime.now(UTC)
        self._rows[trial_id] = self._rows_of(
            [
                (
                    r.request,
                    TrialFields(
                        hyperparameters={
                            "lr": r.request.lr,
                            **r.request.init,
                            **r.request.model,
                            "epochs": r.request.budget,
                        },
                        status=TrialStatus.RUNNING,
                        started_at=started,
                        ray_trial_id=trial_id,
                        optuna_study=r.request.search,
                        finished_at=None,
                        error=None,
                    ),
                )
                for r in self._log.start(trial_id, config)
            ]
        )

    def record_result(self, trial_id: str, config: dict[str, Any], result: dict[str, Any]) -> None:
        if trial_id not in self._rows:
            return
        self._log.add(trial_id, config, result)
        self._write_epochs(trial_id, config)

    def _write_epochs(self, trial_id: str, config: dict[str, Any]) -> None:
        """Write the trial's epochs that this recorder has not written yet."""
        rows = self._rows.get(trial_id)
        if rows is None:
            return
        for member, record in enumerate(self._log.start(trial_id, config)):
            written = self._written.setdefault((trial_id, member), set())
            for epoch in sorted(record.epochs.keys() - written):
                for row in rows[member]:
                    self._write_epoch(row, record.request, record.epochs[epoch])
                written.add(epoch)

    def _write_epoch(self, row: int, request: TrialRequest, e: EpochReport) -> None:
        if request.key.arch_key not in self._counted:
            self._writer.set_parameter_count(self._study_id, self._arch_ids[request.key.arch_key], e.params)
            self._counted.add(request.key.arch_key)
        self._writer.add_epoch(
            row,
            e.epoch,
            train_loss=e.train_loss,
            train_loss_tail=e.train_loss_tail,
            train_accuracy=e.train_accuracy,
            val_loss=e.val_loss,
            val_accuracy=e.val_accuracy,
            test_loss=e.test_loss,
            test_accuracy=e.test_accuracy,
            lr=e.lr,
            seconds=e.seconds,
        )

    def record_complete(self, trial_id: str, config: dict[str, Any], result: dict[str, Any] | None) -> list[Outcome]:
        """Judge and store every member of the trial; return their outcomes in member order."""
        self._log.add(trial_id, config, result)
        self._write_epochs(trial_id, config)
        self._rows.pop(trial_id, None)
        outcomes, rows = [], []
        finished = datetime.now(UTC)
        for member, record in enumerate(self._log.start(trial_id, config)):
            self._written.pop((trial_id, member), None)
            outcome = record.outcome()
            selected, end = outcome.selected, record.end
            last = max(record.epochs.values(), key=lambda e: e.epoch, default=None)
            rows.append(
                (
                    record.request,
                    TrialFields(
                        status=outcome.status,
                        budget_reached=outcome.budget,
                        selected_epoch=selected.epoch if selected else None,
                        val_loss=selected.val_loss if selected else None,
                        val_accuracy=selected.val_accuracy if selected else None,
                        test_loss=selected.test_loss if selected else None,
                        test_accuracy=selected.test_accuracy if selected else None,
                        device_kind=end.device_kind if end else "cpu",
                        device_seconds=end.device_seconds if end else (last.device_seconds if last else None),
                        wall_seconds=end.wall_seconds if end else None,
                        node_id=end.node_id if end else None,
                        finished_at=finished,
                    ),
                )
            )
            self.outcomes.append((record.request, outcome))
            outcomes.append(outcome)
        self._rows_of(rows)
        return outcomes

    def record_error(self, trial_id: str, config: dict[str, Any], message: str) -> None:
        self._rows.pop(trial_id, None)
        failed = TrialFields(status=TrialStatus.FAILED, finished_at=datetime.now(UTC), error=message[-2000:])
        self._rows_of([(record.request, failed) for record in self._log.start(trial_id, config)])

    # --- Tune's callback hooks ---------------------------------------------------------------------

    def on_trial_start(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        self.record_start(trial.trial_id, trial.config)

    def on_trial_result(
        self, iteration: int, trials: list[Trial], trial: Trial, result: dict[str, Any], **info: Any
    ) -> None:
        self.record_result(trial.trial_id, trial.config, result)

    def on_trial_complete(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        self.record_complete(trial.trial_id, trial.config, trial.last_result)

    def on_trial_error(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        message = str(getattr(trial, "error_msg", None) or "the trial's worker failed")
        self.record_error(trial.trial_id, trial.config, message)

    def on_experiment_end(self, trials: list[Trial], **info: Any) -> None:
        self._writer.flush()
