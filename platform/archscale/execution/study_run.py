"""`archscale run`: check the study, store it and its plan, then run its phases on Ray.

A study that fails the quick checks (the YAML, the registries, the architectures) never starts Ray and
writes nothing. The rest of the set-up (`study_setup.set_up`: the dataset's files, the database, the
study and its plan) runs in a thread while the main thread starts Ray, which takes seconds of mostly
waiting; if it fails, Ray stops again and its error is the one raised. Then one Ray Tune run trains
the search phase and, as each arm's searches finish, records its chosen LR and trains its final runs
in the same run (`finals.FinalRuns`). A re-run of the same study (or
`--resume`) plans only what is missing: trials already completed, pruned or diverged are kept,
trials a stopped driver left running are marked failed and run again, and each Optuna search asks
only for the trials it still lacks.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, replace

from rich.console import Console

from archscale.execution.ray_runtime import ray_session
from archscale.execution.study_setup import SetUp, TrialKey, check, done_keys, set_up
from archscale.strategies import ArmChoice, PhasePlan, StudyContext
from archscale.study.load import LoadedStudy
from archscale.vocabulary import StudyStatus


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
    """Run (or continue) a study; return how it ended. Raise UserError on bad input: before Ray starts
    when the quick checks fail, after Ray has stopped again when the dataset or the database does."""
    console = console or Console(stderr=True)
    ctx = check(new_name or loaded.spec.name, loaded, console)
    status = StudyStatus.INTERRUPTED
    ready: SetUp | None = None
    with ThreadPoolExecutor(1, thread_name_prefix="archscale-set-up") as pool:
        setting_up = pool.submit(_set_up, ctx, loaded, db_url, resume=resume, upgrade_db=upgrade_db, console=console)
        try:
            with ray_session(address) as cluster:
                ready = setting_up.result()
                ran, expected = _run_study_trials(ready, cluster, db_url)
            complete = expected is not None and bool(expected) and expected <= done_keys(db_url, ready.name)
            status = StudyStatus.COMPLETED if complete else StudyStatus.FAILED
            result = StudyResult(ready.name, status, ran)
        except BaseException:
            if ready is None:  # the set-up's own error (bad input) comes before Ray's
                failure = setting_up.exception()
                if failure is not None:
                    raise failure from None
                ready = setting_up.result()
            raise
        finally:
            if ready is not None:
                ready.writer.finish_study(ready.study_id, status)
                ready.writer.close()
    return result


def _set_up(
    ctx: StudyContext, loaded: LoadedStudy, db_url: str, *, resume: bool, upgrade_db: bool, console: Console
) -> SetUp:
    """`set_up`, then the imports the phases need (Ray Tune takes most of a second): the driver's share
    of the start-up, done while the main thread waits for Ray's processes to start."""
    ready = set_up(ctx, loaded, db_url, resume=resume, upgrade_db=upgrade_db, console=console)
    import archscale.execution.tune_run  # noqa: F401

    return ready


def _run_study_trials(ready: SetUp, cluster: dict[str, float], db_url: str) -> tuple[int, set[TrialKey] | None]:
    """Run the missing trials of the search phase and, in the same Tune run, the missing final runs
    as their searches finish (each arm's choice recorded first); return how many trials ran and the
    keys of every trial the study needs (None when some final runs could not be planned: a search
    did not finish). The study is complete once all of them are done (checked after Ray has stopped)."""
    from archscale.execution.optuna_studies import open_search
    from archscale.execution.progress import make_progress
    from archscale.execution.tune_run import StudyTrials, run_trials
    from archscale.store import closing_optuna_storage

    search = _pending(ready.searches, ready.done)
    run = StudyTrials(
        search,
        ready.ctx,
        ready.done,
        lambda choice: _record_choice(ready, choice),
        ready.trial_context,
        ready.loaded.spec.resources,
        cluster,
        ready.writer,
        ready.study_id,
        ready.arch_ids,
        db_url,
    )
    searching = closing_optuna_storage(db_url) if search.searches else nullcontext(None)  # no search, no Optuna
    with make_progress() as progress, searching as storage:
        remaining = (
            0 if storage is None else sum(max(0, s.spec.trials - open_search(s, storage)[1]) for s in search.searches)
        )
        outcomes, finals = run_trials(run, storage, progress, len(search.units) + remaining)
    expected = set(finals.planned) | {u.key for u in ready.searches.units}
    return len(outcomes), expected if finals.all_planned else None


def _record_choice(ready: SetUp, c: ArmChoice) -> None:
    ready.writer.record_choice(
        ready.study_id, c.arm, ready.arch_ids[c.arch_key], c.repeat, c.choice.lr, c.choice.search, c.choice.source
    )


def _pending(plan: PhasePlan, done: set[TrialKey]) -> PhasePlan:
    return replace(plan, units=[u for u in plan.units if u.key not in done])
