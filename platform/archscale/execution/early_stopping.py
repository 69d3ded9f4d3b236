"""Early stopping within each search: asynchronous successive halving (ASHA, Li et al., MLSys 2020)
over the runs of one search, whether they train alone or as members of a pack.

`Rungs` is the rule: Ray Tune's `AsyncHyperBandScheduler` with one bracket and
`stop_last_trials=False`, except for whom a run is compared with: a search asks its trials in rounds
(`StudySearcher`), and a run is judged against the runs of the search's **earlier rounds** only, never
against those of its own round, so no decision depends on which run of a round reached a rung first (on
one worker or many, packed or not). Rungs sit at `grace · rf^k` epochs below the budget; the first report
of a run at or past a rung records its score there and stops the run when the score is below the
`1 - 1/rf` quantile of the scores that earlier rounds recorded there. With rounds of one trial, reported
round after round, this is exactly Tune's ASHA (tests/test_early_stopping.py replays the same reports
through both and compares every decision).

The rule runs in a `RungBoard`, one small Ray actor per phase that the workers ask (through
`EarlyStopping`) after every epoch, for all the epoch's members at once: a member it stops leaves its
pack, the others train on. Runs outside a search with early stopping are never judged.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


class Rungs:
    """ASHA's rungs for the runs of one search, and its decisions."""

    def __init__(self, max_epochs: int, grace_epochs: int, reduction_factor: float) -> None:
        count = int(np.log(max_epochs / grace_epochs) / np.log(reduction_factor) + 1)
        self._factor = reduction_factor
        self._rungs: list[tuple[float, dict[Hashable, tuple[float, int]]]] = [
            (grace_epochs * reduction_factor**k, {}) for k in reversed(range(count))
        ]
        self._stopped: set[Hashable] = set()

    def stop(self, run: Hashable, epoch: int, score: float, round_: int = 0) -> bool:
        """Record `run`'s score after `epoch` and say whether it stops here, judged against the scores of
        runs of rounds before `round_`. A run reported again (a retried pack) gets the decision it got
        the first time."""
        for milestone, recorded in self._rungs:
            if epoch < milestone:
                continue
            if run in recorded:
                return run in self._stopped  # judged at this rung already
            earlier = [s for s, r in recorded.values() if r < round_]
            cutoff = np.nanpercentile(earlier, (1 - 1 / self._factor) * 100) if earlier else None
            recorded[run] = (score, round_)
            if cutoff is not None and score < cutoff:
                self._stopped.add(run)
                return True
            return False
        return False


@dataclass(frozen=True)
class Rule:
    """A search's early stopping: its runs' epochs, the first rung and the reduction factor, and its
    rounds (`first` trials, then `batch` per round; 1 and 1: every trial its own round)."""

    max_epochs: int
    grace_epochs: int
    reduction_factor: float
    first: int = 1
    batch: int = 1

    def round_of(self, trial_number: int) -> int:
        """The round of the search's trial `trial_number`."""
        return 0 if trial_number < self.first else 1 + (trial_number - self.first) // self.batch


@dataclass(frozen=True)
class Report:
    """A run's score after an epoch: its search, its trial number there, the epoch, validation accuracy."""

    search: str
    trial_number: int
    epoch: int
    score: float


class RungBoard:
    """The rungs of every search with early stopping in a phase; runs as a Ray actor (`start`)."""

    def __init__(self, rules: dict[str, Rule]) -> None:
        self._rules = dict(rules)
        self._rungs = {name: Rungs(r.max_epochs, r.grace_epochs, r.reduction_factor) for name, r in rules.items()}

    def stop(self, reports: Sequence[Report]) -> list[bool]:
        """Judge the reports (in any order: the decisions are the same); True for each run that stops."""
        return [
            self._rungs[r.search].stop(r.trial_number, r.epoch, r.score, self._rules[r.search].round_of(r.trial_number))
            for r in reports
        ]


@dataclass(frozen=True)
class EarlyStopping:
    """What a worker holds: the phase's `RungBoard` actor and the searches it judges (plain data that
    travels with the trials' context)."""

    board: Any
    searches: frozenset[str]

    def stop(self, reports: Sequence[Report]) -> list[bool]:
        """Whether each reported run stops; runs of other searches never do, and cost no call."""
        judged = [r for r in reports if r.search in self.searches]
        if not judged:
            return [False] * len(reports)
        import ray

        decisions = iter(ray.get(self.board.stop.remote(judged)))
        return [next(decisions) if r.search in self.searches else False for r in reports]


def start(rules: dict[str, Rule]) -> EarlyStopping | None:
    """A `RungBoard` actor for these rules (None when no search stops early). It takes no CPU and lives
    as long as the Ray session."""
    if not rules:
        return None
    import ray

    board = ray.remote(num_cpus=0)(RungBoard).remote(rules)
    return EarlyStopping(board, frozenset(rules))
