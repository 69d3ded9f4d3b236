"""The execution layer without Ray running: messages, how a trial is judged, the objective told to
Optuna, the recorder on a real SQLite writer and the searcher on a real Optuna storage, driven with
plain configs and results."""

import math
from dataclasses import replace

import optuna
import pytest
from optuna.trial import TrialState
from sqlalchemy.orm import Session

from archscale.execution.messages import (
    EpochReport,
    TrialEnd,
    TrialRequest,
    end_result,
    epoch_result,
    members_of,
    pack_config,
    read_result,
)
from archscale.execution.outcome import judge, objective
from archscale.execution.packs import arch_cost, largest_first, make_packs, pack_limit
from archscale.execution.recorder import Recorder
from archscale.execution.searcher import StudySearcher
from archscale.execution.trial_log import TrialLog
from archscale.store import Writer
from archscale.store.models import Epoch, Trial
from archscale.strategies import Unit, search_plan, study_context
from archscale.strategies.plan import merge_identical
from archscale.study.architectures import expand_architectures
from archscale.study.load import parse_study
from archscale.vocabulary import Phase, RunKey, TrialStatus


def report(n: int, val: float | None = 0.5, member: int = 0) -> EpochReport:
    return EpochReport(
        epoch=n,
        steps=10 * n,
        lr=0.1,
        train_loss=1.0 / n,
        train_loss_tail=0.9 / n,
        train_accuracy=0.4,
        val_loss=1.0,
        val_accuracy=val,
        test_loss=1.1,
        test_accuracy=0.45,
        seconds=0.5,
        device_seconds=0.5 * n,
        params=100,
        member=member,
    )


def finish(status: str = "completed", member: int = 0) -> TrialEnd:
    return TrialEnd(status, 1.0, 1.5, "cpu", "n1", member)


def epoch(n: int, val: float | None = 0.5) -> dict:
    """The Tune result of a one-member trial's epoch."""
    return epoch_result([report(n, val)])


def end(status: str = "completed") -> dict:
    return end_result([finish(status)])


def request(arm: str = "tuned", search: str | None = "s/tuned/2", epochs: int = 3, number: int = 0) -> TrialRequest:
    key = RunKey("h1", arm, Phase.SEARCH, 10_000, number)
    return TrialRequest(key, "tuned", 0.1, {"init": "kaiming"}, {"epochs": epochs}, search)


def test_messages_round_trip_and_name_themselves():
    reports = [report(1, 0.3, 0), report(1, 0.6, 1)]
    result = epoch_result(reports)
    assert read_result(result) == reports and (result["epoch"], result["val_accuracy"]) == (1, 0.6)
    assert read_result(end_result([finish(member=1)])) == [finish(member=1)]
    assert result["message"] == "epoch" and end()["message"] == "end"
    assert read_result({"epoch": 1, "val_accuracy": 0.3}) == []  # no message: not ours
    assert read_result(None) == []
    r = request()
    assert TrialRequest.of(r.config()) == r and r.budget == 3
    pack = [request(number=0), request(arm="fixed", number=1)]
    assert members_of(pack_config(pack)) == pack


def test_judge_completed_pruned_diverged_and_the_selected_epoch():
    epochs = [report(1, 0.5), report(2, 0.7), report(3, 0.7)]
    done = judge(epochs, finish(), 3)
    assert (done.status, done.budget, done.selected.epoch) == (TrialStatus.COMPLETED, 3, 2)  # earliest best
    pruned = judge(epochs[:1], None, 3)
    assert (pruned.status, pruned.budget) == (TrialStatus.PRUNED, 1)
    capped = judge(epochs[:1], finish("completed"), 3)  # max_steps ended it early: complete, not pruned
    assert capped.status is TrialStatus.COMPLETED
    diverged = judge(epochs[:2], finish("diverged"), 3)
    assert diverged.status is TrialStatus.DIVERGED and objective(diverged) == 0.0
    assert objective(done) == 0.7 and objective(judge([report(1, None)], finish(), 1)) == 0.0


