"""What `archscale run` does before its first trial: check the study, store it and its plan.

`check` is quick and pure (the architectures, the arms' plans) and runs before Ray starts, so that
a study that cannot run never starts it. `set_up` checks the registries (which import torch), loads
the dataset (which checks its files; the digest of a user's data files goes into the study's
`dataset.digest`, so that a study never mixes two versions of its data), opens the database,
stores the study (its effective YAML) and its plan, marks trials a stopped driver left running as
failed, and reads what is already done; `run_study` runs it in a thread while Ray starts.
"""

from __future__ import annotations

import platform
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archscale.errors import UserError
from archscale.execution.registries import check_registries
from archscale.execution.trainable import Simulation, TrialContext
from archscale.settings import ArmError
from archscale.strategies import PhasePlan, Search, StudyContext, arm_rows, default_pairs, search_plan, study_context
from archscale.study.architectures import expand_architectures
from archscale.study.load import LoadedStudy, parse_stored_study, with_dataset_digest
from archscale.vocabulary import RunKey

if TYPE_CHECKING:
    from rich.console import Console

    from archscale.graph import Architecture, ModuleOrigin
    from archscale.store import Writer


@dataclass(frozen=True)
class SetUp:
    """A stored study ready for Ray: its context, its open writer and stored ids, the search phase's
    plan, what every trial needs, and the trials already finished."""

    name: str
    loaded: LoadedStudy
    ctx: StudyContext
    writer: Writer
    study_id: int
    arch_ids: dict[str, int]
    searches: PhasePlan
    trial_context: TrialContext
    done: set[RunKey]


def check(name: str, loaded: LoadedStudy, console: Console) -> StudyContext:
    """The study's context, built by the checks that need no dataset, database or Ray (nor torch, but
    for tracing the modules of a `family: torch` study, whose ignored unsupported ops it states)."""
    spec = loaded.spec
    archs, skipped = expand_architectures(spec.architectures, spec.model, _traced_architecture)
    for s in skipped:
        console.print(f"[yellow]skipping {s.label}: {s.reason}[/]")
    for arch in archs:
        if arch.origin is not None and arch.origin.unsupported == "ignore":
            console.print(
                f"[yellow]{arch.short}: depth-neutral by model.unsupported: ignore: {_ignored(arch.origin)}[/]"
            )
    if not archs:
        raise UserError("no trainable architecture left: every architecture lacks an input→output path")
    try:
        return study_context(name, spec, archs)
    except ArmError as exc:  # an arm that does not fit the study's other arms
        raise UserError(f"{loaded.path or name}: {exc}") from None


def set_up(
    ctx: StudyContext,
    loaded: LoadedStudy,
    db_url: str,
    *,
    resume: bool,
    upgrade_db: bool,
    console: Console,
    simulate: bool = False,
) -> SetUp:
    """Store the study (`check`ed as `ctx`) and its plan in `db_url`, or find them there; raise UserError
    when the dataset or an arm's init scheme is not registered, the dataset cannot be read, the
    database cannot be opened, or the study exists with another YAML and `resume` is not set (with it,
    the stored YAML is the one that runs). With `simulate` the study is stored as simulated, its trials
    use the synthetic trainer, and the dataset's files are not read."""
    from archscale.store import StudyConflict, Writer, finished_keys, mask_url

    name = ctx.name
    loaded, classes = _with_data(loaded, simulate)
    writer = Writer(db_url, upgrade_db=upgrade_db)
    try:
        study_id = writer.ensure_study(
            name, loaded.text, git_revision=_git_revision(), host=_host(), simulated=simulate
        )
    except StudyConflict:
        if not resume:
            writer.close()
            changed = _data_changed(db_url, name, loaded)
            raise UserError(
                f"study '{name}' exists in {mask_url(db_url)} with a different YAML{changed}: "
                "pass --resume to finish it with its stored study, or --new-name NAME to run this YAML as a new study"
            ) from None
        loaded = stored_study(db_url, name)
        console.print(f"[yellow]resuming '{name}' with the study stored in the database[/]")
        ctx = check(name, loaded, console)
        try:
            loaded, classes = _with_data(loaded, simulate)
        except UserError:
            writer.close()
            raise
        study_id = writer.ensure_study(
            name, loaded.text, git_revision=_git_revision(), host=_host(), simulated=simulate
        )
    spec = loaded.spec
    searches = search_plan(ctx)
    arch_ids = write_plan(writer, study_id, ctx, classes, searches.searches)
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
        origins={key: info.arch.origin for key, info in ctx.archs.items() if info.arch.origin is not None},
        threads=max(1, int(spec.resources.cpu_per_trial)),
        fit_memory=spec.resources.pack == "auto",
        gpu_share=spec.resources.gpu_per_trial,
        simulation=_simulation(ctx, classes) if simulate else None,
        imports=tuple(spec.imports),
        python_path=tuple(spec.python_path),
    )
    console.print(
        f"study [bold]{name}[/]: {len(ctx.study_archs())} architectures × {len(spec.seeds)} seeds, "
        f"arms {', '.join(spec.strategies)}; results in {mask_url(db_url)}"
    )
    return SetUp(name, loaded, ctx, writer, study_id, arch_ids, searches, trial_context, finished_keys(db_url, name))


