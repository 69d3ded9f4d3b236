"""`archscale run`: validate everything, open the database, then run the study's phases on Ray.

Bad input never starts Ray: the YAML, the architectures, the dataset and the database are checked
first. A re-run of the same study (or `--resume`) plans only what is missing: trials already
completed, pruned or diverged are kept, trials a stopped driver left running are marked failed and
run again, and each Optuna search asks only for the trials it still lacks.
"""

from __future__ import annotations

import platform
import socket
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

from rich.console import Console

from archscale.errors import UserError
from archscale.execution.context import TrialContext
from archscale.execution.optuna_studies import open_search
from archscale.execution.phase import PhaseRun, run_phase
from archscale.execution.progress import make_progress
from archscale.execution.ray_runtime import ray_session
from archscale.store import StudyConflict, StudyStatus, TrialStatus, Writer, mask_url, optuna_storage, read_trials
from archscale.strategies import ChosenLrs, PhasePlan, StudyContext, final_plan, search_plan
from archscale.study.architectures import expand_architectures
from archscale.study.load import LoadedStudy, parse_study

DONE = {TrialStatus.COMPLETED.value, TrialStatus.PRUNED.value, TrialStatus.DIVERGED.value}


@dataclass(frozen=True)
class StudyResult:
    name: str
    status: StudyStatus
    trials: int


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
    ctx = _prepare(name, loaded, console)
    writer = Writer(db_url, upgrade_db=upgrade_db)
    try:
        study_id = writer.ensure_study(name, loaded.text, git_revision=_git_revision(), host=_host())
    except StudyConflict:
        if not resume:
            raise UserError(
                f"study '{name}' exists in {mask_url(db_url)} with a different YAML: pass --resume to finish it "
                "with its stored YAML, or --new-name NAME to run this YAML as a new study"
            ) from None
        loaded = _stored(db_url, name)
        console.print(f"[yellow]resuming '{name}' with the YAML stored in the database[/]")
        ctx = _prepare(name, loaded, console)
        study_id = writer.ensure_study(name, loaded.text, git_revision=_git_revision(), host=_host())
    spec = loaded.spec
    arch_ids = _store_architectures(writer, ctx)
    stale = writer.mark_stale_running_failed(study_id)
    if stale:
        console.print(f"{stale} trials left running by a stopped driver are marked failed and will run again")
    trial_context = TrialContext.of(ctx)
    done = _done_keys(db_url, name)
    console.print(
        f"study [bold]{name}[/]: {len(ctx.study_archs())} architectures × {len(spec.seeds)} seeds; "
        f"results in {mask_url(db_url)}"
    )
    status = StudyStatus.INTERRUPTED
    ran = 0
    try:
        with ray_session(address) as cluster, make_progress() as progress:

            def phase(plan: PhasePlan, total: int) -> int:
                run = PhaseRun(plan, trial_context, spec.resources, cluster, writer, study_id, arch_ids, db_url)
                return len(run_phase(run, progress, total)) if total else 0

            search = _pending(search_plan(ctx), done)
            storage = optuna_storage(db_url)
            remaining = sum(max(0, s.spec.trials - open_search(s, storage)[1]) for s in search.searches)
            ran += phase(search, len(search.units) + remaining)
            chosen = ChosenLrs.from_searches(search.searches, storage)
            final = _pending(final_plan(ctx, chosen), done)
            ran += phase(final, len(final.units))
        status = StudyStatus.COMPLETED if _complete(db_url, name, ctx, chosen) else StudyStatus.FAILED
        return StudyResult(name, status, ran)
    finally:
        writer.finish_study(study_id, status)
        writer.close()


def _pending(plan: PhasePlan, done: set[tuple[str, str, str, int, int]]) -> PhasePlan:
    return replace(plan, units=[u for u in plan.units if u.key not in done])


def _done_keys(db_url: str, name: str) -> set[tuple[str, str, str, int, int]]:
    trials = read_trials(db_url, name)
    finished = trials[trials["status"].isin(DONE)]
    return {
        (r.graph_hash, r.strategy, r.phase, int(r.seed), int(r.trial_number)) for r in finished.itertuples(index=False)
    }


def _complete(db_url: str, name: str, ctx: StudyContext, chosen: ChosenLrs) -> bool:
    """Every planned probe and final run of the study exists and finished (completed, pruned or
    diverged), and some strategy produced runs to compare."""
    expected = {u.key for u in final_plan(ctx, chosen).units} | {u.key for u in search_plan(ctx).units}
    return bool(expected) and expected <= _done_keys(db_url, name)


def _prepare(name: str, loaded: LoadedStudy, console: Console) -> StudyContext:
    """Expand the architectures and load the dataset (its files are checked before Ray starts): every
    check that needs no database or Ray."""
    from archscale.data import load_dataset

    spec = loaded.spec
    archs, skipped = expand_architectures(spec.architectures, spec.model)
    for s in skipped:
        console.print(f"[yellow]skipping {s.label}: {s.reason}[/]")
    if not archs:
        raise UserError("no trainable architecture left: every architecture lacks an input→output path")
    d = spec.dataset
    load_dataset(
        d.name,
        root=d.root,
        val_fraction=d.val_fraction,
        split_seed=d.split_seed,
        limit=d.limit,
        test_limit=d.test_limit,
        **d.options,
    )
    return StudyContext.build(name, spec, archs)


def _store_architectures(writer: Writer, ctx: StudyContext) -> dict[str, int]:
    """Store every architecture with its path statistics and return their ids. Parameter counts come
    later from the workers, which build the models anyway (building thousands here would stall start-up)."""
    ids = {}
    for key, info in ctx.archs.items():
        stats = info.scale.stats
        ids[key] = writer.upsert_architecture(
            key,
            info.arch.notation if info.arch.width is None else info.arch.label,
            info.arch.family.value,
            kernel_size=info.arch.kernel_size,
            paths=float(stats.paths),
            depth_cubed_sum=float(stats.S) if stats.S is not None else None,
            principled_scale=info.scale.lr_factor,
        )
    return ids


def _stored(db_url: str, name: str) -> LoadedStudy:
    from archscale.store import read_studies

    studies = read_studies(db_url)
    text = studies.loc[studies["name"] == name, "yaml_text"].iloc[0]
    return parse_study(text, f"stored YAML of '{name}'", [])


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
