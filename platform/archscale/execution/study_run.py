"""`archscale run`: check the study, store it and its plan, then run its phases on Ray.

A study that fails the quick checks (the YAML, the registries, the architectures) never starts Ray and
writes nothing. The rest of the set-up (`study_setup.set_up`: the dataset's files, the database, the
study and its plan) runs in a thread while the main thread starts Ray, which takes seconds of mostly
waiting; if it fails, Ray stops again and its error is the one raised. Then one Ray Tune run trains
the search phase and, as each arm's searches finish, records its chosen LR and trains its final runs
in the same run (`finals.FinalRuns`). A study with known-LR trials (probe grids) runs in passes to a
fixed point (`passes`): when the stored results call for more (a grid extended at an edge, final runs
whose base LR a probe has now settled), another Tune run in the same Ray session trains just those.
A re-run of the same study (or `--resume`) plans only what is missing: trials already completed,
pruned or diverged are kept, trials a stopped driver left running are marked failed and run again,
each Optuna search asks only for the trials it still lacks, and the passes re-derive from the stored
rows the same extensions and final runs.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass

from rich.console import Console

from archscale.execution.ray_runtime import ray_session
from archscale.execution.study_setup import SetUp, check, set_up
from archscale.strategies import ArmChoice, PhasePlan, StudyContext
from archscale.study.load import LoadedStudy
from archscale.vocabulary import RunKey, StudyStatus


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
    simulate: bool = False,
) -> StudyResult:
    """Run (or continue) a study; return how it ended. Raise UserError on bad input: before Ray starts
    when the quick checks fail, after Ray has stopped again when the dataset or the database does.
    `simulate`: train with the synthetic trainer (`archscale.train.synthetic`), the study marked simulated."""
    console = console or Console(stderr=True)
    ctx = check(new_name or loaded.spec.name, loaded, console)
    status = StudyStatus.INTERRUPTED
    ready: SetUp | None = None
    with ThreadPoolExecutor(1, thread_name_prefix="archscale-set-up") as pool:
        setting_up = pool.submit(
            _set_up, ctx, loaded, db_url, resume=resume, upgrade_db=upgrade_db, console=console, simulate=simulate
        )
        try:
            with ray_session(address) as cluster:
                ready = setting_up.result()
                ran, expected = _run_study_trials(ready, cluster, db_url)
            from archscale.store import finished_keys

            complete = expected is not None and bool(expected) and expected <= finished_keys(db_url, ready.name)
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
    ctx: StudyContext,
    loaded: LoadedStudy,
    db_url: str,
    *,
    resume: bool,
    upgrade_db: bool,
    console: Console,
    simulate: bool,
) -> SetUp:
    """`set_up`, then the imports the phases need (Ray Tune takes most of a second): the driver's share
    of the start-up, done while the main thread waits for Ray's processes to start; prints the plan's
    one-line estimate (`archscale plan`)."""
    ready = set_up(ctx, loaded, db_url, resume=resume, upgrade_db=upgrade_db, console=console, simulate=simulate)
    from archscale.execution.estimate import estimate

    try:
        line = estimate(ready.ctx, simulated=simulate).line()
    except Exception as exc:  # the estimate only informs: it never stops a study
        line = f"plan: no estimate ({type(exc).__name__}: {exc})"
    console.print(line, highlight=False)
    import archscale.execution.tune_run  # noqa: F401

    return ready


def _run_study_trials(ready: SetUp, cluster: dict[str, float], db_url: str) -> tuple[int, set[RunKey] | None]:
    """Run the study in passes (`passes`): each one Tune run of the missing known-LR trials, searches and,
    as their searches finish, final runs (each arm's choice recorded first), planned from the stored
    rows; a pass that has nothing to train only records the choices. Return how many trials ran and the
    keys of every trial the study needs (None when some final runs could not be planned: a search did
    not finish). The study is complete once all of them are done (checked after Ray has stopped)."""
    from archscale.execution.finals import FinalRuns, expected_finals
    from archscale.execution.optuna_studies import open_search
    from archscale.execution.passes import pass_plan, stored_runs
    from archscale.execution.progress import StudyProgress, make_progress
    from archscale.execution.tune_run import StudyTrials, run_trials
    from archscale.store import closing_optuna_storage, finished_keys

    searches, in_passes = ready.searches.searches, bool(ready.searches.units)
    done, ran, last = ready.done, 0, None

    def record(choices: list[ArmChoice]) -> None:
        _record_choices(ready, choices)

    searching = closing_optuna_storage(db_url) if searches else nullcontext(None)  # no search, no Optuna
    with make_progress() as progress, searching as storage:
        bars = StudyProgress(progress, 0)
        while True:
            plan = pass_plan(ready.ctx, stored_runs(db_url, ready.name) if in_passes else {})
            if plan.same(last):
                break
            last, pending = plan, [u for u in plan.units if u.key not in done]
            remaining = (
                0 if storage is None else sum(max(0, s.spec.trials - open_search(s, storage)[1]) for s in searches)
            )
            bars.next_pass(len(pending) + remaining)
            if pending or remaining or expected_finals(ready.ctx, searches, done, plan.probed):
                run = StudyTrials(
                    PhasePlan("search", pending, searches),
                    ready.ctx,
                    done,
                    record,
                    ready.trial_context,
                    ready.loaded.spec.resources,
                    cluster,
                    ready.writer,
                    ready.study_id,
                    ready.arch_ids,
                    db_url,
                    plan.probed,
                )
                outcomes, finals = run_trials(run, storage, bars)
                ran += len(outcomes)
                done = finished_keys(db_url, ready.name)
            else:  # nothing to train: the choices, and the final runs planned, from the finished searches
                finals = FinalRuns(ready.ctx, searches, storage, done, record, bars.set_final_total, plan.probed)
                finals.release(searches)
            if not in_passes:
                break
    assert last is not None
    expected = set(finals.planned) | last.keys
    return ran, expected if finals.all_planned else None


def _record_choices(ready: SetUp, choices: list[ArmChoice]) -> None:
    ready.writer.record_choices(
        ready.study_id,
        [(c.arm, ready.arch_ids[c.arch_key], c.repeat, c.choice.lr, c.choice.search, c.choice.source) for c in choices],
    )
