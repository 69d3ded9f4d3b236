"""The shared vocabulary of studies, plans and the results database: phases and statuses.

Dependency-free (standard library only), so that `study`, `strategies` and `store` can share these
names without importing each other's libraries. Strategy *kinds* are not listed here: they are
whatever `archscale.strategies` has registered, and the database stores them as plain text.
"""

from __future__ import annotations

from enum import StrEnum


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


FINISHED = frozenset({TrialStatus.COMPLETED, TrialStatus.PRUNED, TrialStatus.DIVERGED})
"""Statuses of a trial that needs no re-run (a failed or interrupted one does)."""


class StudyStatus(StrEnum):
    """A study's state; an interrupted study can be resumed."""

    RUNNING = "running"
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"
    FAILED = "failed"
