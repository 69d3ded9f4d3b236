"""The driver's one buffer of running trials' messages, shared by the searcher and the recorder.

Both hand every Tune result they see to `add` (a message seen twice is kept once), so each of them
judges a trial on the same epochs, including the result that made a scheduler stop it, which Tune
passes to callbacks but not to the searcher."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archscale.execution.messages import EpochReport, TrialEnd, TrialRequest, read_result
from archscale.execution.outcome import Outcome, judge


@dataclass
class TrialRecord:
    request: TrialRequest
    epochs: dict[int, EpochReport] = field(default_factory=dict)
    end: TrialEnd | None = None

    def outcome(self) -> Outcome:
        return judge(sorted(self.epochs.values(), key=lambda e: e.epoch), self.end, self.request.budget)


class TrialLog:
    """Running trials by Tune trial id: their request, epochs by number and end message."""

    def __init__(self) -> None:
        self._trials: dict[str, TrialRecord] = {}

    def start(self, trial_id: str, config: dict[str, Any]) -> TrialRecord:
        return self._trials.setdefault(trial_id, TrialRecord(TrialRequest.of(config)))

    def add(
        self, trial_id: str, config: dict[str, Any], result: dict[str, Any] | None
    ) -> EpochReport | TrialEnd | None:
        """Record a result's message; return it when it is new (None when seen or not a message)."""
        record = self.start(trial_id, config)
        message = read_result(result)
        if isinstance(message, EpochReport) and message.epoch not in record.epochs:
            record.epochs[message.epoch] = message
            return message
        if isinstance(message, TrialEnd) and record.end is None:
            record.end = message
            return message
        return None

    def get(self, trial_id: str) -> TrialRecord | None:
        return self._trials.get(trial_id)
