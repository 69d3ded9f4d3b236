"""The driver's one buffer of running trials' messages, shared by the searcher and the recorder.

Both hand every Tune result they see to `add` (a message seen twice is kept once), so each of them
judges a run on the same epochs, including the result that made a scheduler stop it, which Tune
passes to callbacks but not to the searcher."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archscale.execution.messages import EpochReport, TrialEnd, TrialRequest, members_of, read_result
from archscale.execution.outcome import Outcome, judge


@dataclass
class TrialRecord:
    """One member of a trial: its request, epochs by number and end message."""

    request: TrialRequest
    epochs: dict[int, EpochReport] = field(default_factory=dict)
    end: TrialEnd | None = None

    def outcome(self) -> Outcome:
        return judge(sorted(self.epochs.values(), key=lambda e: e.epoch), self.end, self.request.budget)


class TrialLog:
    """Running trials by Tune trial id: one record per member."""

    def __init__(self) -> None:
        self._trials: dict[str, list[TrialRecord]] = {}

    def start(self, trial_id: str, config: dict[str, Any]) -> list[TrialRecord]:
        """The trial's member records (created on first sight)."""
        if trial_id not in self._trials:
            self._trials[trial_id] = [TrialRecord(r) for r in members_of(config)]
        return self._trials[trial_id]

    def add(self, trial_id: str, config: dict[str, Any], result: dict[str, Any] | None) -> list[int]:
        """Record a result's messages; return the members that got a new one."""
        records = self.start(trial_id, config)
        fresh = []
        for message in read_result(result):
            record = records[message.member]
            if isinstance(message, EpochReport) and message.epoch not in record.epochs:
                record.epochs[message.epoch] = message
                fresh.append(message.member)
            elif isinstance(message, TrialEnd) and record.end is None:
                record.end = message
                fresh.append(message.member)
        return fresh