def test_trial_log_keeps_each_message_once():
    trials = TrialLog()
    config = pack_config([request(number=0), request(number=1)])
    assert trials.add("t1", config, epoch_result([report(1, member=0), report(1, member=1)])) == [0, 1]
    assert (
        trials.add("t1", config, epoch_result([report(1, member=1)])) == []
    )  # both the recorder and the searcher saw it
    trials.add("t1", config, {"done": True})
    first, second = trials.start("t1", config)
    assert list(first.epochs) == [1] and list(second.epochs) == [1] and first.end is None


@pytest.fixture
def writer(tmp_path):
    with Writer(f"sqlite:///{tmp_path / 'r.db'}") as writer:
        yield writer


def test_recorder_writes_trials_epochs_and_outcomes(writer):
    study = writer.ensure_study("s", "name: s\n")
    arch = writer.upsert_architecture("h1", "2", "mlp")
    writer.write_plan(
        study,
        {},
        [
            {
                "architecture_id": arch,
                "position": 0,
                "listed": True,
                "is_base": False,
                "width": 8,
                "kernel_size": None,
                "convention": "official",
                "paths": 1.0,
                "depth_cubed_sum": 1.0,
                "principled_scale": 1.0,
                "n_params": None,
            }
        ],
        [],
        [],
    )
    recorder = Recorder(writer, study, {"h1": arch}, TrialLog())
    finished, stopped = request(number=0).config(), request(number=1).config()
    recorder.record_start("a", finished)
    recorder.record_start("b", stopped)
    for n in (1, 2, 3):
        recorder.record_result("a", finished, epoch(n, 0.5 + n / 10))
    recorder.record_result("a", finished, end())
    recorder.record_result("b", stopped, epoch(1, 0.2))
    assert [o.status for o in recorder.record_complete("a", finished, end())] == [TrialStatus.COMPLETED]
    assert [o.status for o in recorder.record_complete("b", stopped, epoch(1, 0.2))] == [TrialStatus.PRUNED]
    recorder.record_start("c", request(number=2).config())
    recorder.record_error("c", request(number=2).config(), "worker died")
    writer.flush()
    with Session(writer.engine) as session:
        rows = {t.trial_number: t for t in session.query(Trial)}
        assert (rows[0].status, rows[0].budget_reached, rows[0].selected_epoch) == ("completed", 3, 3)
        assert rows[0].val_accuracy == pytest.approx(0.8) and rows[0].node_id == "n1"
        assert rows[0].hyperparameters == {"lr": 0.1, "init": "kaiming", "epochs": 3}
        assert (rows[0].arm, rows[0].kind, rows[0].optuna_study) == ("tuned", "tuned", "s/tuned/2")
        assert (rows[1].status, rows[1].budget_reached) == ("pruned", 1)
        assert (rows[2].status, rows[2].error) == ("failed", "worker died")
        epochs = session.query(Epoch).filter(Epoch.trial_id == rows[0].id).order_by(Epoch.epoch).all()
        assert [e.epoch for e in epochs] == [1, 2, 3] and epochs[0].train_loss_tail == pytest.approx(0.9)


STUDY = """\
name: s
dataset: {name: digits}
architectures: ["2", "2_02"]
seeds: [0]
search: {trials: 2, low: 0.01, high: 1.0}
strategies:
  tuned: {}
"""