def stored_study(db_url: str, name: str) -> LoadedStudy:
    """The study `name` as stored in the database: what `--resume` runs."""
    from archscale.store import read_studies

    studies = read_studies(db_url)
    text = studies.loc[studies["name"] == name, "yaml_text"].iloc[0]
    return parse_stored_study(str(text), name)


def write_plan(
    writer: Writer, study_id: int, ctx: StudyContext, classes: int, searches: list[Search]
) -> dict[str, int]:
    """Store the study's plan (architectures with their study-specific facts, arms, searches and the
    study-level plan); return the architecture ids by graph hash. Parameter counts come later from the
    workers, which build the models anyway (building thousands here would stall start-up)."""
    spec = ctx.spec
    rows: list[dict[str, Any]] = []
    ids = writer.upsert_architectures(
        [
            (key, a.notation if a.width is None and a.origin is None else a.label, a.family.value, a.kernel_size)
            for key, a in ((key, info.arch) for key, info in ctx.archs.items())
        ]
    )
    for key, info in ctx.archs.items():
        arch = info.arch
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
        "chance": 1.0 / classes,
    }
    writer.write_plan(study_id, plan, rows, arm_rows(ctx, searches), search_rows)
    return ids


def _with_data(loaded: LoadedStudy, simulate: bool = False) -> tuple[LoadedStudy, int]:
    """The study with the digest of its data files in `dataset.digest` (datasets read from a user's
    files), and its dataset's number of classes. The dataset is loaded, after the registries are
    checked, which checks its files (and, when the study names a digest, that they still match it);
    a simulated study reads no files (`estimate.dataset_facts`)."""
    from archscale.data import load_dataset

    check_registries(loaded.spec)
    if simulate:
        from archscale.execution.estimate import dataset_facts

        return loaded, dataset_facts(loaded.spec.dataset).classes
    splits = load_dataset(**loaded.spec.dataset.load_options())
    return with_dataset_digest(loaded, splits.digest), splits.num_classes


def _simulation(ctx: StudyContext, classes: int) -> Simulation:
    """What the synthetic trainer needs: the classes and each architecture's LR scale (1 when it has none)."""
    return Simulation(classes, {key: info.scale.lr_factor or 1.0 for key, info in ctx.archs.items()})


def _data_changed(db_url: str, name: str, loaded: LoadedStudy) -> str:
    """' (the data changed: ...)' when the stored study `name` was run on other data than `loaded`'s."""
    stored, now = stored_study(db_url, name).spec.dataset.digest, loaded.spec.dataset.digest
    if stored is None or now is None or stored == now:
        return ""
    return f" (the data changed: sha256 {stored[:12]}… stored, {now[:12]}… now)"


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


def _ignored(origin: ModuleOrigin) -> str:
    """The unsupported ops that tracing `origin` treated as depth-neutral ('none' when there were none)."""
    from archscale.nn.traced import trace_origin

    return "; ".join(trace_origin(origin).ignored) or "none"


def _traced_architecture(origin: ModuleOrigin) -> Architecture:
    """`archscale.nn.traced.traced_architecture`, imported (with torch) only for a `family: torch` study."""
    from archscale.nn.traced import traced_architecture

    return traced_architecture(origin)
