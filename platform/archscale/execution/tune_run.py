"""One Tune run per study: the search phase's trials, then the final runs as their searches finish
(`FinalRuns`); every planned trial of every architecture shares the workers."""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from archscale.execution.early_stopping import Rule
from archscale.execution.early_stopping import start as start_early_stopping
from archscale.execution.finals import FinalRuns
from archscale.execution.messages import TrialRequest
from archscale.execution.optuna_studies import rounds
from archscale.execution.outcome import Outcome
from archscale.execution.packs import SIMULATED, arch_cost, pack_limit, pack_runs
from archscale.execution.progress import StudyProgress
from archscale.execution.recorder import Recorder
from archscale.execution.searcher import StudySearcher
from archscale.execution.trainable import TrialContext, run_trial
from archscale.execution.trial_log import TrialLog
from archscale.strategies import ArmChoice, PhasePlan, StudyContext
from archscale.strategies.grid import Probed
from archscale.study.spec import ResourcesSpec
from archscale.vocabulary import RunKey

if TYPE_CHECKING:
    from optuna.storages import BaseStorage

    from archscale.store import Writer


@dataclass(frozen=True)
class StudyTrials:
    """What to run and where results go: the search phase's `plan` (its trials still to run and every
    search), the study's final runs planned from `ctx` and the settled probe results `probed` (those
    in `done` are skipped), the choices handed to `record`, those of a release together."""

    plan: PhasePlan
    ctx: StudyContext
    done: set[RunKey]
    record: Callable[[list[ArmChoice]], None]
    context: TrialContext
    resources: ResourcesSpec
    cluster: dict[str, float]
    writer: Writer
    study_id: int
    arch_ids: dict[str, int]
    db_url: str
    probed: Mapping[tuple[str, str], Probed] = field(default_factory=dict)


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


def simulated_resources(resources: ResourcesSpec) -> ResourcesSpec:
    """A simulated study's trials need no GPU and at most one CPU (they build no model): the study's
    `resources` with those two capped, so that a GPU study simulates on a laptop."""
    return resources.model_copy(update={"gpu_per_trial": 0.0, "cpu_per_trial": min(1.0, resources.cpu_per_trial)})


def raise_unfit(resources: ResourcesSpec, cluster: dict[str, float]) -> None:
    from archscale.errors import UserError

    raise UserError(
        f"no trial fits the cluster: a trial needs {resources.cpu_per_trial:g} CPU and "
        f"{resources.gpu_per_trial:g} GPU, "
        f"the cluster has {cluster.get('CPU', 0):g} CPU and {cluster.get('GPU', 0):g} GPU"
    )


def run_trials(
    run: StudyTrials, storage: BaseStorage | None, bars: StudyProgress
) -> tuple[list[tuple[TrialRequest, Outcome]], FinalRuns]:
    """Run the search phase's trials and the final runs with Ray Tune (`storage`: the searches' Optuna
    storage, None without searches), shown on `bars`; return each finished trial's request and
    outcome, and the final runs' planner (every final run it planned)."""
    from ray import tune

    trials = TrialLog()
    simulated = run.context.simulation is not None
    resources = simulated_resources(run.resources) if simulated else run.resources
    limit = SIMULATED if simulated else pack_limit(resources.pack, resources.gpu_per_trial)
    if run.context.origins and not simulated:
        limit = 1  # a user's module (family torch) trains alone: its forward may mix a pack's members
    width = slots(resources, run.cluster)
    cost = {
        key: arch_cost(notation, family, kernel, arch_width or run.context.model["width"])
        for key, (notation, family, kernel, arch_width) in run.context.archs.items()
    }
    finals = FinalRuns(run.ctx, run.plan.searches, storage, run.done, run.record, bars.set_final_total, run.probed)
    packs = pack_runs(run.plan.units, limit, cost, simulated=simulated)
    searcher = StudySearcher(packs, run.plan.searches, run.db_url, trials, limit, cost, finals, simulated=simulated)
    rules = {
        s.name: Rule(int(s.need.recipe["epochs"]), stopping.grace_epochs, stopping.reduction_factor, *rounds(s))
        for s in run.plan.searches
        if (stopping := s.spec.early_stopping) is not None
    }
    context = replace(run.context, early_stopping=start_early_stopping(rules))
    recorder = Recorder(run.writer, run.study_id, run.arch_ids, trials)
    trainable = tune.with_resources(
        tune.with_parameters(run_trial, context=context),
        {"cpu": resources.cpu_per_trial, "gpu": resources.gpu_per_trial},
    )
    if simulated:  # Tune's experiment snapshots are never read (the database is the source of truth), and
        # at simulated rates they cost more than the runs: snapshot at most hourly (and at the end)
        os.environ.setdefault("TUNE_GLOBAL_CHECKPOINT_S", "3600")
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
                failure_config=tune.FailureConfig(max_failures=resources.max_failures),
                checkpoint_config=tune.CheckpointConfig(checkpoint_at_end=False),
            ),
        )
        tuner.fit()
    run.writer.flush()
    return recorder.outcomes, finals
