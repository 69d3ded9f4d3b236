"""The comparison on hand-made store frames and plans where every number is known."""

import json
import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from archscale.report import Inputs, StudyPlan, build_comparison
from archscale.report.claims.recipes import differences
from archscale.report.frames.study import short_label
from archscale.report.statistics import stats

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SCALE_A, SCALE_B = math.sqrt(27 / 64), math.sqrt(27 / 125)
T1 = scipy_stats.t.ppf(0.975, 1)
SGD = {"name": "sgd", "momentum": 0.9}


def architectures(*rows):
    """rows: (hash, notation, S, paths, scale, listed, is_base), listed in the order given."""
    return pd.DataFrame(
        [
            {
                "graph_hash": h,
                "notation": n,
                "family": "mlp",
                "kernel_size": pd.NA,
                "width": 32,
                "position": i if listed else -1,
                "listed": listed,
                "is_base": is_base,
                "convention": "official",
                "paths": float(p),
                "S": float(s),
                "principled_scale": float(k),
                "parameters": 1000 * (i + 1),
            }
            for i, (h, n, s, p, k, listed, is_base) in enumerate(rows)
        ]
    ).astype({"kernel_size": "Int64", "width": "Int64", "parameters": "Int64"})


def recipe(init="architecture-aware", search=None, epochs=4):
    return {
        "init": {"scheme": init},
        "optimizer": SGD,
        "schedule": "cosine",
        "epochs": epochs,
        "batch_size": 32,
        "lr_search": search,
    }


def arm_rows(*rows):
    """rows: (arm, kind, final, recipe[, settings])"""
    return pd.DataFrame(
        [
            {
                "arm": r[0],
                "kind": r[1],
                "position": i,
                "label": r[0],
                "final": r[2],
                "settings": r[4] if len(r) > 4 else {},
                "recipe": r[3],
            }
            for i, r in enumerate(rows)
        ]
    )


def search_rows(*rows):
    """rows: (name, phase, graph_hash, repeat, arms, scope, budget)"""
    columns = ["name", "phase", "graph_hash", "repeat", "arms", "scope", "budget"]
    return pd.DataFrame([dict(zip(columns, r, strict=True)) for r in rows], columns=columns)


def choice_rows(*rows):
    """rows: (arm, graph_hash, repeat, lr, search)"""
    columns = ["arm", "graph_hash", "repeat", "lr", "search", "source"]
    return pd.DataFrame([(*r, "search" if r[4] else "rule") for r in rows], columns=columns)


def plan(archs, arms, pairs, searches=None, choices=None, seeds=(0, 1), repeats=1, chance=0.1):
    return StudyPlan(
        seeds=tuple(seeds),
        search_seeds=(100,),
        search_repeats=repeats,
        pairs=tuple(pairs),
        chance=chance,
        architectures=archs,
        arms=arms,
        searches=searches if searches is not None else search_rows(),
        choices=choices if choices is not None else choice_rows(),
    )


class Trials:
    """Builds a trials frame like `read_trials` (the columns the report reads)."""

    def __init__(self, kinds):
        self.kinds = kinds
        self.rows = []

    def add(
        self,
        arch,
        arm,
        phase,
        seed=0,
        number=0,
        lr=0.1,
        status="completed",
        val=math.nan,
        test=math.nan,
        seconds=1.0,
        budget=4,
        repeat=0,
        search=None,
    ):
        self.rows.append(
            {
                "id": len(self.rows) + 1,
                "graph_hash": arch,
                "architecture": arch,
                "family": "mlp",
                "arm": arm,
                "kind": self.kinds[arm],
                "phase": phase,
                "seed": seed,
                "trial_number": number,
                "repeat": repeat,
                "status": status,
                "budget_reached": budget,
                "selected_epoch": budget,
                "val_accuracy": val,
                "test_accuracy": test,
                "val_loss": 1 - val,
                "test_loss": 1 - test,
                "device_seconds": seconds,
                "finished_at": T0 + timedelta(seconds=len(self.rows)),
                "optuna_study": search,
                "hp_lr": lr,
            }
        )
        return self

    def frame(self):
        return pd.DataFrame(self.rows).astype({"budget_reached": "Int64", "selected_epoch": "Int64"})


