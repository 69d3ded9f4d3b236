"""Plans of the search and final phases: which trials each strategy asks for, with which LR."""

import pytest

from archscale.store.enums import Phase, Strategy
from archscale.strategies import ChosenLrs, StudyContext, final_plan, search_plan
from archscale.strategies.plan import probe_grid
from archscale.study.architectures import expand_architectures
from archscale.study.load import parse_study

YAML = """\
name: p
dataset: {name: mnist1d}
architectures: ["2_02", "2_22_222"]
seeds: [3, 4]
strategies:
  fixed: {lr: base}
  principled: {base_lr: {search: {trials: 5}}}
  tuned: {trials: 4}
"""


def context(text: str = YAML) -> StudyContext:
    spec = parse_study(text, "p.yaml", []).spec
    archs, _ = expand_architectures(spec.architectures, spec.model)
    return StudyContext.build("p", spec, archs)


def test_search_phase_has_base_search_and_one_search_per_architecture():
    ctx = context()
    plan = search_plan(ctx)
    assert [(s.strategy, s.phase, s.spec.trials, s.seed) for s in plan.searches] == [
        (Strategy.PRINCIPLED, Phase.BASE_SEARCH, 5, 3),
        (Strategy.TUNED, Phase.SEARCH, 4, 3),
        (Strategy.TUNED, Phase.SEARCH, 4, 3),
    ]
    assert plan.searches[0].arch_key == ctx.base_key and not ctx.archs[ctx.base_key].listed
    assert plan.searches[0].init["init"] == "architecture-aware"
    assert plan.units == []


def test_final_phase_uses_each_strategy_lr():
    ctx = context()
    keys = [info.key for info in ctx.study_archs()]
    plan = final_plan(ctx, ChosenLrs(base_lr=0.2, tuned={keys[0]: 0.05}))
    by = {(u.arch_key, u.strategy, u.seed): u for u in plan.units}
    assert len(plan.units) == 2 * 2 + 2 * 2 + 1 * 2  # the second architecture has no tuned LR yet
    assert by[(keys[0], Strategy.FIXED, 3)].lr == 0.2
    assert by[(keys[1], Strategy.PRINCIPLED, 4)].lr == pytest.approx(0.2 * 0.225706, rel=1e-5)
    assert by[(keys[0], Strategy.TUNED, 4)].lr == 0.05
    assert by[(keys[0], Strategy.FIXED, 3)].init == {"init": "kaiming"}
    assert all(u.phase is Phase.FINAL and u.trial_number == 0 for u in plan.units)


def test_given_base_lr_needs_no_base_search():
    ctx = context(YAML.replace("{lr: base}", "{lr: 0.1}").replace("{search: {trials: 5}}", "0.46"))
    assert ctx.base_key is None
    assert all(s.phase is Phase.SEARCH for s in search_plan(ctx).searches)
    first = ctx.study_archs()[0].key
    lrs = {(u.strategy, u.arch_key): u.lr for u in final_plan(ctx, ChosenLrs()).units}
    assert lrs[(Strategy.FIXED, first)] == 0.1
    assert lrs[(Strategy.PRINCIPLED, first)] == pytest.approx(0.46 * 0.464758, rel=1e-5)


def test_probe_grid_covers_every_architecture_and_the_base():
    ctx = context(YAML.replace("  fixed: {lr: base}\n  principled: {base_lr: {search: {trials: 5}}}\n  tuned: "
                               "{trials: 4}\n", "  probe: {points: 3, low: 0.01, high: 1.0}\n"))
    plan = search_plan(ctx)
    assert len(plan.units) == 3 * 3 * 2  # (2 listed + base) × 3 LRs × 2 seeds
    assert probe_grid(0.01, 1.0, 3) == pytest.approx([0.01, 0.1, 1.0])
    assert final_plan(ctx, ChosenLrs()).units == []
