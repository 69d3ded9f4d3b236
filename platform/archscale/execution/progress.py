"""A live progress display for a phase: trials done / running / pruned / failed, best so far, ETA."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ray.tune import Callback
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from archscale.execution.messages import METRIC, TIME_ATTR, TrialRequest, members_of
from archscale.vocabulary import Phase

if TYPE_CHECKING:
    from ray.tune.experiment import Trial


class StudyProgress(Callback):
    """Shows one bar per phase in the driver's terminal (rich): the search phase's `search_total` planned
    runs, and the final runs to train (`set_final_total`: known before the searches finish, lowered
    when a search finds no LR); a trial counts as many runs as it packs, and one stopped before its
    budget counts as pruned. A study that runs in passes keeps one display: `next_pass` adds the next
    pass's runs to the same bars."""

    def __init__(self, progress: Progress, search_total: int) -> None:
        self._progress: Progress | None = progress
        self._tasks: dict[str, TaskID] = {}
        self._counts = {phase: {"running": 0, "done": 0, "pruned": 0, "failed": 0} for phase in PHASES}
        self._best: dict[str, float | None] = dict.fromkeys(PHASES)
        self._search_total = 0
        self._final_before = 0  # final runs ended in earlier passes
        self.next_pass(search_total)

    def __getstate__(self) -> dict[str, Any]:
        """Tune pickles callbacks into its experiment state; the live display stays with the driver."""
        return {**self.__dict__, "_progress": None}

    def next_pass(self, search_runs: int) -> None:
        """A pass starts that trains `search_runs` more search-phase runs; the final runs it is told of
        (`set_final_total`) come on top of those that ended in earlier passes."""
        final = self._counts["final"]
        self._final_before = final["done"] + final["failed"]
        self._search_total += search_runs
        if self._progress is None or not search_runs:
            return
        if "search" in self._tasks:
            self._progress.update(self._tasks["search"], total=self._search_total)
        else:
            self._tasks["search"] = self._progress.add_task("search", total=self._search_total, status="")

    def set_final_total(self, runs: int) -> None:
        """This pass will train `runs` final runs in all (a bar appears once there are any)."""
        if self._progress is None:
            return
        total = self._final_before + runs
        if "final" in self._tasks:
            self._progress.update(self._tasks["final"], total=total)
        elif total:
            self._tasks["final"] = self._progress.add_task("final", total=total, status="")

    def _update(self, phase: str, advance: int = 0) -> None:
        if self._progress is None or phase not in self._tasks:
            return
        c, best = self._counts[phase], self._best[phase]
        shown = f" · best val acc {best:.3f}" if best is not None else ""
        status = f"{c['running']} running · {c['pruned']} pruned · {c['failed']} failed{shown}"
        self._progress.update(self._tasks[phase], advance=advance, status=status)

    def on_trial_start(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        phase = _phase(trial)
        self._counts[phase]["running"] += len(members_of(trial.config))
        self._update(phase)

    def on_trial_result(
        self, iteration: int, trials: list[Trial], trial: Trial, result: dict[str, Any], **info: Any
    ) -> None:
        if TIME_ATTR in result and result.get(METRIC) is not None:
            phase = _phase(trial)
            self._best[phase] = max(self._best[phase] or 0.0, float(result[METRIC]))
            self._update(phase)

    def on_trial_complete(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        phase, runs = _phase(trial), len(members_of(trial.config))
        counts = self._counts[phase]
        counts["running"] -= runs
        counts["done"] += runs
        last = trial.last_result or {}
        reached = int(last.get(TIME_ATTR) or 0)
        if 0 < reached < TrialRequest.of(trial.config).budget:
            counts["pruned"] += runs
        self._update(phase, runs)

    def on_trial_error(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        phase, runs = _phase(trial), len(members_of(trial.config))
        self._counts[phase]["running"] -= runs
        self._counts[phase]["failed"] += runs
        self._update(phase, runs)


PHASES = ("search", "final")
"""The bars: every phase before the final runs counts as search."""


def _phase(trial: Trial) -> str:
    return "final" if TrialRequest.of(trial.config).key.phase is Phase.FINAL else "search"


def make_progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description:<7}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