BASE_SEARCH = {"trials": 2, "sampler": "tpe", "low": 0.001, "high": 1.0, "early_stopping": None}
TUNED_SEARCH = BASE_SEARCH | {"trials": 3, "early_stopping": {"scheduler": "asha", "grace_epochs": 1}}
ARCHS = architectures(
    ("hBase", "1", 27, 1, 1.0, False, True),
    ("hA", "2", 64, 1, SCALE_A, True, False),
    ("hB", "2_22", 125, 2, SCALE_B, True, False),
)
ARMS = arm_rows(
    ("principled", "principled", True, recipe(search=BASE_SEARCH)),
    ("tuned", "tuned", True, recipe(init="kaiming", search=TUNED_SEARCH)),
    ("fixed", "fixed", True, recipe(search=BASE_SEARCH)),
)
KINDS = dict(zip(ARMS["arm"], ARMS["kind"], strict=True))
PLAN = plan(
    ARCHS,
    ARMS,
    [("principled", "tuned"), ("principled", "fixed")],
    search_rows(
        (
            "base",
            "base-search",
            "hBase",
            0,
            ("principled", "fixed"),
            "study",
            BASE_SEARCH | {"init": "aa", "epochs": 4},
        ),
        ("tuned-hA", "search", "hA", 0, ("tuned",), "architecture", TUNED_SEARCH | {"init": "kaiming", "epochs": 4}),
        ("tuned-hB", "search", "hB", 0, ("tuned",), "architecture", TUNED_SEARCH | {"init": "kaiming", "epochs": 4}),
    ),
    choice_rows(
        ("principled", "hA", 0, 0.1 * SCALE_A, "base"),
        ("principled", "hB", 0, 0.1 * SCALE_B, "base"),
        ("fixed", "hA", 0, 0.1, "base"),
        ("fixed", "hB", 0, 0.1, "base"),
        ("tuned", "hA", 0, 0.02, "tuned-hA"),
        ("tuned", "hB", 0, 0.04, "tuned-hB"),
    ),
)


def study_trials(tuned_final=True):
    t = Trials(KINDS)
    # base-LR search on the base network (charged once per study to principled and fixed): 20 s, 8 epochs
    t.add("hBase", "principled", "base-search", number=0, lr=0.1, val=0.6, test=0.6, seconds=10, search="base")
    t.add("hBase", "principled", "base-search", number=1, lr=0.3, val=0.5, test=0.5, seconds=10, search="base")
    # tuned search on hA: picks test 0.58, then (a pruned trial) 0.63 — never principled's 0.61 ... until trial 3
    t.add("hA", "tuned", "search", number=0, lr=0.05, val=0.55, test=0.58, seconds=5, search="tuned-hA")
    t.add("hA", "tuned", "search", number=1, lr=0.08, status="pruned", val=0.3, seconds=2, budget=1, search="tuned-hA")
    t.add("hA", "tuned", "search", number=2, lr=0.02, val=0.65, test=0.63, seconds=5, search="tuned-hA")
    # tuned search on hB: picks 0.55, never principled's 0.71
    t.add("hB", "tuned", "search", number=0, lr=0.04, val=0.5, test=0.55, seconds=6, search="tuned-hB")
    t.add("hB", "tuned", "search", number=1, lr=0.9, status="diverged", seconds=1, budget=0, search="tuned-hB")
    finals = {
        ("hA", "principled", 0.1 * SCALE_A): [(0.59, 0.60), (0.61, 0.62)],
        ("hA", "tuned", 0.02): [(0.6, 0.64), (0.6, 0.66)],
        ("hA", "fixed", 0.1): [(0.5, 0.50), (0.5, 0.52)],
        ("hB", "principled", 0.1 * SCALE_B): [(0.7, 0.70), (0.7, 0.72)],
        ("hB", "tuned", 0.04): [(0.6, 0.60), (0.6, 0.62)],
        ("hB", "fixed", 0.1): [(0.4, 0.40), None],
    }
    for (arch, arm, lr), runs in finals.items():
        if arm == "tuned" and not tuned_final:
            continue
        for seed, run in enumerate(runs):
            if run is None:
                t.add(arch, arm, "final", seed=seed, lr=lr, status="diverged", seconds=3, budget=1)
            else:
                t.add(arch, arm, "final", seed=seed, lr=lr, val=run[0], test=run[1], seconds=3)
    return t.frame()


@pytest.fixture(scope="module")
def comparison():
    return build_comparison(Inputs("hand", "completed", study_trials(), None, PLAN))


def by_arch(c):
    return c.per_architecture.set_index("graph_hash")


def test_rows_are_the_listed_architectures_without_the_base(comparison):
    assert comparison.per_architecture["graph_hash"].tolist() == ["hA", "hB"]
    assert comparison.arms == ("principled", "tuned", "fixed")
    assert comparison.base == {"architecture": "1", "label": "1", "S": 27.0, "listed": False}


def test_scores_per_arm_with_t_intervals_for_two_seeds(comparison):
    a = by_arch(comparison).loc["hA"]
    assert a["principled_mean"] == pytest.approx(0.61)
    assert a["principled_std"] == pytest.approx(math.sqrt(2 * 0.01**2))
    assert a["principled_n"] == 2 and a["principled_ci_method"] == "t"
    # two seeds: 0.61 ± t(0.975, 1) · 0.01414 / √2, never a bootstrap "range"
    assert (a["principled_ci_lo"], a["principled_ci_hi"]) == pytest.approx((0.61 - T1 * 0.01, 0.61 + T1 * 0.01))
    methods = comparison.summary.loc[comparison.summary["section"] == "accuracy", "method"]
    assert "bootstrap" not in set(methods) and stats.T in set(methods)


