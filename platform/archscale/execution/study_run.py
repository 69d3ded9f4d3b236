"""`archscale run`: validate everything, store the plan, then run the study's phases on Ray.

Bad input never starts Ray and writes nothing: the YAML, the architectures, the dataset and the init
schemes are checked first. The driver then stores the study (its effective YAML) and its plan, runs
the search phase, records every arm's chosen LR, and runs the final phase. A re-run of the same study
(or `--resume`) plans only what is missing: trials already completed, pruned or diverged are kept,
trials a stopped driver left running are marked failed and run again, and each Optuna search asks
only for the trials it still lacks.
"""

from __future__ import annotations

import platform
import socket
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rich.console import Console

from archscale.errors import UserError
from archscale.execution.optuna_studies import found_per_repeat, open_search
from archscale.execution.phase import PhaseRun, run_phase
from archscale.execution.progress import make_progress
from archscale.execution.ray_runtime import ray_session
from archscale.execution.trainable import TrialContext
from archscale.store import StudyConflict, Writer, mask_url, optuna_storage, read_studies, read_trials
from archscale.strategies import (
    ArmChoice,
    PhasePlan,
    Search,
    StudyContext,
    arm_rows,
    default_pairs,
    final_plan,
    search_plan,
)
from archscale.study.architectures import expand_architectures
from archscale.study.load import LoadedStudy, check_registries, parse_stored_study
from archscale.vocabulary import FINISHED, StudyStatus

TrialKey = tuple[str, str, str, int, int, int]


@dataclass(frozen=True)
class StudyResult:
    name: str
    status: StudyStatus
    trials: int


@dataclass(frozen=True)
class Prepared:
    """A study ready to run: its context and the number of classes of its dataset."""

    ctx: StudyContext
    classes: int


def run_study(
    loaded: LoadedStudy,
    db_url: str,
    address: str,
    *,
    resume: bool = False,
    new_name: str | None = None,
    upgrade_db: bool = False,
    console: Console | None = None,
) -> StudyResult:
    """Run (or continue) a study; return how it ended. Raise UserError before starting Ray on bad input."""
    console = console or Console(stderr=True)
    name = new_name or loaded.spec.name
    prepared = _prepare(name, loaded, console)
    writer = Writer(db_url, upgrade_db=upgrade_db)
    try:
        study_id = writer.ensure_study(name, loaded.text, git_revision=_git_revision(), host=_host())
    except StudyConflict:
        if not resume:
            raise UserError(
                f"study '{name}' exists in {mask_url(db_url)} with a different YAML: pass --resume to finish it "
                "with its stored study, or --new-name NAME to run this YAML as a new study"
            ) from None
        loaded = stored_study(db_url, name)
        console.print(f"[yellow]resuming '{name}' with the study stored in the database[/]")
        prepared = _prepare(name, loaded, console)
        study_id = writer.ensure_study(name, loaded.text, git_revision=_git_revision(), host=_host())
    ctx, spec = prepared.ctx, loaded.spec
    searches = search_plan(ctx)
    arch_ids = write_plan(writer, study_id, prepared, searches.searches)
    stale = writer.mark_stale_running_failed(study_id)
    if stale:
        console.print(f"{stale} trials left running by a stopped driver are marked failed and will run again")
    trial_context = TrialContext(
        dataset=spec.dataset.load_options(),
        model=spec.model.build_options(),
        archs={
            key: (info.arch.notation, info.arch.family.value, info.arch.kernel_size, info.arch.width)
            for key, info in ctx.archs.items()
        },
        threads=max(1, int(spec.resources.cpu_per_trial)),
        fit_memory=spec.resources.pack == "auto",
    )
    done = _done_keys(db_url, name)
    console.print(
        f"study [bold]{name}[/]: {len(ctx.study_archs())} architectures × {len(spec.seeds)} seeds, "
        f"arms {', '.join(spec.strategies)}; results in {mask_url(db_url)}"
    )
    status, ran = StudyStatus.INTERRUPTED, 0
    try:
        with ray_session(address) as cluster, make_progress() as progress:

            def phase(plan: PhasePlan, total: int) -> int:
                run = PhaseRun(plan, trial_context, spec.resources, cluster, writer, study_id, arch_ids, db_url)
                return len(run_phase(run, progress, total)) if total else 0

            search = _pending(searches, done)
            storage = optuna_storage(db_url)
            remaining = sum(max(0, s.spec.trials - open_search(s, storage)[1]) for s in search.searches)
            ran += phase(search, len(search.units) + remaining)
            found = found_per_repeat(searches.searches, spec.search_repeats, storage)
            finals, choices = final_plan(ctx, found)
            _record_choices(writer, study_id, arch_ids, choices)
            final = _pending(finals, done)
            ran += phase(final, len(final.units))
        expected = {u.key for u in finals.units} | {u.key for u in searches.units}
        complete = bool(expected) and expected <= _done_keys(db_url, name)
        status = StudyStatus.COMPLETED if complete else StudyStatus.FAILED
        return StudyResult(name, status, ran)
    finally:
        writer.finish_study(study_id, status)
        writer.close()


