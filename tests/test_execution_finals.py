"""Final runs planned while the searches run (one Tune run per study): released as their searches
finish, they are exactly the batch plan (`final_plan` after every search), each choice recorded once,
grouped by the search their LR came from; the searcher serves them whenever no search round is ready,
packed per group, so that the packs follow from the plan. Real Optuna storage on SQLite; no Ray."""

import optuna

from archscale.execution.finals import FinalRuns
from archscale.execution.messages import end_result, epoch_result, members_of
from archscale.execution.optuna_studies import found_per_repeat, open_search
from archscale.execution.searcher import StudySearcher
from archscale.execution.trial_log import TrialLog
from archscale.store import optuna_storage
from archscale.strategies import ArmChoice, StudyContext, Unit, final_plan, search_plan, study_context
from archscale.study.architectures import expand_architectures
from archscale.study.load import parse_study
from archscale.vocabulary import Phase
from test_execution_units import finish, report

YAML = """\
name: f
dataset: {name: digits}
architectures: ["2_02", "2_22_222"]
seeds: [3, 4]
search: {trials: 2, sampler: random}
strategies:
  fixed: {lr: base}
  principled: {}
  tuned: {}
  given: {kind: fixed, lr: 0.05}
"""


def flat(groups: list[list[Unit]]) -> list[Unit]:
    return [unit for group in groups for unit in group]


def context() -> StudyContext:
    spec = parse_study(YAML, "f.yaml", []).spec
    return study_context("f", spec, expand_architectures(spec.architectures, spec.model)[0])


def finish_search(storage, search, lrs=(0.02, 0.3), values=(0.6, 0.4)) -> None:
    study, _ = open_search(search, storage)
    distribution = optuna.distributions.FloatDistribution(search.spec.low, search.spec.high, log=True)
    for lr, value in zip(lrs, values, strict=True):
        study.add_trial(optuna.trial.create_trial(params={"lr": lr}, distributions={"lr": distribution}, value=value))


def test_released_final_runs_are_the_batch_plan_and_each_choice_is_recorded_once(tmp_path):
    ctx = context()
    storage = optuna_storage(f"sqlite:///{tmp_path / 'f.db'}")
    searches = search_plan(ctx).searches
    base = [s for s in searches if s.phase.value == "base-search"]
    tuned = [s for s in searches if s.phase.value == "search"]
    recorded: list[ArmChoice] = []
    to_train: list[int] = []
    finals = FinalRuns(ctx, searches, storage, set(), recorded.extend, to_train.append)

    first = flat(finals.release([]))  # nothing searched yet: only the given LR
    assert {u.key.arm for u in first} == {"given"} and len(first) == 2 * 2
    for search in searches:
        finish_search(storage, search)
    second = flat(finals.release(base))  # the base search: principled and fixed on every architecture
    assert {u.key.arm for u in second} == {"fixed", "principled"} and len(second) == 2 * 2 * 2
    third = flat(finals.release([*base, tuned[0]]))  # one tuned search: its architecture's tuned runs
    assert {(u.key.arm, u.key.arch_key) for u in third} == {("tuned", tuned[0].arch_key)}
    assert not finals.all_planned
    last = flat(finals.release(searches))
    assert finals.all_planned and {(u.key.arm, u.key.arch_key) for u in last} == {("tuned", tuned[1].arch_key)}
    assert finals.release(searches) == []  # nothing twice

    batch, choices = final_plan(ctx, found_per_repeat(searches, 1, storage))
    runs = first + second + third + last
    assert sorted(u.key for u in runs) == sorted(u.key for u in batch.units) == sorted(finals.planned)
    assert {u.key: u.lr for u in runs} == {u.key: u.lr for u in batch.units}
    assert sorted(recorded, key=repr) == sorted(choices, key=repr)  # every choice once, as in the batch
    assert to_train == [4 * 2 * 2]  # 4 arms x 2 architectures x 2 seeds, known before any search finished
    assert {u.lr for u in runs if u.key.arm == "fixed"} == {0.02}  # the base search's best LR, unscaled


def test_the_count_of_final_runs_is_lowered_when_a_search_finds_no_lr(tmp_path):
    ctx = context()
    storage = optuna_storage(f"sqlite:///{tmp_path / 'f.db'}")
    searches = search_plan(ctx).searches
    empty = next(s for s in searches if s.phase.value == "search")  # one tuned search: every trial failed
    for search in searches:
        finish_search(storage, search, *(((), ()) if search is empty else ()))
    to_train: list[int] = []
    finals = FinalRuns(ctx, searches, storage, set(), lambda _: None, to_train.append)
    runs = flat(finals.release([s for s in searches if s is not empty]))
    assert to_train == [16] and len(runs) == 14  # not all searches seen: the count may still hold
    assert finals.release(searches) == [] and to_train == [16, 14]  # every search seen: exact
    assert all((u.key.arm, u.key.arch_key) != ("tuned", empty.arch_key) for u in finals.planned.values())


def test_final_runs_already_finished_are_planned_but_not_run_again(tmp_path):
    ctx = context()
    storage = optuna_storage(f"sqlite:///{tmp_path / 'f.db'}")
    searches = search_plan(ctx).searches
    for search in searches:
        finish_search(storage, search)
    batch, _ = final_plan(ctx, found_per_repeat(searches, 1, storage))
    done = {u.key for u in batch.units if u.key.seed == 3}
    to_train: list[int] = []
    finals = FinalRuns(ctx, searches, storage, done, lambda _: None, to_train.append)
    runs = flat(finals.release(searches))
    assert {u.key.seed for u in runs} == {4} and len(finals.planned) == len(batch.units)
    assert to_train == [len(runs)]  # the finished runs are not counted


def test_the_searcher_serves_final_runs_packed_per_search_they_come_from(tmp_path):
    url = f"sqlite:///{tmp_path / 'f.db'}"
    ctx = context()
    plan = search_plan(ctx)
    storage = optuna_storage(url)
    finals = FinalRuns(ctx, plan.searches, storage, set(), lambda _: None, lambda _: None)
    searcher = StudySearcher([], plan.searches, url, TrialLog(), pack_limit=16, finals=finals)

    searched: dict[str, dict] = {}
    served: list[list] = []
    for i in range(20):
        config = searcher.suggest(f"t{i}")
        if config is None:
            break
        members = members_of(config)
        if members[0].key.phase is Phase.FINAL:
            served.append(members)
        else:
            searched[f"t{i}"] = config
    assert sum(len(members_of(c)) for c in searched.values()) == 2 * len(plan.searches)
    assert [sorted({m.key.arm for m in p}) for p in served] == [["given"], ["given"]]  # no search needed: at once

    for trial_id, config in searched.items():
        members = members_of(config)
        searcher.on_trial_result(trial_id, epoch_result([report(m.budget, 0.5, k) for k, m in enumerate(members)]))
        searcher.on_trial_complete(trial_id, end_result([finish(member=k) for k in range(len(members))]))
    while (config := searcher.suggest(f"f{len(served)}")) not in (None, searcher.FINISHED):
        served.append(members_of(config))
    assert finals.all_planned
    # per architecture: the given LR's 2 seeds, the base search's 2 arms x 2 seeds, each tuned search's 2 seeds
    assert sorted(len(p) for p in served) == [2, 2, 2, 2, 4, 4]
    assert all(len({m.key.arch_key for m in p}) == 1 for p in served)
    assert sorted(m.key.arm for p in served for m in p) == sorted(u.key.arm for u in finals.planned.values())
    assert searcher.suggest("end") == searcher.FINISHED
