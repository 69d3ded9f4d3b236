"""Early stopping within each search: asynchronous successive halving (ASHA, Li et al., MLSys 2020)
over the runs of one search, whether they train alone or as members of a pack.

`Rungs` is the rule: Ray Tune's `AsyncHyperBandScheduler` with one bracket and
`stop_last_trials=False` (tests/test_early_stopping.py replays the same reports through both and
compares every decision). Rungs sit at `grace · rf^k` epochs below the budget; the first report of a
run at or past a rung records its score there and stops the run when the score is below the
`1 - 1/rf` quantile of the scores recorded there before it.

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
        self._rungs: list[tuple[float, dict[Hashable, float]]] = [
            (grace_epochs * reduction_factor**k, {}) for k in reversed(range(count))
        ]
        self._stopped: set[Hashable] = set()

    def stop(self, run: Hashable, epoch: int, score: float) -> bool:
        """Record `run`'s score after `epoch` and say whether it stops here. A run reported again (a
        retried pack) gets the decision it got the first time."""
        for milestone, recorded in self._rungs:
            if epoch < milestone:
                continue
            if run in recorded:
                return run in self._stopped  # judged at this rung already
            cutoff = np.nanpercentile(list(recorded.values()), (1 - 1 / self._factor) * 100) if recorded else None
            recorded[run] = score
            if cutoff is not None and score < cutoff:
                self._stopped.add(run)
                return True
            return False
        return False


@dataclass(frozen=True)
class Rule:
    """A search's early stopping: its runs' epochs, the first rung and the reduction factor."""

    max_epochs: int
    grace_epochs: int
    reduction_factor: float


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
        self._rungs = {name: Rungs(r.max_epochs, r.grace_epochs, r.reduction_factor) for name, r in rules.items()}

    def stop(self, reports: Sequence[Report]) -> list[bool]:
        """Judge the reports in order; True for each run that stops."""
        return [self._rungs[r.search].stop(r.trial_number, r.epoch, r.score) for r in reports]


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