def stored_study(db_url: str, name: str) -> LoadedStudy:
    """The study `name` as stored in the database: what `--resume` runs."""
    studies = read_studies(db_url)
    text = studies.loc[studies["name"] == name, "yaml_text"].iloc[0]
    return parse_stored_study(str(text), name)


def write_plan(writer: Writer, study_id: int, prepared: Prepared, searches: list[Search]) -> dict[str, int]:
    """Store the study's plan (architectures with their study-specific facts, arms, searches and the
    study-level plan); return the architecture ids by graph hash. Parameter counts come later from the
    workers, which build the models anyway (building thousands here would stall start-up)."""
    ctx = prepared.ctx
    spec = ctx.spec
    ids: dict[str, int] = {}
    rows: list[dict[str, Any]] = []
    for key, info in ctx.archs.items():
        arch = info.arch
        ids[key] = writer.upsert_architecture(
            key, arch.notation if arch.width is None else arch.label, arch.family.value, kernel_size=arch.kernel_size
        )
        stats = info.scale.stats
        rows.append(
            {
                "architecture_id": ids[key],
                "position": info.position,
                "listed": info.listed,
                "is_base": info.is_base,
                "width": arch.width or spec.model.width,
                "kernel_size": arch.kernel_size,
                "convention": ctx.convention.value,
                "paths": float(stats.paths),
                "depth_cubed_sum": float(stats.S) if stats.S is not None else None,
                "principled_scale": info.scale.lr_factor,
                "n_params": None,
            }
        )
    search_rows = [
        {
            "name": s.name,
            "phase": s.phase.value,
            "architecture_id": ids[s.arch_key],
            "repeat": s.repeat,
            "seed": s.seed,
            "scope": s.scope,
            "arms": list(s.arms),
            "budget": {
                **s.spec.model_dump(mode="json"),
                "init": dict(s.need.init),
                "epochs": int(s.need.recipe["epochs"]),
            },
        }
        for s in searches
    ]
    plan = {
        "seeds": list(spec.seeds),
        "search_seeds": spec.repeat_seeds(),
        "search_repeats": spec.search_repeats,
        "pairs": [list(p) for p in default_pairs(ctx)],
        "chance": 1.0 / prepared.classes,
    }
    writer.write_plan(study_id, plan, rows, arm_rows(ctx, searches), search_rows)
    return ids


def _record_choices(writer: Writer, study_id: int, arch_ids: dict[str, int], choices: list[ArmChoice]) -> None:
    for c in choices:
        writer.record_choice(
            study_id, c.arm, arch_ids[c.arch_key], c.repeat, c.choice.lr, c.choice.search, c.choice.source
        )


def _pending(plan: PhasePlan, done: set[TrialKey]) -> PhasePlan:
    return replace(plan, units=[u for u in plan.units if u.key not in done])


def _done_keys(db_url: str, name: str) -> set[TrialKey]:
    trials = read_trials(db_url, name)
    finished = trials[trials["status"].isin([s.value for s in FINISHED])]
    return {
        (r.graph_hash, r.arm, r.phase, int(r.seed), int(r.trial_number), int(r.repeat))
        for r in finished.itertuples(index=False)
    }


def _prepare(name: str, loaded: LoadedStudy, console: Console) -> Prepared:
    """Expand the architectures, check the registries and load the dataset (its files are checked
    before Ray starts): every check that needs no database or Ray."""
    from archscale.data import load_dataset

    spec = loaded.spec
    check_registries(spec)
    archs, skipped = expand_architectures(spec.architectures, spec.model)
    for s in skipped:
        console.print(f"[yellow]skipping {s.label}: {s.reason}[/]")
    if not archs:
        raise UserError("no trainable architecture left: every architecture lacks an input→output path")
    splits = load_dataset(**spec.dataset.load_options())
    return Prepared(StudyContext.build(name, spec, archs), splits.num_classes)


def _git_revision() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _host() -> str:
    return f"{socket.gethostname()} ({platform.system()} {platform.machine()})"
