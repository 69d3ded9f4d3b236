"""How a finished trial is judged, the same way for the database and for Optuna."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archscale.store.enums import TrialStatus

METRIC = "val_acc"
TIME_ATTR = "epoch"


@dataclass(frozen=True)
class Outcome:
    """`status`; `budget`: epochs reached; `selected`: the epoch with the best validation accuracy
    (earliest on ties), whose metrics are the trial's."""

    status: TrialStatus
    budget: int
    selected: dict[str, Any] | None


def judge(epochs: list[dict[str, Any]], end: dict[str, Any] | None, budget: int) -> Outcome:
    """Completed when the whole budget ran, diverged when the loss became non-finite, and pruned
    when a scheduler stopped it earlier (at the budget it reached)."""
    reached = max((e[TIME_ATTR] for e in epochs), default=0)
    selected = max(epochs, key=lambda e: (_score(e), -e[TIME_ATTR])) if epochs else None
    if end is not None and end.get("status") == "diverged":
        return Outcome(TrialStatus.DIVERGED, reached, selected)
    if (end is not None and end.get("status") == "completed") or reached >= budget:
        return Outcome(TrialStatus.COMPLETED, reached, selected)
    return Outcome(TrialStatus.PRUNED, reached, selected)


def _score(epoch: dict[str, Any]) -> float:
    value = epoch.get(METRIC)
    return float("-inf") if value is None else float(value)


def objective(outcome: Outcome) -> float:
    """What Optuna maximises: the selected epoch's validation accuracy; a diverged trial scores 0
    (an LR that diverges is a bad LR, not a failed evaluation)."""
    if outcome.status is TrialStatus.DIVERGED or outcome.selected is None:
        return 0.0
    return _score(outcome.selected) if outcome.selected.get(METRIC) is not None else 0.0
