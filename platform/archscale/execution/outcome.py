"""How a finished trial is judged, the same way for the database and for Optuna."""

from __future__ import annotations

from dataclasses import dataclass

from archscale.execution.messages import EpochReport, TrialEnd
from archscale.vocabulary import TrialStatus


@dataclass(frozen=True)
class Outcome:
    """`status`; `budget`: epochs reached; `selected`: the epoch with the best validation accuracy
    (earliest on ties), whose metrics are the trial's."""

    status: TrialStatus
    budget: int
    selected: EpochReport | None


def judge(epochs: list[EpochReport], end: TrialEnd | None, budget: int) -> Outcome:
    """Completed when the whole budget ran (or the run says so: `max_steps`), diverged when the loss
    became non-finite, and pruned when a scheduler stopped it earlier (at the budget it reached)."""
    reached = max((e.epoch for e in epochs), default=0)
    selected = max(epochs, key=lambda e: (_score(e), -e.epoch)) if epochs else None
    if end is not None and end.status == "diverged":
        return Outcome(TrialStatus.DIVERGED, reached, selected)
    if (end is not None and end.status == "completed") or reached >= budget:
        return Outcome(TrialStatus.COMPLETED, reached, selected)
    return Outcome(TrialStatus.PRUNED, reached, selected)


def _score(epoch: EpochReport) -> float:
    return float("-inf") if epoch.val_accuracy is None else float(epoch.val_accuracy)


def objective(outcome: Outcome) -> float:
    """What Optuna maximises: the selected epoch's validation accuracy; a diverged trial scores 0
    (an LR that diverges is a bad LR, not a failed evaluation)."""
    if outcome.status is TrialStatus.DIVERGED or outcome.selected is None:
        return 0.0
    value = outcome.selected.val_accuracy
    return 0.0 if value is None else float(value)