def test_a_diverged_final_run_scores_chance_and_counts(comparison):
    b = by_arch(comparison).loc["hB"]
    assert b["fixed_n"] == 2 and b["fixed_diverged"] == 1 and b["fixed_missing"] == 0
    assert b["fixed_mean"] == pytest.approx((0.40 + 0.10) / 2)
    assert comparison.stat("accuracy.diverged.fixed") == pytest.approx(1 / 4)
    assert comparison.stat("accuracy.diverged.principled") == 0
    assert "fixed: 1 of 4 final runs diverged (25%)" in comparison.notes
    assert any(n.startswith("diverged final runs score chance accuracy (1/classes), 10.0%") for n in comparison.notes)
    assert comparison.diverged_score == 0.1


def test_a_collapsed_final_run_is_a_failure_scored_at_chance():
    """A final run that completed but learned nothing (best validation accuracy ≤ 1.5 × chance) is scored
    like a diverged one and counted as collapsed; one just above the margin is a result."""
    frame = study_trials()
    final_tuned_hb = (frame["phase"] == "final") & (frame["arm"] == "tuned") & (frame["graph_hash"] == "hB")
    seed0, seed1 = final_tuned_hb & (frame["seed"] == 0), final_tuned_hb & (frame["seed"] == 1)
    frame.loc[seed0, ["val_accuracy", "test_accuracy"]] = [0.15, 0.13]  # 1.5 × chance: collapsed
    frame.loc[seed1, ["val_accuracy", "test_accuracy"]] = [0.16, 0.17]  # above the margin: a result
    c = build_comparison(Inputs("hand", "completed", frame, None, PLAN))
    b = by_arch(c).loc["hB"]
    assert (b["tuned_collapsed"], b["tuned_diverged"]) == (1, 0)
    assert b["tuned_mean"] == pytest.approx((0.10 + 0.17) / 2)
    assert c.stat("accuracy.collapsed.tuned") == pytest.approx(1 / 4)
    assert "tuned: 1 of 2 final runs collapsed" in b["notes"]
    from archscale.report.render.json import to_document

    arms = {a["arm"]: a["failures"] for a in to_document(c)["arms"]}
    assert arms["tuned"] == {"diverged": 0, "collapsed": 1} and arms["fixed"] == {"diverged": 1, "collapsed": 0}


def test_calls_follow_the_paired_interval_holm_adjusted(comparison):
    pa = by_arch(comparison)
    # principled − tuned per seed: −0.04, −0.04 on hA, +0.10, +0.10 on hB: zero-width t intervals
    assert (pa.loc["hA", "principled:tuned_outcome"], pa.loc["hB", "principled:tuned_outcome"]) == ("loss", "win")
    # principled − fixed on hB: 0.30 and 0.62 (the diverged run scores 0.10): 0.46 ± 12.7 · 0.16 contains 0,
    # and an accuracy difference stays within [−1, 1]
    assert pa.loc["hB", "principled:fixed_diff"] == pytest.approx(0.46)
    lo, hi = pa.loc["hB", ["principled:fixed_lo", "principled:fixed_hi"]]
    assert (lo, hi) == pytest.approx((max(-1.0, 0.46 - T1 * 0.16), min(1.0, 0.46 + T1 * 0.16)))
    assert pa.loc["hB", "principled:fixed_outcome"] == "inconclusive"
    assert pa.loc["hB", "principled:fixed_method"] == "t" and pa.loc["hB", "principled:fixed_varies"] == "seed"
    assert pa.loc["hA", "principled:fixed_outcome"] == "win"
    kinds = ("wins", "inconclusive", "losses", "undecided")
    assert [comparison.stat(f"accuracy.{k}.principled:fixed") for k in kinds] == [1, 1, 0, 0]


def test_the_study_difference_comes_at_every_level_the_data_allow(comparison):
    seeds = comparison.row("accuracy.diff.seeds.principled:tuned")
    # per seed, the mean over architectures of principled − tuned is 0.03 both times
    assert (seeds["value"], seeds["lo"], seeds["hi"], seeds["n"], seeds["method"]) == pytest.approx(
        (0.03, 0.03, 0.03, 2, "t")
    )
    assert (seeds["varies"], seeds["fixed"]) == ("seed", "repeat,architecture")
    assert seeds["arms"] == "principled,tuned"
    fixed = comparison.row("accuracy.diff.seeds.principled:fixed")  # per seed: 0.20 and 0.36
    expected = scipy_stats.t.interval(0.95, 1, loc=0.28, scale=scipy_stats.sem([0.20, 0.36]))
    assert fixed["value"] == pytest.approx(0.28)
    assert (fixed["lo"], fixed["hi"]) == pytest.approx((max(-1.0, expected[0]), min(1.0, expected[1])))
    # no search repeats: no repeats level; the headline is the broadest, across the 2 architectures
    assert comparison.row("accuracy.diff.repeats.principled:tuned") is None
    head = comparison.row("accuracy.diff.principled:tuned")
    archs = comparison.row("accuracy.diff.architectures.principled:tuned")
    assert head["varies"] == archs["varies"] == "architecture,seed" and (head["n"], head["lo"]) == (2, archs["lo"])
    assert [comparison.stat(f"accuracy.{k}.principled:tuned") for k in ("wins", "inconclusive", "losses")] == [1, 0, 1]


