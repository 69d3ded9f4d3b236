"""The `mup` strategy kind (paper App. E.3): listed, parsed in both YAML forms, its final runs carry μP's
model options and init, `lr: base` searches the base network under μP, and a non-μP init is refused."""

import pytest

from archscale.errors import UserError
from archscale.strategies import Found, StudyContext, arm_rows, final_plan, list_strategies, search_plan, study_context
from archscale.study.architectures import expand_architectures
from archscale.study.load import parse_study
from archscale.vocabulary import Phase

YAML = """\
name: m
dataset: {name: digits}
model: {family: nb201, width: 8, cells: 1}
architectures: ["|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"]
seeds: [3, 4]
search: {trials: 2}
strategies:
"""


def context(arms: str) -> StudyContext:
    spec = parse_study(YAML + arms, "m.yaml", []).spec
    archs, _ = expand_architectures(spec.architectures, spec.model)
    return study_context("m", spec, archs)


def test_the_kind_is_listed():
    assert "mup" in list_strategies()


def test_shorthand_arm_has_the_papers_defaults():
    ctx = context("  mup: {}\n")
    arm = ctx.spec.strategies["mup"]
    assert (arm.kind, arm.lr, arm.base_width, arm.init) == ("mup", 0.1, None, "mup")
    assert search_plan(ctx).searches == []
    finals, choices = final_plan(ctx, [Found()])
    assert len(finals.units) == 2 and {u.key.seed for u in finals.units} == {3, 4}
    for unit in finals.units:
        assert (unit.kind, unit.lr) == ("mup", 0.1)
        assert dict(unit.model) == {"parametrization": "mup", "mup_base_width": None}
        assert unit.init["init"] == "mup"
    assert choices[0].choice.search is None and "0.1" in choices[0].choice.source
    [row] = arm_rows(ctx, [])
    assert row["label"] == "μP" and row["recipe"]["model"]["parametrization"] == "mup"


def test_named_arm_with_its_own_lr_and_base_width():
    ctx = context("  mup-05: {kind: mup, lr: 0.05, base_width: 4}\n  principled: {base_lr: 0.46}\n")
    finals, _ = final_plan(ctx, [Found()])
    mup = [u for u in finals.units if u.key.arm == "mup-05"]
    assert {u.lr for u in mup} == {0.05}
    assert all(dict(u.model) == {"parametrization": "mup", "mup_base_width": 4} for u in mup)
    assert all(dict(u.model) == {} for u in finals.units if u.key.arm == "principled")
    assert {r["arm"]: r["label"] for r in arm_rows(ctx, [])} == {"mup-05": "mup-05", "principled": "principled"}


def test_lr_base_searches_the_base_network_under_mup():
    ctx = context("  mup: {lr: base, search: {trials: 3}}\n  fixed: {lr: base}\n")
    searches = search_plan(ctx).searches
    by_arm = {s.arms: s for s in searches}
    mine, fixed = by_arm[("mup",)], by_arm[("fixed",)]
    assert mine.phase is Phase.BASE_SEARCH and mine.arch_key == fixed.arch_key and mine.spec.trials == 3
    assert dict(mine.need.model) == {"parametrization": "mup", "mup_base_width": None}
    assert mine.need.init["init"] == "mup" and mine.name == "m/base-search-mup/1_01_001"
    finals, choices = final_plan(ctx, [Found({mine.need.identity: (0.3, mine.name)})])
    assert {u.lr for u in finals.units if u.key.arm == "mup"} == {0.3}
    assert [c.choice.search for c in choices if c.arm == "mup"] == [mine.name]


@pytest.mark.parametrize(
    ("arms", "message"),
    [
        ("  mup: {init: kaiming}\n", "strategies.mup.init: a μP arm's models are drawn with init mup"),
        ("  mup: {lr: 0}\n", "strategies.mup.lr"),
        ("  mup: {base_width: 0}\n", "strategies.mup.base_width"),
        ("  mup: {width: 3}\n", "strategies.mup.width: unknown field"),
    ],
)
def test_bad_settings_name_the_field(arms, message):
    with pytest.raises(UserError, match=message):
        context(arms)
