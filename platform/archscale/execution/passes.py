"""A study runs in passes to a fixed point. Each pass is one Tune run planned from the study's stored
rows alone: the known-LR trials (`known_units`: probe grids with the extensions their finished points
call for), the settled probe results (`probed_lrs`) that arms' LRs may come from, the searches and
the final runs. After a pass the rows are read again; the next pass runs only when what they call for
changed, so that passes depend on results, never on timing or the number of workers, and a resumed
study re-derives the same trials from what it stored."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from archscale.strategies.grid import Probed
from archscale.strategies.needs import RunResult, RunResults, Unit
from archscale.strategies.plan import known_units, probed_lrs
from archscale.vocabulary import FINISHED, Phase, RunKey, TrialStatus

if TYPE_CHECKING:
    from archscale.strategies import StudyContext


@dataclass(frozen=True)
class PassPlan:
    """What a pass is planned from: the study's known-LR trials and settled probe results."""

    units: list[Unit]
    probed: dict[tuple[str, str], Probed]

    @property
    def keys(self) -> set[RunKey]:
        return {u.key for u in self.units}

    def same(self, other: PassPlan | None) -> bool:
        """Whether `other` calls for the same trials and probe results (then no new pass is due; a probe
        that scored no point, NaN, equals another such)."""

        def settled(plan: PassPlan) -> dict[tuple[str, str], tuple[float | None, int, str]]:
            return {k: (p.lr if math.isfinite(p.lr) else None, p.points, p.edge) for k, p in plan.probed.items()}

        return other is not None and self.keys == other.keys and settled(self) == settled(other)


def pass_plan(ctx: StudyContext, runs: RunResults) -> PassPlan:
    """The known-LR trials and settled probe results that the finished trials `runs` call for."""
    return PassPlan(known_units(ctx, runs), probed_lrs(ctx, runs))


def stored_runs(db_url: str, name: str) -> RunResults:
    """The study's finished trials with a known LR as stored (search-phase trials of repeat 0 that no
    Optuna search asked), with their last epoch's metrics, by their run's key."""
    from archscale.store import read_epochs, read_trials, run_key

    trials = read_trials(db_url, name)
    known = trials[
        (trials["phase"] != Phase.FINAL.value)
        & trials["optuna_study"].isna()
        & (trials["repeat"] == 0)
        & trials["status"].isin([s.value for s in FINISHED])
    ]
    if known.empty:
        return {}
    epochs = read_epochs(db_url, name)
    epochs = epochs[epochs["trial_id"].isin(set(known["id"]))]
    last = epochs.sort_values(["trial_id", "epoch"]).groupby("trial_id", sort=False).tail(1)
    metrics = [c for c in last.select_dtypes(include="float").columns]
    values = last[metrics].to_dict("records")
    by_trial = {int(t): {k: float(v) for k, v in row.items()} for t, row in zip(last["trial_id"], values, strict=True)}
    return {
        run_key(r.graph_hash, r): RunResult(r.status == TrialStatus.DIVERGED.value, by_trial.get(int(r.id), {}))
        for r in known.itertuples(index=False)
    }
