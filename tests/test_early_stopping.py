"""Early stopping per search: the rule against Ray Tune's own ASHA (the reference), searches judged
apart, and the board the workers ask through real embedded Ray."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
from ray.tune.schedulers import AsyncHyperBandScheduler, TrialScheduler

from archscale.execution.early_stopping import Report, Rule, RungBoard, Rungs, start
from archscale.execution.ray_runtime import ray_session


@dataclass
class TuneTrial:
    """What Tune's ASHA reads of a trial."""

    trial_id: str


def sequential_reports(rng: random.Random, runs: int, max_epochs: int) -> list[tuple[int, int, float]]:
    """(run, epoch, score): each run's epochs, run after run (rounds of one), scores with ties."""
    return [(run, epoch, round(rng.random(), 1)) for run in range(runs) for epoch in range(1, max_epochs + 1)]


@pytest.mark.parametrize("case", range(40))
def test_rungs_of_rounds_of_one_decide_as_ray_tunes_asha(case):
    rng = random.Random(case)
    max_epochs = rng.choice([2, 3, 5, 9, 12, 27])
    grace = rng.choice([g for g in (1, 2, 3) if g <= max_epochs])
    factor = rng.choice([2, 3, 4])
    tune = AsyncHyperBandScheduler(
        time_attr="epoch",
        metric="val_accuracy",
        mode="max",
        max_t=max_epochs,
        grace_period=grace,
        reduction_factor=factor,
        brackets=1,
        stop_last_trials=False,
    )
    ours = Rungs(max_epochs, grace, factor)
    runs = rng.randint(2, 30)
    trials = [TuneTrial(str(run)) for run in range(runs)]
    for trial in trials:
        tune.on_trial_add(None, trial)
    stopped: set[int] = set()
    decisions = []
    for run, epoch, score in sequential_reports(rng, runs, max_epochs):
        if run in stopped:
            continue
        expected = tune.on_trial_result(None, trials[run], {"epoch": epoch, "val_accuracy": score})
        stop = ours.stop(run, epoch, score, round_=run)
        assert stop == (expected == TrialScheduler.STOP), (run, epoch, score)
        decisions.append(stop)
        if stop:
            stopped.add(run)
    assert len(decisions) >= runs


def test_a_retried_run_gets_its_first_decision_again():
    rungs = Rungs(4, 1, 2)
    decisions = [rungs.stop(run, 1, score, run) for run, score in [(0, 0.9), (1, 0.1), (2, 0.95)]]
    assert decisions == [False, True, False]
    assert [rungs.stop(run, 1, 0.99, run) for run in (0, 1, 2)] == [False, True, False]  # the pack ran again
    assert rungs.stop(0, 2, 0.5) is False and rungs.stop(0, 2, 0.5) is False


@pytest.mark.parametrize("case", range(20))
def test_decisions_do_not_depend_on_which_run_of_a_round_reports_first(case):
    """Runs of one round are judged against earlier rounds only: any order of their reports (packed
    on one worker, or on several in any timing) gives the same decisions."""
    rng = random.Random(case)
    rule = Rule(max_epochs=9, grace_epochs=1, reduction_factor=3, first=4, batch=3)
    runs = 13
    scores = {(run, epoch): round(rng.random(), 2) for run in range(runs) for epoch in range(1, 10)}

    def decide(shuffle: bool) -> dict[tuple[int, int], bool]:
        board, stopped, decisions = RungBoard({"s": rule}), set(), {}
        for round_ in range(rule.round_of(runs - 1) + 1):
            members = [run for run in range(runs) if rule.round_of(run) == round_]
            for epoch in range(1, 10):
                order = [run for run in members if run not in stopped]
                if shuffle:
                    rng.shuffle(order)
                stops = board.stop([Report("s", run, epoch, scores[(run, epoch)]) for run in order])
                for run, stop in zip(order, stops, strict=True):
                    decisions[(run, epoch)] = stop
                    if stop:
                        stopped.add(run)
        return decisions

    reference = decide(False)
    assert any(reference.values())  # the rule stops something
    assert all(decide(True) == reference for _ in range(3))


def test_each_search_is_judged_against_its_own_runs_only():
    board = RungBoard({"a": Rule(4, 1, 2), "b": Rule(4, 1, 2)})
    strong = [Report("b", n, 1, 0.9) for n in range(3)]
    assert board.stop(strong) == [False, False, False]
    assert board.stop([Report("a", 0, 1, 0.1)]) == [False]  # search `a`'s only run: nothing to compare with
    assert board.stop([Report("b", 3, 1, 0.1)]) == [True]
    assert board.stop([Report("a", 0, 2, 0.1), Report("a", 1, 1, 0.05), Report("a", 2, 1, 0.2)]) == [
        False,  # between rungs: judged already at epoch 1
        True,
        False,
    ]


def test_workers_ask_one_board_through_ray():
    assert start({}) is None
    with ray_session("local"):
        stopping = start({"s": Rule(9, 1, 3)})
        assert stopping is not None
        assert stopping.stop([Report("other", 0, 1, 0.0)]) == [False]  # not judged, and no call made
        first = stopping.stop([Report("s", 0, 1, 0.5), Report("other", 0, 1, 0.0), Report("s", 1, 1, 0.9)])
        assert first == [False, False, False]
        again = stopping.stop([Report("s", 2, 1, 0.1)])  # a second worker's call sees the same rungs
        assert again == [True]
