"""One Tune run per phase: every planned trial of every architecture shares the workers."""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from archscale.execution.early_stopping import Rule
from archscale.execution.early_stopping import start as start_early_stopping
from archscale.execution.messages import TrialRequest
from archscale.execution.outcome import Outcome
from archscale.execution.packs import arch_cost, largest_first, make_packs, pack_limit
from archscale.execution.progress import PhaseProgress
from archscale.execution.recorder import Recorder
from archscale.execution.searcher import StudySearcher
from archscale.execution.trainable import TrialContext, run_trial
from archscale.execution.trial_log import TrialLog
from archscale.strategies import PhasePlan
from archscale.study.spec import ResourcesSpec

if TYPE_CHECKING:
    from rich.progress import Progress

    from archscale.store import Writer


@dataclass(frozen=True)
class PhaseRun:
    """What to run and where results go."""

    plan: PhasePlan
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


def run_phase(run: PhaseRun, progress: Progress, total: int) -> list[tuple[TrialRequest, Outcome]]:
    """Run the phase's trials with Ray Tune; return each finished trial's request and outcome."""
    from ray import tune

    trials = TrialLog()
    limit, width = pack_limit(run.resources.pack, run.resources.gpu_per_trial), slots(run.resources, run.cluster)
    cost = {
        key: arch_cost(notation, family, kernel, arch_width or run.context.model["width"])
        for key, (notation, family, kernel, arch_width) in run.context.archs.items()
    }
    packs = largest_first(make_packs(run.plan.units, limit, width), cost)
    searcher = StudySearcher(packs, run.plan.searches, run.db_url, trials, limit, width, cost)
    rules = {
        s.name: Rule(int(s.need.recipe["epochs"]), stopping.grace_epochs, stopping.reduction_factor)
        for s in run.plan.searches
        if (stopping := s.spec.early_stopping) is not None
    }
    context = replace(run.context, early_stopping=start_early_stopping(rules))
    recorder = Recorder(run.writer, run.study_id, run.arch_ids, trials)
    trainable = tune.with_resources(
        tune.with_parameters(run_trial, context=context),
        {"cpu": run.resources.cpu_per_trial, "gpu": run.resources.gpu_per_trial},
    )
    with tempfile.TemporaryDirectory(prefix="archscale-tune-") as storage:
        tuner = tune.Tuner(
            trainable,
            tune_config=tune.TuneConfig(
                search_alg=searcher,
                num_samples=-1,
                max_concurrent_trials=width,
                reuse_actors=True,
            ),
            run_config=tune.RunConfig(
                name=run.plan.phase_name,
                storage_path=storage,
                callbacks=[recorder, PhaseProgress(progress, run.plan.phase_name, total)],
                verbose=0,
                failure_config=tune.FailureConfig(max_failures=run.resources.max_failures),
                checkpoint_config=tune.CheckpointConfig(checkpoint_at_end=False),
            ),
        )
        tuner.fit()
    run.writer.flush()
    return recorder.outcomes
