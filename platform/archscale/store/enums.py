"""The vocabularies of the results database; the tables enforce them with CHECK constraints."""

from __future__ import annotations

from enum import StrEnum


class Strategy(StrEnum):
    """How a trial's hyperparameters were chosen."""

    FIXED = "fixed"
    PRINCIPLED = "principled"
    TUNED = "tuned"
    PROBE = "probe"


class Phase(StrEnum):
    """Which part of a study a trial belongs to; everything before `final` is search cost."""

    BASE_SEARCH = "base-search"
    SEARCH = "search"
    FINAL = "final"
    PROBE = "probe"


class TrialStatus(StrEnum):
    """A trial's state; `pruned` means stopped early by a scheduler at the budget it reached."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    PRUNED = "pruned"
    DIVERGED = "diverged"
    FAILED = "failed"


class StudyStatus(StrEnum):
    """A study's state; an interrupted study can be resumed."""

    RUNNING = "running"
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"
    FAILED = "failed"