def test_learning_rates_come_from_the_plan(comparison):
    pa = by_arch(comparison)
    assert pa.loc["hA", "principled_lr"] == pytest.approx(0.1 * SCALE_A)
    assert pa.loc["hA", "tuned_lr"] == pytest.approx(0.02)
    assert pa.loc["hA", "fixed_lr"] == pytest.approx(0.1)
    assert pa.loc["hA", "principled:tuned_lr_ratio"] == pytest.approx(0.1 * SCALE_A / 0.02)
    fit = comparison.row("lr.slope.log_lr-log_S.tuned")  # only tuned searches each architecture
    assert fit["value"] == pytest.approx(math.log(2) / math.log(125 / 64))
    assert fit["n"] == 2 and math.isnan(fit["lo"]) and fit["expected"] == -0.5
    assert comparison.row("lr.slope.log_lr-log_S.principled") is None
    assert comparison.row("lr.spearman.principled:fixed") is None
    gap = comparison.stat("lr.median_abs_log2_ratio.principled:tuned")
    expected = np.median([abs(math.log2(0.02 / (0.1 * SCALE_A))), abs(math.log2(0.04 / (0.1 * SCALE_B)))])
    assert gap == pytest.approx(expected)


def test_learning_rates_without_final_runs_come_from_the_plan():
    c = build_comparison(Inputs("hand", "running", study_trials(tuned_final=False), None, PLAN))
    pa = by_arch(c)
    assert pa.loc["hA", "tuned_lr"] == pytest.approx(0.02) and pa.loc["hB", "tuned_lr"] == pytest.approx(0.04)
    assert "tuned: no final runs finished yet" in c.notes
    assert any("status is 'running'" in n for n in c.notes)
    assert c.row("accuracy.diff.principled:tuned")["n"] == 0
    assert c.row("accuracy.diff.principled:tuned")["method"] == stats.NO_INTERVAL


def test_search_cost_charged_by_the_plan(comparison):
    pa = by_arch(comparison)
    principled = ["principled_search_trials", "principled_search_epochs", "principled_search_device_s"]
    assert pa.loc["hA", principled].tolist() == [1, 4, 10]  # the study's base search, amortised over 2
    assert pa.loc["hA", "fixed_search_device_s"] == 10  # charged to fixed too
    assert pa.loc["hA", ["tuned_search_trials", "tuned_search_epochs", "tuned_search_device_s"]].tolist() == [3, 9, 12]
    assert pa.loc["hB", ["tuned_search_pruned", "tuned_search_diverged"]].tolist() == [0, 1]
    cost = comparison.cost.set_index("arm")
    assert cost.loc["principled", "search_device_s"] == 20 and cost.loc["principled", "kind"] == "principled"
    assert cost.loc["principled", "search_device_s_per_architecture"] == 10
    assert cost.loc["principled", "note"] == "base-search: once per study, amortised over 2, shared with fixed"
    assert cost.loc["tuned", ["search_trials", "search_pruned", "search_diverged", "search_device_s"]].tolist() == [
        5,
        1,
        1,
        19,
    ]
    assert cost.loc["fixed", "final_trials"] == 4 and cost.loc["fixed", "final_diverged"] == 1
    assert comparison.stat("cost.search_ratio.principled:tuned") == pytest.approx(20 / 19)
    assert comparison.stat("cost.search_device_h.tuned") == pytest.approx(19 / 3600)


def test_every_search_shows_its_budget(comparison):
    s = comparison.searches.set_index("search")
    assert s.loc["tuned-hA", ["budget_trials", "sampler", "low", "high"]].tolist() == [3, "tpe", 0.001, 1.0]
    assert s.loc["tuned-hA", "early_stopping"] == "scheduler=asha, grace_epochs=1"
    assert s.loc["base", "early_stopping"] == "none" and s.loc["base", "arms"] == "principled, fixed"
    assert s.loc["tuned-hA", ["trials", "pruned", "device_s", "chosen_lr"]].tolist() == [3, 1, 12, 0.02]
    from archscale.report.render.display import budget_lines

    lines = budget_lines(comparison)
    assert lines[1] == (
        "tuned (search, 2 arch. × 1 rep.): 3 trials, tpe, LR [0.001, 1], early stopping scheduler=asha, "
        "grace_epochs=1, init kaiming, 4 epochs"
    )


def test_cost_to_match_from_the_search_trials(comparison):
    m = comparison.match.set_index("graph_hash")
    assert set(comparison.match["arm"]) == {"tuned"} and set(comparison.match["against"]) == {"principled"}
    assert m.loc["hA", "trials_to_match"] == 3 and m.loc["hA", "device_s_to_match"] == 12  # the pruned trial counts
    assert m.loc["hA", "target"] == pytest.approx(0.61) and m.loc["hA", "final_pick"] == pytest.approx(0.63)
    assert math.isnan(m.loc["hB", "trials_to_match"])
    pa = by_arch(comparison)
    assert pa.loc["hA", "tuned:principled_match_trials"] == 3 and math.isnan(
        pa.loc["hB", "tuned:principled_match_trials"]
    )
    curve = comparison.match_curves
    assert curve["score"].tolist() == pytest.approx([0.565, 0.565, 0.59])  # hB keeps its last pick
    assert curve["target"].iloc[0] == pytest.approx(0.66)
    assert math.isnan(comparison.stat("cost.to_match.trials.tuned:principled"))
    assert comparison.stat("cost.to_match.reached.tuned:principled") == 0
    assert comparison.stat("cost.to_match.architectures.tuned:principled") == 1
    assert "tuned did not match principled's mean within its 3 search trials in 1 of 1 repeats" in comparison.notes


