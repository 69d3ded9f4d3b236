"""A live progress display for a phase: trials done / running / pruned / failed, best so far, ETA."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ray.tune import Callback
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from archscale.execution.messages import METRIC, TIME_ATTR, TrialRequest, members_of

if TYPE_CHECKING:
    from ray.tune.experiment import Trial


class PhaseProgress(Callback):
    """Shows one bar per phase in the driver's terminal (rich); `total` is the planned runs (a trial
    counts as many runs as it packs; one stopped before its budget counts as pruned)."""

    def __init__(self, progress: Progress, phase: str, total: int) -> None:
        self._progress: Progress | None = progress
        self._task = progress.add_task(phase, total=total, status="")
        self._counts = {"running": 0, "done": 0, "pruned": 0, "failed": 0}
        self._best: float | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Tune pickles callbacks into its experiment state; the live display stays with the driver."""
        return {**self.__dict__, "_progress": None}

    def _update(self, advance: int = 0) -> None:
        if self._progress is None:
            return
        c = self._counts
        best = f" · best val acc {self._best:.3f}" if self._best is not None else ""
        status = f"{c['running']} running · {c['pruned']} pruned · {c['failed']} failed{best}"
        self._progress.update(self._task, advance=advance, status=status)

    def on_trial_start(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        self._counts["running"] += len(members_of(trial.config))
        self._update()

    def on_trial_result(
        self, iteration: int, trials: list[Trial], trial: Trial, result: dict[str, Any], **info: Any
    ) -> None:
        if TIME_ATTR in result and result.get(METRIC) is not None:
            self._best = max(self._best or 0.0, float(result[METRIC]))
            self._update()

    def on_trial_complete(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        runs = len(members_of(trial.config))
        self._counts["running"] -= runs
        self._counts["done"] += runs
        last = trial.last_result or {}
        reached = int(last.get(TIME_ATTR) or 0)
        if 0 < reached < TrialRequest.of(trial.config).budget:
            self._counts["pruned"] += runs
        self._update(runs)

    def on_trial_error(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        runs = len(members_of(trial.config))
        self._counts["running"] -= runs
        self._counts["failed"] += runs
        self._update(runs)


def make_progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description:<7}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