def test_searcher_serves_each_search_and_tells_optuna_honestly(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    spec = parse_study(STUDY, "s.yaml", []).spec
    ctx = study_context("s", spec, expand_architectures(spec.architectures, spec.model)[0])
    plan = search_plan(ctx)
    searcher = StudySearcher([], plan.searches, url, TrialLog())
    first = {tid: TrialRequest.of(searcher.suggest(tid)) for tid in ("t0", "t1")}
    assert searcher.suggest("t2") is None  # each search's next round waits for its first to be told
    assert sorted(r.search for r in first.values()) == ["s/tuned/2", "s/tuned/2_02"]
    assert all(0.01 <= r.lr <= 1.0 and r.key.seed == 10_000 for r in first.values())
    budget = first["t0"].budget
    searcher.on_trial_result("t0", epoch(1, 0.3))
    searcher.on_trial_complete("t0", epoch(1, 0.3))  # stopped at epoch 1 of `budget`
    second = TrialRequest.of(searcher.suggest("t2"))
    assert second.search == first["t0"].search and second.key.trial_number == 1
    searcher.on_trial_result("t1", epoch(budget, 0.6))
    searcher.on_trial_complete("t1", end())
    third = TrialRequest.of(searcher.suggest("t3"))
    assert third.search == first["t1"].search
    searcher.on_trial_complete("t2", None, error=True)
    searcher.on_trial_result("t3", epoch(2, 0.1))
    searcher.on_trial_complete("t3", end("diverged"))
    assert searcher.suggest("t5") == "FINISHED"
    states: dict[str, list] = {}
    for name in optuna.get_all_study_names(url):
        for t in optuna.load_study(study_name=name, storage=url).trials:
            states.setdefault(t.state.name, []).append(t.value)
    # a pruned trial keeps its last intermediate value (Optuna's rule); a diverged one completes at 0
    assert {state: sorted(values, key=str) for state, values in states.items()} == {
        "PRUNED": [0.3],
        "COMPLETE": [0.0, 0.6],
        "FAIL": [None],
    }


def test_a_round_is_told_to_optuna_in_trial_number_order_once_all_of_it_has_finished(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    study = STUDY.replace("trials: 2", "trials: 6, sampler: random, batch: 3")
    spec = parse_study(study, "s.yaml", []).spec
    ctx = study_context("s", spec, expand_architectures(spec.architectures, spec.model)[0])
    plan = search_plan(ctx)
    searcher = StudySearcher([], plan.searches[:1], url, TrialLog(), pack_limit=1)
    round_ = {f"t{i}": TrialRequest.of(searcher.suggest(f"t{i}")) for i in range(3)}
    assert searcher.suggest("t3") is None
    name = round_["t0"].search
    for tid in ("t2", "t0"):  # the round's trials end in another order than they were asked
        searcher.on_trial_result(tid, epoch(round_[tid].budget, 0.5))
        searcher.on_trial_complete(tid, end())
        assert not optuna.load_study(study_name=name, storage=url).get_trials(states=(TrialState.COMPLETE,))
        assert searcher.suggest("t3") is None
    searcher.on_trial_result("t1", epoch(round_["t1"].budget, 0.5))
    searcher.on_trial_complete("t1", end())
    told = optuna.load_study(study_name=name, storage=url).get_trials(states=(TrialState.COMPLETE,))
    times = [t.datetime_complete for t in sorted(told, key=lambda t: t.number)]
    assert len(told) == 3 and times == sorted(times)
    assert TrialRequest.of(searcher.suggest("t3")).key.trial_number == 3


def test_a_pack_is_recorded_as_one_trial_per_member(writer):
    study = writer.ensure_study("s", "name: s\n")
    arch = writer.upsert_architecture("h1", "2", "mlp")
    recorder = Recorder(writer, study, {"h1": arch}, TrialLog())
    pack = pack_config([request(arm="principled", search=None), request(arm="fixed", search=None)])
    recorder.record_start("p", pack)
    recorder.record_result("p", pack, epoch_result([report(1, 0.4, 0), report(1, 0.5, 1)]))
    recorder.record_result("p", pack, epoch_result([report(2, 0.6, 0)]))  # member 1 diverged in epoch 2
    outcomes = recorder.record_complete("p", pack, end_result([finish(member=0), finish("diverged", member=1)]))
    assert [o.status for o in outcomes] == [TrialStatus.COMPLETED, TrialStatus.DIVERGED]
    writer.flush()
    with Session(writer.engine) as session:
        rows = {t.arm: t for t in session.query(Trial)}
        assert (rows["principled"].status, rows["principled"].val_accuracy) == ("completed", 0.6)
        assert (rows["fixed"].status, rows["fixed"].budget_reached) == ("diverged", 1)
        assert session.query(Epoch).count() == 3


def test_a_run_that_stands_for_identical_runs_records_their_rows_too(writer):
    study = writer.ensure_study("s", "name: s\n")
    arch = writer.upsert_architecture("h1", "1", "mlp")
    recorder = Recorder(writer, study, {"h1": arch}, TrialLog())
    shared = request(arm="principled", search=None)
    pack = pack_config([replace(shared, shared_with=[("fixed", "fixed", 0)])])
    recorder.record_start("p", pack)
    recorder.record_result("p", pack, epoch_result([report(1, 0.4, 0)]))
    recorder.record_result("p", pack, epoch_result([report(2, 0.6, 0)]))
    recorder.record_complete("p", pack, end_result([finish(member=0)]))
    writer.flush()
    with Session(writer.engine) as session:
        rows = {t.arm: t for t in session.query(Trial)}
        assert set(rows) == {"principled", "fixed"} and rows["fixed"].kind == "fixed"
        assert rows["principled"].same_run_as is None and rows["fixed"].same_run_as == "principled"
        assert [(r.status, r.val_accuracy, r.selected_epoch) for r in rows.values()] == [("completed", 0.6, 2)] * 2
        assert session.query(Epoch).count() == 4


def test_identical_runs_of_different_arms_merge_into_one():
    units = [_unit("a", arm, seed, 0.1) for arm in ("principled", "fixed") for seed in (0, 1)]
    units.append(_unit("a", "other", 0, 0.2))
    merged = merge_identical(units)
    assert [(u.key.arm, u.key.seed, u.shared_with) for u in merged] == [
        ("principled", 0, (("fixed", "fixed", 0),)),
        ("principled", 1, (("fixed", "fixed", 0),)),
        ("other", 0, ()),
    ]


def _unit(arch: str, arm: str, seed: int, lr: float, epochs: int = 2) -> Unit:
    recipe = {"epochs": epochs, "batch_size": 32, "momentum": 0.9, "schedule": "cosine"}
    return Unit(RunKey(arch, arm, Phase.FINAL, seed), arm, lr, {"init": "kaiming"}, recipe)


def test_packs_group_compatible_runs_evenly():
    units = [_unit("a", arm, seed, lr) for arm, lr in (("p", 0.1), ("f", 0.2)) for seed in range(10)]
    units += [_unit("b", "p", 0, 0.1), _unit("a", "p", 99, 0.1, epochs=3)]
    packs = make_packs(units, 8)
    assert sorted(len(p) for p in packs) == [1, 1, 6, 7, 7]  # 20 runs of `a` in 3 even packs; other recipes alone
    assert all(len({(u.key.arch_key, u.recipe["epochs"]) for u in p}) == 1 for p in packs)
    assert [len(p) for p in make_packs(units, 1)] == [1] * 22
    assert (pack_limit("auto", 0), pack_limit("auto", 0.25), pack_limit(4, 0)) == (16, 64, 4)


def test_mup_runs_are_never_packed():
    units = [_unit("a", "mup", seed, 0.1) for seed in range(3)]
    units = [Unit(**{**u.__dict__, "model": {"parametrization": "mup", "mup_base_width": 16}}) for u in units]
    assert [len(p) for p in make_packs(units, 16)] == [1, 1, 1]


def test_a_random_search_asks_its_rounds_as_packs(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    study = STUDY.replace("trials: 2", "trials: 5, sampler: random, early_stopping: {grace_epochs: 1}")
    spec = parse_study(study, "s.yaml", []).spec
    ctx = study_context("s", spec, expand_architectures(spec.architectures, spec.model)[0])
    plan = search_plan(ctx)
    searcher = StudySearcher([], plan.searches, url, TrialLog(), pack_limit=4)
    first = members_of(searcher.suggest("t0"))  # a random search's rounds: 4 trials (the default batch), then 1
    assert len(first) == 4 and len({m.key.trial_number for m in first}) == 4 and len({m.search for m in first}) == 1
    results = epoch_result([report(first[0].budget, 0.1 * (k + 1), k) for k in range(4)])
    searcher.on_trial_result("t0", results)
    searcher.on_trial_complete("t0", end_result([finish(member=k) for k in range(4)]))
    values = sorted(t.value for t in optuna.load_study(study_name=first[0].search, storage=url).trials)
    assert values == pytest.approx([0.1, 0.2, 0.3, 0.4])
    served = [members_of(searcher.suggest(f"t{i}")) for i in range(1, 3)]
    assert [(len(p), p[0].search == first[0].search) for p in served] == [(4, False), (1, True)]
    assert searcher.suggest("t5") is None  # everything asked, trials still running


def test_a_tpe_search_asks_its_random_trials_together_then_one_round_at_a_time(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    spec = parse_study(STUDY.replace("trials: 2", "trials: 15"), "s.yaml", []).spec  # TPE: 5 random trials
    ctx = study_context("s", spec, expand_architectures(spec.architectures, spec.model)[0])
    plan = search_plan(ctx)
    searcher = StudySearcher([], plan.searches, url, TrialLog(), pack_limit=4)
    asked = [members_of(config) for i in range(8) if (config := searcher.suggest(f"t{i}")) is not None]
    per_search: dict[str, list[int]] = {}
    for pack in asked:
        per_search.setdefault(str(pack[0].search), []).append(len(pack))
    assert list(per_search.values()) == [[3, 2], [3, 2]]  # 5 under a limit of 4: packs of 3 and 2; then wait


def serve_to_the_end(searcher: StudySearcher, score) -> list[list[TrialRequest]]:
    """Run `searcher` on one worker until it finishes, each member scoring `score(request)` at its budget:
    the packs it served, in order."""
    served: list[list[TrialRequest]] = []
    while (config := searcher.suggest(f"t{len(served)}")) not in (None, "FINISHED"):
        members, tid = members_of(config), f"t{len(served)}"
        served.append(members)
        searcher.on_trial_result(tid, epoch_result([report(m.budget, score(m), k) for k, m in enumerate(members)]))
        searcher.on_trial_complete(tid, end_result([finish(member=k) for k in range(len(members))]))
    return served


def test_a_simulated_study_packs_the_rounds_of_every_ready_search_and_asks_the_same_trials(tmp_path):
    """Simulated runs do not depend on their companions, so the searches' ready rounds share packs: 2
    TPE searches of 8 trials (2 random, then rounds of 1) take 7 Ray trials instead of 14, and every
    search asks the same LRs from the same results as when its rounds train alone."""
    spec = parse_study(STUDY.replace("trials: 2", "trials: 8"), "s.yaml", []).spec
    ctx = study_context("s", spec, expand_architectures(spec.architectures, spec.model)[0])
    plan = search_plan(ctx)

    def score(member: TrialRequest) -> float:
        return 1 / (1 + abs(math.log(member.lr / 0.1)))

    asked: dict[bool, dict[str, list[float]]] = {}
    for simulated in (False, True):
        url = f"sqlite:///{tmp_path / f'{simulated}.db'}"
        searcher = StudySearcher([], plan.searches, url, TrialLog(), pack_limit=1024, simulated=simulated)
        served = serve_to_the_end(searcher, score)
        if simulated:
            assert [sorted({str(m.search) for m in pack}) for pack in served] == [sorted(plan_names(plan))] * 7
            assert [len(pack) for pack in served] == [4, 2, 2, 2, 2, 2, 2]
        else:
            assert len(served) == 14 and all(len({m.search for m in pack}) == 1 for pack in served)
        asked[simulated] = {}
        for member in sorted((m for pack in served for m in pack), key=lambda m: m.key.trial_number):
            asked[simulated].setdefault(str(member.search), []).append(member.lr)
    assert asked[True] == asked[False]


def plan_names(plan) -> list[str]:
    return [search.name for search in plan.searches]


def test_packs_follow_from_the_plan_not_from_the_workers():
    units = [_unit("a", "p", seed, 0.1) for seed in range(6)]
    assert [len(p) for p in make_packs(units, 16)] == [6]
    assert [len(p) for p in make_packs(units, 4)] == [3, 3]
    assert [len(p) for p in make_packs(units[:1], 16)] == [1]


def test_arch_cost_orders_architectures_as_their_built_models_weights_do():
    """The driver's cost estimate (no torch) against the real models' weight counts."""
    from archscale.graph import parse_architecture
    from archscale.nn import build_model

    cases = [
        ("1", "mlp", None, 64),
        ("2_10_011_0001", "mlp", None, 64),
        ("2_02_002_0002", "mlp", None, 64),
        ("2_22_222_2222", "mlp", None, 64),
        ("2_02_002_0002_00002_000002_0000002", "mlp", None, 64),
        ("2_02_002_0002", "mlp", None, 256),
        ("2_02", "cnn", 3, 16),
        ("2_02", "cnn", 5, 16),
    ]

    def weights(notation: str, family: str, kernel: int | None, width: int) -> int:
        shape = (64,) if family == "mlp" else (1, 8, 8)
        model = build_model(parse_architecture(notation, family, kernel or 3), width=width, input_shape=shape)
        return sum(p.numel() for name, p in model.named_parameters() if name.endswith("weight"))

    by_cost = sorted(cases, key=lambda c: arch_cost(*c))
    by_weights = sorted(cases, key=lambda c: weights(*c))
    assert by_cost == by_weights


def test_packs_start_largest_first():
    units = [_unit("small", "p", seed, 0.1) for seed in range(4)] + [_unit("big", "p", seed, 0.1) for seed in range(2)]
    units += [_unit("small", "p", 9, 0.1, epochs=20)]
    packs = largest_first(make_packs(units, 16), {"small": 1.0, "big": 10.0})
    assert [(p[0].key.arch_key, len(p), p[0].recipe["epochs"]) for p in packs] == [
        ("big", 2, 2),  # 2 runs x 2 epochs x 10
        ("small", 1, 20),  # 1 run x 20 epochs x 1
        ("small", 4, 2),
    ]


def test_the_searcher_starts_the_most_expensive_search_first(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    spec = parse_study(STUDY, "s.yaml", []).spec
    ctx = study_context("s", spec, expand_architectures(spec.architectures, spec.model)[0])
    plan = search_plan(ctx)
    cost = {s.arch_key: float(len(s.notation)) for s in plan.searches}  # "2_02" costs more than "2"
    searcher = StudySearcher([], plan.searches, url, TrialLog(), cost=cost)
    asked = [TrialRequest.of(searcher.suggest(f"t{i}")).search for i in range(2)]
    assert asked == ["s/tuned/2_02", "s/tuned/2"]


def test_a_pack_too_large_for_the_workers_memory_trains_in_parts(monkeypatch):
    import torch

    from archscale.data import load_dataset
    from archscale.execution.trainable import TrialContext, _fitting_packs
    from archscale.graph import parse_architecture
    from archscale.nn import build_model
    from archscale.train import TrainConfig
    from archscale.train import packed as packed_module

    splits = load_dataset("digits", flatten=True, limit=100)
    torch.manual_seed(0)
    models = [build_model(parse_architecture("2_02", "mlp"), width=16, input_shape=(64,))] * 5
    config = TrainConfig(lr=0.1, batch_size=32, device="cpu")
    fitting = TrialContext({}, {}, {}, threads=1, fit_memory=True)
    assert _fitting_packs(models, splits, config, fitting) == [(0, 5)]  # plenty of memory
    share = fitting.memory_share()
    room_for_two = 2 * packed_module.member_bytes(models[0], (64,), 32) * 2 / share  # a pack takes half its share
    monkeypatch.setattr(packed_module, "_total_cpu_bytes", lambda: int(room_for_two))
    assert _fitting_packs(models, splits, config, fitting) == [(0, 2), (2, 4), (4, 5)]
    chosen = TrialContext({}, {}, {}, threads=1, fit_memory=False)
    assert _fitting_packs(models, splits, config, chosen) == [(0, 5)]  # `pack: K` is the user's choice


def test_a_pack_of_the_same_models_reuses_the_workers_packed_model_reset_to_its_initial_state():
    """The reused packed model trains exactly as a freshly packed one (same state, same metrics); one
    that a member left, or other models, get a new packed model."""
    import torch

    from archscale.data import load_dataset
    from archscale.execution.trainable import _packed
    from archscale.graph import parse_architecture
    from archscale.nn import build_model, init_model, pack_models
    from archscale.train import TrainConfig, train_pack

    splits = load_dataset("digits", flatten=True, limit=300)
    models = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        models.append(build_model(parse_architecture("2_02", "mlp"), width=16, input_shape=(64,), batch_norm=True))
        init_model(models[-1], "kaiming")
    members = [models[0], models[1], models[0]]
    configs = [
        TrainConfig(lr=lr, epochs=2, batch_size=32, momentum=0.9, seed=s, threads=1)
        for lr, s in ((0.1, 0), (0.2, 1), (0.05, 0))
    ]

    first = _packed(members)
    trained = train_pack(first, splits, configs)
    again = _packed(list(members))
    assert again is first and all(p.grad is None for p in again.parameters())
    fresh = pack_models(members)
    for name, value in fresh.state_dict().items():
        assert torch.equal(again.state_dict()[name], value)
    retrained = train_pack(again, splits, configs)

    def scores(results: list) -> list:
        return [(r.status, [(m.train_loss, m.val_loss, m.test_accuracy) for m in r.epochs]) for r in results]

    assert scores(retrained) == scores(trained)  # exactly: the same state, data order and arithmetic
    assert _packed([models[1], models[0], models[0]]) is not first  # other models (order matters)

    diverging = [*configs[:2], TrainConfig(lr=1e6, epochs=2, batch_size=32, seed=0, threads=1)]
    left = _packed(members)
    train_pack(left, splits, diverging)  # the third member diverges in epoch 1 and leaves the pack
    assert left.members == 2 and _packed(members) is not left


def test_packs_of_one_architecture_reuse_the_workers_initial_models_untouched():
    """A worker builds each (seed, init) of an architecture once across its packs: the reused model
    equals a fresh build, and training a pack leaves it as built; a run alone gets a model of its own."""
    import torch

    from archscale.data import load_dataset
    from archscale.execution.trainable import TrialContext, _model, _models
    from archscale.nn import pack_models
    from archscale.train import TrainConfig, train_pack

    splits = load_dataset("digits", flatten=True, limit=200)
    context = TrialContext({"name": "digits"}, {"width": 16}, {"h1": ("2_02", "mlp", None, None)}, 1)

    def member(seed: int, number: int) -> TrialRequest:
        return TrialRequest(
            RunKey("h1", "p", Phase.SEARCH, seed, number), "probe", 0.5, {"init": "kaiming"}, {"epochs": 1}
        )

    first = _models([member(0, 0), member(1, 1), member(0, 2)], context, splits)
    assert first[0] is first[2] and first[0] is not first[1]
    built = {k: v.clone() for k, v in first[0].state_dict().items()}
    train_pack(pack_models(first), splits, [TrainConfig(lr=0.5, batch_size=32, seed=s) for s in (0, 1, 0)])
    second = _models([member(0, 3), member(1, 4)], context, splits)
    assert second[0] is first[0] and second[1] is first[1]
    fresh = _model(member(0, 5), context, splits).state_dict()
    for name, value in second[0].state_dict().items():
        assert torch.equal(value, built[name]) and torch.equal(value, fresh[name])
    alone = _models([member(0, 6)], context, splits)
    assert alone[0] is not first[0]