def test_like_with_like_is_one_line_per_pair(comparison):
    lines = [n for n in comparison.notes if "differ in more than how the LR is chosen" in n]
    assert lines == [
        "principled vs tuned differ in more than how the LR is chosen: init.scheme architecture-aware vs kaiming; "
        "lr_search.trials 2 vs 3; lr_search.early_stopping none vs {scheduler=asha, grace_epochs=1}"
    ]
    pairs = comparison.pairs.set_index("key")
    assert not pairs.loc["principled:tuned", "like_with_like"] and pairs.loc["principled:fixed", "like_with_like"]
    assert differences({"init": "a", "lr_search": None}, {"init": "a", "lr_search": {"trials": 3}}) == []


def test_rankings(comparison):
    pa = by_arch(comparison)
    assert pa["principled_rank"].tolist() == [2.0, 1.0]
    assert pa["tuned_rank"].tolist() == [1.0, 2.0]
    r = comparison.rankings
    full = r[(r["a"] == "principled") & (r["b"] == "tuned") & (r["top_percent"] == 100)].iloc[0]
    assert full["kendall_tau"] == pytest.approx(-1.0) and full["n"] == 2
    assert comparison.stat("rank.kendall.principled:tuned") == pytest.approx(-1.0)


def test_the_base_search_note(comparison):
    base_note = "the base network 1 (S=27) is not among the compared architectures; its base-search (2 trials)"
    assert any(n.startswith(base_note) and "principled and fixed" in n for n in comparison.notes)


def test_a_loss_metric_ranks_lower_first():
    c = build_comparison(Inputs("hand", "completed", study_trials(), None, PLAN), "test_loss")
    pa = by_arch(c)
    assert pa.loc["hA", "principled_mean"] == pytest.approx(0.39)
    assert pa.loc["hB", "fixed_mean"] == pytest.approx((0.60 + math.log(10)) / 2)  # diverged: ln 10, a uniform guess
    assert pa["principled_rank"].tolist() == [2.0, 1.0]
    assert (pa.loc["hA", "principled:tuned_outcome"], pa.loc["hB", "principled:tuned_outcome"]) == ("loss", "win")


def test_unknown_chance_leaves_diverged_runs_out():
    c = build_comparison(Inputs("hand", "completed", study_trials(), None, plan_with(chance=None)))
    assert by_arch(c).loc["hB", "fixed_n"] == 1
    assert "the dataset's chance level is unknown: diverged final runs are left out of the means" in c.notes


def plan_with(**changes):
    from dataclasses import replace

    return replace(PLAN, **changes)


def test_two_arms_of_one_kind_both_appear():
    arms = arm_rows(
        ("principled", "principled", True, recipe()),
        ("principled-kaiming", "principled", True, recipe(init="kaiming")),
    )
    p = plan(
        ARCHS,
        arms,
        [("principled", "principled-kaiming")],
        choices=choice_rows(("principled", "hA", 0, 0.1, None), ("principled-kaiming", "hA", 0, 0.1, None)),
    )
    t = Trials(dict(zip(arms["arm"], arms["kind"], strict=True)))
    for seed in (0, 1):
        t.add("hA", "principled", "final", seed=seed, val=0.6, test=0.60 + seed / 100)
        t.add("hA", "principled-kaiming", "final", seed=seed, val=0.5, test=0.55 + seed / 50)
    c = build_comparison(Inputs("same-kind", "completed", t.frame(), None, p))
    assert c.arms == ("principled", "principled-kaiming")
    row = by_arch(c).loc["hA"]
    assert row["principled-kaiming_mean"] == pytest.approx(0.56)
    assert row["principled:principled-kaiming_diff"] == pytest.approx(0.045)
    assert "principled vs principled-kaiming differ in more than how the LR is chosen: init.scheme " in " ".join(
        c.notes
    )
    assert c.cost["arm"].tolist() == ["principled", "principled-kaiming"]
    from archscale.report.render.json import to_document
    from archscale.report.render.output import Format, render

    doc = to_document(c)
    assert [a["arm"] for a in doc["arms"]] == ["principled", "principled-kaiming"]
    assert doc["pairs"][0]["differences"] == [{"field": "init.scheme", "a": "architecture-aware", "b": "kaiming"}]
    assert doc["summary"]["accuracy.diff.principled:principled-kaiming"]["arms"] == ["principled", "principled-kaiming"]
    for fmt in Format:
        if fmt is not Format.CSV:
            assert "principled vs principled-kaiming differ in more than how the LR is chosen" in render(c, fmt)


