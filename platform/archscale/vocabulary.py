"""The shared vocabulary of studies, plans and the results database: phases, statuses and a run's
key (`RunKey`).

Dependency-free (standard library only), so that `study`, `strategies`, `execution` and `store` can
share these names without importing each other's libraries. Strategy *kinds* are not listed here: they are
whatever `archscale.strategies` has registered, and the database stores them as plain text.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Phase(StrEnum):
    """Which part of a study a trial belongs to; everything before `final` is search cost."""

    BASE_SEARCH = "base-search"
    SEARCH = "search"
    FINAL = "final"
    PROBE = "probe"


@dataclass(frozen=True, order=True)
class RunKey:
    """A run's one identity, from plan to row: the architecture (its graph digest), the arm, the phase,
    the seed, the trial number (Optuna's, a probe's grid index, 0 for a single run) and the search
    repeat. Plan units, trial requests, the recorder and the store all name a run by it; its trial row's
    columns are `archscale.store.models.trial.key_columns` (the one mapping)."""

    arch_key: str
    arm: str
    phase: Phase
    seed: int
    trial_number: int = 0
    repeat: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "phase", Phase(self.phase))  # a phase read back from Tune or SQL is a str


class TrialStatus(StrEnum):
    """A trial's state; `pruned` means stopped early by a scheduler at the budget it reached."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    PRUNED = "pruned"
    DIVERGED = "diverged"
    FAILED = "failed"


FINISHED = frozenset({TrialStatus.COMPLETED, TrialStatus.PRUNED, TrialStatus.DIVERGED})
"""Statuses of a trial that needs no re-run (a failed or interrupted one does)."""


class StudyStatus(StrEnum):
    """A study's state; an interrupted study can be resumed."""

    RUNNING = "running"
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"
    FAILED = "failed"
