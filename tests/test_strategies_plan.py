"""Plans of the search and final phases: which trials each arm asks for, with which LR and seed;
shared searches; search repeats; and a new strategy kind added as one class in a test."""

import pytest

from archscale.settings import ArmSettings, PositiveFloat
from archscale.strategies import (
    Choice,
    Found,
    Strategy,
    StudyContext,
    arm_rows,
    default_pairs,
    final_plan,
    list_strategies,
    register_strategy,
    search_plan,
    study_context,
)
from archscale.strategies.probe import probe_grid
from archscale.study.architectures import expand_architectures
from archscale.study.load import parse_study
from archscale.vocabulary import Phase

YAML = """\
name: p
dataset: {name: mnist1d}
architectures: ["2_02", "2_22_222"]
seeds: [3, 4]
search: {trials: 5}
strategies:
  fixed: {lr: base}
  principled: {}
  tuned: {trials: 4}
"""


def context(text: str = YAML) -> StudyContext:
    spec = parse_study(text, "p.yaml", []).spec
    archs, _ = expand_architectures(spec.architectures, spec.model)
    return study_context("p", spec, archs)


def found_all(ctx: StudyContext, lr: float = 0.2) -> list[Found]:
    plan = search_plan(ctx)
    return [
        Found({s.need.identity: (lr, s.name) for s in plan.searches if s.repeat == r})
        for r in range(ctx.spec.search_repeats)
    ]


def test_base_search_is_shared_by_arms_with_the_same_init_and_charged_to_both():
    ctx = context()
    plan = search_plan(ctx)
    base = [s for s in plan.searches if s.phase is Phase.BASE_SEARCH]
    assert len(base) == 1 and base[0].arms == ("fixed", "principled") and base[0].scope == "study"
    assert base[0].name == "p/base-search/1" and base[0].spec.trials == 5
    assert not ctx.archs[base[0].arch_key].listed and ctx.archs[base[0].arch_key].is_base
    tuned = [s for s in plan.searches if s.phase is Phase.SEARCH]
    assert [s.name for s in tuned] == ["p/tuned/2_02", "p/tuned/2_22_222"] and all(s.spec.trials == 4 for s in tuned)
    assert all(s.need.init["init"] == "architecture-aware" for s in plan.searches)  # like with like by default
    assert plan.units == []


def test_search_seeds_are_disjoint_from_final_seeds():
    ctx = context()
    plan = search_plan(ctx)
    finals, _ = final_plan(ctx, found_all(ctx))
    assert {s.seed for s in plan.searches} == {10_000}
    assert {u.key.seed for u in finals.units} == {3, 4}
    with pytest.raises(Exception, match="also final-run seeds"):
        context(YAML + "search_seeds: [4]\n")


def test_final_phase_uses_each_arms_lr():
    ctx = context()
    keys = [info.key for info in ctx.study_archs()]
    finals, choices = final_plan(ctx, found_all(ctx, 0.2))
    by = {(u.key.arch_key, u.key.arm, u.key.seed): u for u in finals.units}
    assert len(finals.units) == 3 * 2 * 2
    assert by[(keys[0], "fixed", 3)].lr == 0.2
    assert by[(keys[1], "principled", 4)].lr == pytest.approx(0.2 * 0.225706, rel=1e-5)
    assert by[(keys[0], "tuned", 4)].lr == 0.2 and by[(keys[0], "tuned", 4)].kind == "tuned"
    assert all(u.key.phase is Phase.FINAL and u.key.trial_number == 0 and u.key.repeat == 0 for u in finals.units)
    sources = {(c.arm, c.arch_key): c.choice for c in choices}
    assert sources[("tuned", keys[0])].search == "p/tuned/2_02"
    assert sources[("principled", keys[1])].source.startswith("base LR 0.2 × scale 0.2257")


def test_missing_search_result_leaves_the_arm_out():
    ctx = context()
    keys = [info.key for info in ctx.study_archs()]
    tuned_only = [s for s in search_plan(ctx).searches if s.arch_key == keys[0] and s.phase is Phase.SEARCH]
    finals, _ = final_plan(ctx, [Found({tuned_only[0].need.identity: (0.05, tuned_only[0].name)})])
    assert {(u.key.arm, u.key.arch_key) for u in finals.units} == {("tuned", keys[0])}


def test_two_arms_of_one_kind_with_different_inits_get_their_own_base_search():
    ctx = context(YAML + "  principled-kaiming: {kind: principled, init: kaiming}\n")
    base = [s for s in search_plan(ctx).searches if s.phase is Phase.BASE_SEARCH]
    assert [(s.name, s.arms) for s in base] == [
        ("p/base-search/1", ("fixed", "principled")),
        ("p/base-search-kaiming/1", ("principled-kaiming",)),
    ]
    finals, _ = final_plan(ctx, found_all(ctx))
    inits = {u.key.arm: u.init["init"] for u in finals.units}
    assert inits == {
        "fixed": "architecture-aware",
        "principled": "architecture-aware",
        "tuned": "architecture-aware",
        "principled-kaiming": "kaiming",
    }
    assert default_pairs(ctx) == [
        ("principled", "fixed"),
        ("principled", "tuned"),
        ("principled", "principled-kaiming"),
    ]