# --- search repeats ------------------------------------------------------------------------------


def repeat_study():
    """One architecture; tuned's search ran twice (R = 2) and its finals once per repeat; principled's
    LR is given (no search), so its finals ran once."""
    archs = architectures(("hA", "2", 64, 1, SCALE_A, True, True))
    arms = arm_rows(("principled", "principled", True, recipe()), ("tuned", "tuned", True, recipe(search=BASE_SEARCH)))
    budget = BASE_SEARCH | {"init": "aa", "epochs": 4}
    p = plan(
        archs,
        arms,
        [("principled", "tuned")],
        search_rows(
            ("t0", "search", "hA", 0, ("tuned",), "architecture", budget),
            ("t1", "search", "hA", 1, ("tuned",), "architecture", budget),
        ),
        choice_rows(("principled", "hA", 0, 0.1, None), ("tuned", "hA", 0, 0.2, "t0"), ("tuned", "hA", 1, 0.05, "t1")),
        repeats=2,
    )
    t = Trials(dict(zip(arms["arm"], arms["kind"], strict=True)))
    for repeat, trials in enumerate([[(0.5, 0.50), (0.7, 0.70)], [(0.8, 0.72), (0.6, 0.60)]]):
        for number, (val, test) in enumerate(trials):
            t.add(
                "hA", "tuned", "search", seed=100, number=number, val=val, test=test, repeat=repeat, search=f"t{repeat}"
            )
    for seed in (0, 1):
        t.add("hA", "principled", "final", seed=seed, lr=0.1, val=0.65, test=0.65)
        for repeat, test in ((0, 0.60), (1, 0.70)):
            t.add("hA", "tuned", "final", seed=seed, lr=0.2, val=test, test=test + seed / 100, repeat=repeat)
    return Inputs("repeats", "completed", t.frame(), None, p)


def test_intervals_resample_search_repeats():
    c = build_comparison(repeat_study())
    row = by_arch(c).loc["hA"]
    assert row["tuned_ci_method"] == row["principled_ci_method"] == "t"
    assert (row["tuned_ci_varies"], row["principled_ci_varies"]) == ("repeat,seed", "seed")
    # principled's LR was given: it ran once, and 2 repeats are too few for its Welch interval over repeats;
    # the call falls back to the seeds: per seed, principled − the mean over repeats of tuned = 0.0, −0.01
    assert (row["principled:tuned_method"], row["principled:tuned_varies"], row["principled:tuned_n"]) == (
        "t",
        "seed",
        2,
    )
    expected = scipy_stats.t.interval(0.95, 1, loc=-0.005, scale=scipy_stats.sem([0.0, -0.01]))
    assert (row["principled:tuned_lo"], row["principled:tuned_hi"]) == pytest.approx(expected)
    repeats = c.row("accuracy.diff.repeats.principled:tuned")
    assert (repeats["method"], repeats["n"]) == (stats.NO_INTERVAL, 2)
    assert row["tuned_lr"] == pytest.approx(0.125)  # median over repeats
    assert c.repeats == 2


def test_cost_to_match_has_an_interval_over_repeats():
    c = build_comparison(repeat_study())
    assert c.match.set_index("repeat")["trials_to_match"].tolist() == [2, 1]  # target 0.65
    trials = c.row("cost.to_match.trials.tuned:principled")
    expected = scipy_stats.t.interval(0.95, 1, loc=1.5, scale=scipy_stats.sem([2, 1]))
    assert (trials["value"], trials["n"], trials["method"]) == (1.5, 2, "t")
    assert (trials["lo"], trials["hi"]) == pytest.approx(expected)
    assert c.stat("cost.to_match.device_s.tuned:principled") == pytest.approx(1.5)
    assert c.stat("cost.to_match.reached.tuned:principled") == 2
    cost = c.cost.set_index("arm")
    assert cost.loc["tuned", ["repeats", "search_trials", "final_trials"]].tolist() == [2, 2, 2]  # means over repeats


def test_labels_and_json_of_repeats():
    from archscale.report.render.display import heading
    from archscale.report.render.json import FORMAT, to_document

    c = build_comparison(repeat_study())
    assert "× 2 search repeats" in heading(c) and "search repeats, each a mean over its seeds" in heading(c)
    doc = json.loads(json.dumps(to_document(c)))
    assert doc["format"] == FORMAT == "archscale.compare/3"
    assert doc["search_repeats"] == 2 and doc["intervals"]["units"] == "search repeats"
    entry = doc["summary"]["accuracy.diff.principled:tuned"]  # the broadest level with an interval
    assert (entry["method"], entry["n"], entry["varies"], entry["fixed"]) == (
        "t",
        2,
        ["seed"],
        ["repeat", "architecture"],
    )
    assert doc["summary"]["cost.search_device_h.tuned"]["method"] is None


def test_short_labels():
    assert short_label("2_02_002", "mlp") == "2_02_002"
    long = short_label("2_02_002_0002_00002_000002_0000002", "mlp")
    assert len(long) == 20 and "…" in long
    assert short_label("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|", "nb201") == "3_01_004"


# --- probe ---------------------------------------------------------------------------------------


