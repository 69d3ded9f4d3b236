"""One Tune run per study: the search phase's trials, then the final runs as their searches finish
(`FinalRuns`); every planned trial of every architecture shares the workers."""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from archscale.execution.early_stopping import Rule
from archscale.execution.early_stopping import start as start_early_stopping
from archscale.execution.finals import FinalRuns
from archscale.execution.messages import TrialRequest
from archscale.execution.optuna_studies import rounds
from archscale.execution.outcome import Outcome
from archscale.execution.packs import arch_cost, pack_limit, pack_runs
from archscale.execution.progress import StudyProgress
from archscale.execution.recorder import Recorder
from archscale.execution.searcher import StudySearcher
from archscale.execution.trainable import TrialContext, run_trial
from archscale.execution.trial_log import TrialLog
from archscale.strategies import ArmChoice, PhasePlan, StudyContext
from archscale.strategies.plan import Key
from archscale.study.spec import ResourcesSpec

if TYPE_CHECKING:
    from optuna.storages import BaseStorage
    from rich.progress import Progress

    from archscale.store import Writer


@dataclass(frozen=True)
class StudyTrials:
    """What to run and where results go: the search phase's `plan` (its trials still to run and every
    search), the study's final runs planned from `ctx` (those in `done` are skipped), each choice
    handed to `record`."""

    plan: PhasePlan
    ctx: StudyContext
    done: set[Key]
    record: Callable[[ArmChoice], None]
    context: TrialContext
    resources: ResourcesSpec
    cluster: dict[str, float]
    writer: Writer
    study_id: int
    arch_ids: dict[str, int]
    db_url: str


def slots(resources: ResourcesSpec, cluster: dict[str, float]) -> int:
    """How many trials run at once: the YAML's max_concurrent (an autoscaling cluster grows to it),
    else what the cluster's CPUs/GPUs hold now."""
    if resources.max_concurrent is not None:
        return resources.max_concurrent
    fit = math.floor(cluster.get("CPU", 1) / resources.cpu_per_trial + 1e-9)
    if resources.gpu_per_trial > 0:
        fit = min(fit, math.floor(cluster.get("GPU", 0) / resources.gpu_per_trial + 1e-9))
    if fit < 1:
        raise_unfit(resources, cluster)
    return fit


def raise_unfit(resources: ResourcesSpec, cluster: dict[str, float]) -> None:
    from archscale.errors import UserError

    raise UserError(
        f"no trial fits the cluster: a trial needs {resources.cpu_per_trial:g} CPU and "
        f"{resources.gpu_per_trial:g} GPU, "
        f"the cluster has {cluster.get('CPU', 0):g} CPU and {cluster.get('GPU', 0):g} GPU"
    )


def run_trials(
    run: StudyTrials, storage: BaseStorage | None, progress: Progress, search_total: int
) -> tuple[list[tuple[TrialRequest, Outcome]], FinalRuns]:
    """Run the search phase's `search_total` runs and the final runs with Ray Tune (`storage`: the
    searches' Optuna storage, None without searches); return each finished trial's request and
    outcome, and the final runs' planner (every final run it planned)."""
    from ray import tune

    trials = TrialLog()
    limit, width = pack_limit(run.resources.pack, run.resources.gpu_per_trial), slots(run.resources, run.cluster)
    cost = {
        key: arch_cost(notation, family, kernel, arch_width or run.context.model["width"])
        for key, (notation, family, kernel, arch_width) in run.context.archs.items()
    }
    bars = StudyProgress(progress, search_total)
    finals = FinalRuns(run.ctx, run.plan.searches, storage, run.done, run.record, bars.set_final_total)
    packs = pack_runs(run.plan.units, limit, cost)
    searcher = StudySearcher(packs, run.plan.searches, run.db_url, trials, limit, cost, finals)
    rules = {
        s.name: Rule(int(s.need.recipe["epochs"]), stopping.grace_epochs, stopping.reduction_factor, *rounds(s))
        for s in run.plan.searches
        if (stopping := s.spec.early_stopping) is not None
    }
    context = replace(run.context, early_stopping=start_early_stopping(rules))
    recorder = Recorder(run.writer, run.study_id, run.arch_ids, trials)
    trainable = tune.with_resources(
        tune.with_parameters(run_trial, context=context),
        {"cpu": run.resources.cpu_per_trial, "gpu": run.resources.gpu_per_trial},
    )
    with tempfile.TemporaryDirectory(prefix="archscale-tune-") as storage_path:
        tuner = tune.Tuner(
            trainable,
            tune_config=tune.TuneConfig(
                search_alg=searcher,
                num_samples=-1,
                max_concurrent_trials=width,
                reuse_actors=True,
            ),
            run_config=tune.RunConfig(
                name="study",
                storage_path=storage_path,
                callbacks=[recorder, bars],
                verbose=0,
                failure_config=tune.FailureConfig(max_failures=run.resources.max_failures),
                checkpoint_config=tune.CheckpointConfig(checkpoint_at_end=False),
            ),
        )
        tuner.fit()
    run.writer.flush()
    return recorder.outcomes, finals