def test_given_base_lr_needs_no_base_search():
    ctx = context(YAML.replace("{lr: base}", "{lr: 0.1}").replace("principled: {}", "principled: {base_lr: 0.46}"))
    assert all(s.phase is Phase.SEARCH for s in search_plan(ctx).searches)
    first = ctx.study_archs()[0].key
    finals, _ = final_plan(ctx, [Found()])
    lrs = {(u.key.arm, u.key.arch_key): u.lr for u in finals.units}
    assert lrs[("fixed", first)] == 0.1
    assert lrs[("principled", first)] == pytest.approx(0.46 * 0.464758, rel=1e-5)


def test_search_repeats_repeat_every_search_with_their_own_seed_and_finals():
    ctx = context(YAML + "search_repeats: 2\n")
    plan = search_plan(ctx)
    assert len(plan.searches) == 2 * 3
    assert {(s.repeat, s.seed) for s in plan.searches} == {(0, 10_000), (1, 10_001)}
    assert {s.name for s in plan.searches if s.repeat == 1} == {
        "p/base-search/1/r1",
        "p/tuned/2_02/r1",
        "p/tuned/2_22_222/r1",
    }
    finals, choices = final_plan(ctx, found_all(ctx))
    assert len(finals.units) == 2 * (3 * 2 * 2) and {c.repeat for c in choices} == {0, 1}
    assert len({u.key for u in finals.units}) == len(finals.units)


def test_probe_grid_covers_every_architecture_and_the_base_with_its_own_recipe():
    ctx = context(
        YAML.replace(
            "  fixed: {lr: base}\n  principled: {}\n  tuned: {trials: 4}\n",
            "  probe: {points: 3, low: 0.01, high: 1.0, epochs: 2}\n",
        )
    )
    plan = search_plan(ctx)
    assert len(plan.units) == 3 * 3 * 2  # (2 listed + base) × 3 LRs × 2 seeds
    assert probe_grid(0.01, 1.0, 3) == pytest.approx([0.01, 0.1, 1.0])
    assert {(u.recipe["epochs"], u.recipe["momentum"], u.recipe["schedule"]) for u in plan.units} == {
        (2, 0.0, "constant")
    }
    assert final_plan(ctx, [Found()])[0].units == []
    assert arm_rows(ctx, plan.searches)[0]["final"] is False


class HalvedSettings(ArmSettings):
    """A toy kind: half of a given LR."""

    lr: PositiveFloat = 0.2


@register_strategy("toy-halved")
class Halved(Strategy):
    settings = HalvedSettings

    def final_lr(self, name, arm, ctx, info, found):
        return Choice(arm.lr / 2, None, "half the given LR")


def test_a_new_kind_is_one_class_and_works_in_a_study():
    assert "toy-halved" in list_strategies()
    ctx = context(YAML + "  half: {kind: toy-halved, lr: 0.3}\n")
    finals, _ = final_plan(ctx, found_all(ctx))
    assert {u.lr for u in finals.units if u.key.arm == "half"} == {0.15}
    assert {u.kind for u in finals.units if u.key.arm == "half"} == {"toy-halved"}
    rows = {r["arm"]: r for r in arm_rows(ctx, search_plan(ctx).searches)}
    assert rows["half"]["kind"] == "toy-halved" and rows["half"]["recipe"]["lr_search"] is None


def test_a_given_lr_runs_once_however_many_search_repeats():
    ctx = context(YAML.replace("{lr: base}", "{lr: 0.1}") + "search_repeats: 3\n")
    finals, _ = final_plan(ctx, found_all(ctx))
    repeats = {
        arm: sorted({u.key.repeat for u in finals.units if u.key.arm == arm})
        for arm in ("fixed", "principled", "tuned")
    }
    assert repeats == {"fixed": [0], "principled": [0, 1, 2], "tuned": [0, 1, 2]}


def test_fixed_defaults_to_the_benchmarks_training_in_nas_bench_201_studies():
    nb201 = YAML.replace('architectures: ["2_02", "2_22_222"]', 'model: {family: nb201}\narchitectures: ["3_33_133"]')
    ctx = context(nb201.replace("fixed: {lr: base}", "fixed: {}"))
    assert not [s for s in search_plan(ctx).searches if "fixed" in s.arms]
    finals, _ = final_plan(ctx, found_all(ctx))
    fixed = [u for u in finals.units if u.key.arm == "fixed"]
    assert {u.lr for u in fixed} == {0.1} and {u.init["init"] for u in fixed} == {"pytorch-default"}
    recipes = {(u.recipe["nesterov"], u.recipe["weight_decay"], u.recipe["schedule"]) for u in fixed}
    assert recipes == {(True, 5e-4, "cosine")}
    assert {u.init["init"] for u in finals.units if u.key.arm == "principled"} == {"architecture-aware"}
    mlp = context(YAML.replace("fixed: {lr: base}", "fixed: {}"))  # elsewhere: the study's training, lr base
    assert [s.arms for s in search_plan(mlp).searches if s.phase is Phase.BASE_SEARCH] == [("fixed", "principled")]