def probe_study(criterion="train_loss"):
    """A base (L = 3) and chains L = 4, 5, 6 whose maximal LR is exactly 0.5·(3/L)^1.5, plus a DAG."""
    chains = [("hBase", "1", 3), ("h4", "2", 4), ("h5", "2_02", 5), ("h6", "2_02_002", 6)]
    rows = [(h, n, L**3, 1, (3 / L) ** 1.5, h != "hBase", h == "hBase") for h, n, L in chains]
    archs = architectures(*rows, ("hD", "2_22", 91, 2, math.sqrt(27 / 91), True, False))
    arms = arm_rows(("probe", "probe", False, recipe(), {"criterion": criterion}))
    targets = {h: 0.5 * (3 / L) ** 1.5 for h, _, L in chains} | {"hD": 0.3}
    trials, epochs = Trials({"probe": "probe"}), []
    for h, target in targets.items():
        grid = [(target / 2, (1.0, 1.0)), (target, (0.5, 0.5)), (target * 2, (None, 0.7))]
        for number, (lr, losses) in enumerate(grid):
            for seed, loss in enumerate(losses):
                status = "diverged" if loss is None else "completed"
                trials.add(h, "probe", "probe", seed=seed, number=number, lr=lr, status=status, seconds=0.5, budget=1)
                if loss is not None:
                    trial_id = trials.rows[-1]["id"]
                    epochs.append({"trial_id": trial_id, "epoch": 1, "train_loss": 9.0, "train_loss_tail": 9.0})
                    epochs.append({"trial_id": trial_id, "epoch": 2, "train_loss": loss, "train_loss_tail": loss / 2})
    p = plan(archs, arms, [], seeds=(0, 1))
    return Inputs("probe", "completed", trials.frame(), pd.DataFrame(epochs), p), targets


def test_probe_finds_the_maximal_lr_and_the_depth_exponent():
    inputs, targets = probe_study()
    c = build_comparison(inputs)
    p = c.probe.set_index("graph_hash")
    for h, target in targets.items():
        assert p.loc[h, "probed_lr"] == pytest.approx(target)  # 2× diverged on one seed: +inf, never chosen
        assert p.loc[h, "runs"] == 6 and p.loc[h, "diverged_runs"] == 1
        # its neighbours are worse on both seeds by exactly 0.5 (zero noise), or diverged: no range
        assert (p.loc[h, "probed_lr_lo"], p.loc[h, "probed_lr_hi"]) == pytest.approx((target, target))
    assert p.loc["hBase", "is_base"] and p.loc["h4", "predicted_lr"] == pytest.approx(targets["h4"])
    assert p.loc["h4", "depth"] == 4 and math.isnan(p.loc["hD", "depth"])
    assert p.loc["h4", "best_score"] == pytest.approx(0.5)  # the last epoch's loss, not the first's
    assert p.loc["h4", "criterion"] == "train_loss"
    depth = c.row("probe.depth_exponent.probe")
    assert (depth["value"], depth["lo"], depth["hi"], depth["n"]) == pytest.approx((-1.5, -1.5, -1.5, 4))
    chains = [targets[h] for h in ("hBase", "h4", "h5", "h6")]
    predicted, probed = [*chains, 0.5 * math.sqrt(27 / 91)], [*chains, 0.3]
    r = c.row("probe.pearson_raw.probe")  # the base network included, as the paper's Fig. 5 / App. D
    assert r["value"] == pytest.approx(np.corrcoef(predicted, probed)[0, 1]) and r["n"] == 5
    assert r["expected"] == 0.838  # MLP topologies (Fig. 2): not all chains
    without = c.row("probe.pearson_raw_without_base.probe")
    assert without["value"] == pytest.approx(np.corrcoef(predicted[1:], probed[1:])[0, 1]) and without["n"] == 4
    assert "without the base network" in without["statistic"]
    assert c.stat("probe.spearman.probe") == pytest.approx(1.0)
    assert c.arms == () and c.probe_arms == ("probe",)
    assert "a probe study: no final runs to compare; see the probe section" in c.notes
    grid = c.probe_grid
    assert len(grid) == 15 and np.isinf(grid["score"]).sum() == 5


def test_a_probed_lr_comes_with_the_grid_lrs_within_seed_noise():
    from archscale.report.statistics.probe import WITHIN_NOISE, within_noise

    lrs = [0.01, 0.02, 0.04, 0.08, 0.16]
    # seed by seed: 0.04 is best; 0.02 and 0.08 differ from it by +0.02 ± noise (t over 3 seeds reaches 0);
    # 0.01 is worse on every seed by about 0.5; 0.16 diverged on one seed
    per_seed = [
        {0: 1.5, 1: 1.6, 2: 1.4},
        {0: 1.03, 1: 0.99, 2: 1.04},
        {0: 1.0, 1: 1.0, 2: 1.0},
        {0: 0.98, 1: 1.05, 2: 1.03},
        {0: 0.9, 1: math.inf, 2: 0.9},
    ]
    assert within_noise(lrs, per_seed, 0.04) == (0.02, 0.08, WITHIN_NOISE)
    clear = [  # every other point worse by 0.5 on top of the same noise
        {k: v + (0.5 if lr != 0.04 else 0.0) for k, v in scores.items()}
        for lr, scores in zip(lrs, per_seed, strict=True)
    ]
    assert within_noise(lrs, clear, 0.04) == (0.04, 0.04, WITHIN_NOISE)
    lo, _, method = within_noise(lrs, [{0: 1.0}] * 5, 0.04)  # one seed: no noise to judge by
    assert math.isnan(lo) and method == stats.NO_INTERVAL


def test_probe_criterion_train_loss_tail_uses_its_column():
    inputs, _ = probe_study("train_loss_tail")
    p = build_comparison(inputs).probe.set_index("graph_hash")
    assert p.loc["h4", "criterion"] == "train_loss_tail"
    assert p.loc["h4", "best_score"] == pytest.approx(0.25)
    no_tail = Inputs(
        inputs.study, inputs.status, inputs.trials, inputs.epochs.drop(columns="train_loss_tail"), inputs.plan
    )
    c = build_comparison(no_tail)
    assert c.probe["criterion"].eq("train_loss").all()
    assert "probe probe: criterion train_loss_tail is not in the stored epochs; train_loss is used" in c.notes


def test_probe_notes_a_maximal_lr_at_the_grid_edge():
    inputs, _ = probe_study()
    trials = inputs.trials[~((inputs.trials["graph_hash"] == "h6") & (inputs.trials["trial_number"] == 2))]
    c = build_comparison(Inputs("probe", "completed", trials, inputs.epochs, inputs.plan))
    assert any(n.startswith("probe probe: the probed LR is the grid's high end for 2_02_002") for n in c.notes)


# --- robustness: odd and partial studies render in every format ---------------------------------


def _variants():
    trials = study_trials()
    tuned_arms = ARMS[ARMS["arm"] == "tuned"]
    tuned_only = plan_with(arms=tuned_arms, pairs=(), searches=PLAN.searches.iloc[1:])
    given_arms = arm_rows(("fixed", "fixed", True, recipe()), ("principled", "principled", True, recipe()))
    given = plan_with(arms=given_arms, pairs=(("principled", "fixed"),), searches=search_rows(), choices=choice_rows())
    empty = trials.iloc[0:0].drop(columns=["hp_lr"])  # read_trials of a study without trials has no hp_* columns
    final = trials[trials["phase"] == "final"]
    return {
        "tuned only": Inputs("v", "completed", trials[trials["arm"] == "tuned"], None, tuned_only),
        "given LRs": Inputs("v", "completed", final[final["arm"] != "tuned"], None, given),
        "empty": Inputs("v", "running", empty, None, PLAN),
        "probe": probe_study()[0],
    }


@pytest.mark.parametrize("name", list(_variants()))
def test_odd_studies_render_in_every_format(name):
    from archscale.report.render.html import render_html
    from archscale.report.render.output import Format, render

    c = build_comparison(_variants()[name])
    for fmt in Format:
        text = render_html(c, {}) if fmt is Format.HTML else render(c, fmt)
        assert isinstance(text, str) and text
    json.loads(render(c, Format.JSON))
    if name == "given LRs":
        pa = by_arch(c)
        assert pa.loc["hA", "principled_lr"] == pytest.approx(0.1 * SCALE_A)  # from its final runs
        assert (c.cost.set_index("arm")["search_trials"] == 0).all()
        assert c.cost.set_index("arm").loc["fixed", "note"] == "LR not searched"
        assert c.match.empty and c.searches.empty
    if name == "empty":
        assert "2 of 2 listed architectures have no trials yet" in c.notes and c.per_architecture.empty
    if name == "tuned only":
        assert c.arms == ("tuned",) and c.summary["key"].str.startswith("accuracy.diff.").sum() == 0


def test_the_pictures_of_odd_studies():
    from archscale.report.render.plots import figures

    drawn = {name: set(figures(build_comparison(inputs))) for name, inputs in _variants().items()}
    assert drawn["empty"] == set()
    assert drawn["probe"] == {"probe", "probe_depth"}
    assert drawn["given LRs"] == {"accuracy", "search_cost", "rank_shift"}
    assert drawn["tuned only"] == {"accuracy", "search_cost"}


def test_the_pictures_of_the_hand_made_study(comparison):
    from archscale.report.render.plots import figures

    assert set(figures(comparison)) == {"learning_rates", "accuracy", "search_cost", "cost_to_match", "rank_shift"}


def test_a_study_that_ignored_unsupported_ops_says_so_in_every_report():
    from archscale.report.frames.read import _model_facts

    assert _model_facts("model: {family: mlp, activation: gelu}") == ("gelu", ())
    activation, caveats = _model_facts("model: {family: torch, factory: 'm:f', unsupported: ignore}")
    assert activation == "relu" and len(caveats) == 1 and "depth-neutral" in caveats[0]
    c = build_comparison(replace(Inputs("hand", "completed", study_trials(), None, PLAN), caveats=caveats))
    assert c.notes[0] == caveats[0]
