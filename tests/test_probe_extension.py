"""The max-LR probe's grid extension and probe-derived base LRs (issue 25, items 4 and 5).

The scoring rule and the extension (`strategies.grid`) are tested directly; one tiny study on digits
runs for real on embedded Ray: a probe whose grid is too low extends it until the argmin is inside,
a capped probe ends censored at its edge, a `principled` arm trains its final runs at the probed base
LR × scale (checked against the stored rows with plain SQL), and a re-run plans nothing new."""

import math
import sqlite3

import pytest
from rich.console import Console

from archscale.errors import UserError
from archscale.execution.passes import PassPlan, pass_plan, stored_runs
from archscale.execution.study_run import _run_study_trials, run_study
from archscale.execution.study_setup import check, set_up
from archscale.store import finished_keys
from archscale.strategies.grid import (
    EXTEND_BLOCK,
    GridPoint,
    Probed,
    extended_grid,
    grid_lr,
    point_score,
    probed_max_lr,
    run_score,
)
from archscale.study.load import parse_study
from archscale.vocabulary import StudyStatus

INF, NAN = math.inf, math.nan


# --- the scoring rule ------------------------------------------------------------------------------
def test_a_run_scores_its_loss_inf_when_diverged_nan_without_epochs():
    assert run_score(False, 1.5) == 1.5
    assert run_score(True, 1.5) == INF
    assert run_score(False, NAN) == INF
    assert math.isnan(run_score(False, None))


def test_a_point_scores_the_seed_mean_inf_when_a_seed_diverged():
    assert point_score([1.0, 2.0]) == 1.5
    assert point_score([1.0, NAN]) == 1.0
    assert point_score([1.0, INF]) == INF
    assert math.isnan(point_score([NAN]))


def test_the_probed_lr_is_the_largest_of_the_lowest_with_its_index_and_edge():
    inside = probed_max_lr([(0.1, [2.0]), (0.2, [1.0]), (0.4, [1.0]), (0.8, [INF])])
    assert (inside.lr, inside.index, inside.edge) == (0.4, 2, "")
    assert probed_max_lr([(0.2, [1.0]), (0.1, [2.0])]).edge == "high"  # edges by LR, in any order
    assert probed_max_lr([(0.1, [0.5, 0.7]), (0.2, [1.0, 1.0])]).edge == "low"
    nothing = probed_max_lr([(0.1, [INF]), (0.2, [NAN])])
    assert math.isnan(nothing.lr) and nothing.index is None and nothing.edge == ""


# --- extension at the edges ------------------------------------------------------------------------
def grid_of(best: float, extend: int) -> tuple[list[GridPoint], Probed | None]:
    """The grid from 1e-3 to 1e-2 (3 points, √10 apart) of a criterion with its minimum at LR `best`,
    every point finished at once."""

    def scores(point: GridPoint) -> list[float]:
        return [abs(math.log(grid_lr(1e-3, 1e-2, 3, point.position) / best))] * 2

    return extended_grid(1e-3, 1e-2, 3, extend, scores)


def test_a_grid_too_low_is_extended_in_blocks_until_the_argmin_is_inside():
    grid, probed = grid_of(best=0.3, extend=8)  # 1e-3, 3.2e-3, 1e-2, then 0.032, 0.1, 0.32, 1 (√10 apart)
    assert [p.position for p in grid] == list(range(3 + EXTEND_BLOCK))
    assert [p.number for p in grid] == list(range(3 + EXTEND_BLOCK))
    assert probed == Probed(pytest.approx(grid_lr(1e-3, 1e-2, 3, 5)), 3 + EXTEND_BLOCK, "")
    assert not probed.censored


def test_a_grid_extended_to_its_limit_is_censored():
    grid, probed = grid_of(best=100.0, extend=6)  # 4 points, then the last 2 allowed
    assert [p.position for p in grid] == list(range(3 + 6))
    assert probed is not None and probed.censored and probed.edge == "high"
    assert probed.lr == pytest.approx(grid_lr(1e-3, 1e-2, 3, 8))
    _, never = grid_of(best=100.0, extend=0)
    assert never is not None and never.edge == "high" and never.points == 3


def test_a_grid_too_high_is_extended_below_with_numbers_after_the_grid():
    grid, probed = grid_of(best=1e-4, extend=8)
    assert grid[3:] == [GridPoint(3, -1), GridPoint(4, -2), GridPoint(5, -3), GridPoint(6, -4)]
    assert probed is not None and probed.edge == "" and probed.lr == pytest.approx(grid_lr(1e-3, 1e-2, 3, -2))


def test_nothing_is_decided_while_a_point_has_not_finished():
    grid, probed = extended_grid(1e-3, 1e-2, 3, 8, lambda p: None if p.number == 1 else [1.0 / (p.number + 1)])
    assert [p.number for p in grid] == [0, 1, 2] and probed is None


def test_passes_end_when_a_probe_scored_no_point():
    def plan() -> PassPlan:
        return PassPlan([], {("probe", "h"): Probed(float("nan"), 3)})

    assert plan().same(plan()) and not plan().same(None)


# --- settings --------------------------------------------------------------------------------------
STUDY = """\
name: probe-ext
dataset: {name: digits}
model: {family: mlp, width: 16}
architectures: ["2_02", "2_22"]
training: {epochs: 1, batch_size: 64}
seeds: [0, 1]
strategies:
  probe: {low: 0.001, high: 0.01, points: 3, seeds: [5, 6]}
  capped: {kind: probe, low: 0.0001, high: 0.001, points: 2, extend: 2, networks: base}
  principled: {base_lr: {probe: probe}}
"""


def context(yaml: str = STUDY):
    loaded = parse_study(yaml, "probe-ext.yaml", [])
    return loaded, check("probe-ext", loaded, Console(quiet=True))


def test_a_probe_of_the_base_alone_plans_only_the_base_network():
    _, ctx = context()
    units = pass_plan(ctx, {}).units
    capped = {u.key.arch_key for u in units if u.key.arm == "capped"}
    assert capped == {i.key for i in ctx.bases()} and len(capped) == 1
    assert len({u.key.arch_key for u in units if u.key.arm == "probe"}) == 3  # two listed and the base


@pytest.mark.parametrize(
    ("arm", "message"),
    [
        ("{base_lr: {probe: nope}}", "'nope' is not a probe arm of this study (probe arms: probe, capped)"),
        ("{base_lr: {probe: probe}, base: '2_02'}", "arm probe probes the base network"),
    ],
)
def test_a_base_lr_from_a_probe_needs_a_probe_of_the_same_base(arm, message):
    with pytest.raises(UserError, match=r"strategies\.principled\.base_lr\.probe: ") as raised:
        context(STUDY.replace("{base_lr: {probe: probe}}", arm))
    assert message in str(raised.value)


# --- a real study ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    db = tmp_path_factory.mktemp("probe-ext") / "results.db"
    loaded, _ = context()
    result = run_study(loaded, f"sqlite:///{db}", "local", console=Console(quiet=True))
    return result, db


def rows(db, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as connection:
        return connection.execute(sql).fetchall()


def grids(db) -> dict[tuple[str, str], dict[float, list[float]]]:
    """(arm, notation) → LR → the seeds' last-epoch training losses (inf when diverged), from plain SQL."""
    found: dict[tuple[str, str], dict[float, list[float]]] = {}
    sql = """
        select t.arm, a.notation, json_extract(t.hyperparameters, '$.lr'), t.status, e.train_loss
        from archscale_trial t join archscale_architecture a on a.id = t.architecture_id
        left join archscale_epoch e on e.trial_id = t.id
          and e.epoch = (select max(epoch) from archscale_epoch where trial_id = t.id)
        where t.phase = 'probe'"""
    for arm, notation, lr, status, loss in rows(db, sql):
        score = INF if status == "diverged" or loss is None or not math.isfinite(loss) else loss
        found.setdefault((arm, notation), {}).setdefault(lr, []).append(score)
    return found


def argmin(points: dict[float, list[float]]) -> float:
    means = {lr: sum(s) / len(s) for lr, s in points.items() if all(math.isfinite(x) for x in s)}
    best = min(means.values())
    return max(lr for lr, m in means.items() if m == best)


@pytest.mark.slow
def test_a_grid_too_low_extends_until_inside_and_a_capped_one_is_censored(finished):
    result, db = finished
    assert result.status is StudyStatus.COMPLETED
    probed = grids(db)
    for notation in ("1", "2_02", "2_22"):
        points = probed[("probe", notation)]
        assert len(points) > 3 and (len(points) - 3) % EXTEND_BLOCK == 0  # extended in blocks
        assert min(points) < argmin(points) < max(points)
    capped = probed[("capped", "1")]
    assert sorted(capped) == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1])  # 2 points, then the 2 allowed
    assert argmin(capped) == max(capped)
    from archscale.report.frames.read import read_inputs
    from archscale.report.statistics.probe import probe_frames

    frame, _, _ = probe_frames(read_inputs("probe-ext", f"sqlite:///{db}"))
    assert frame.set_index(["arm", "label"])["censored"].to_dict() == {
        ("probe", "1"): False,
        ("probe", "2_02"): False,
        ("probe", "2_22"): False,
        ("capped", "1"): True,
    }


@pytest.mark.slow
def test_principled_finals_train_at_the_probed_base_lr_times_the_scale(finished):
    _, db = finished
    base_lr = argmin(grids(db)[("probe", "1")])
    finals = rows(
        db,
        """select a.notation, json_extract(t.hyperparameters, '$.lr'), p.principled_scale, c.lr, c.source
        from archscale_trial t join archscale_architecture a on a.id = t.architecture_id
        join archscale_study_architecture p on p.architecture_id = t.architecture_id and p.study_id = t.study_id
        join archscale_choice c on c.architecture_id = t.architecture_id and c.arm = t.arm
        where t.phase = 'final' and t.arm = 'principled' and t.status = 'completed'""",
    )
    assert sorted(n for n, *_ in finals) == ["2_02", "2_02", "2_22", "2_22"]
    for _, lr, scale, chosen, source in finals:
        assert lr == pytest.approx(base_lr * scale) and chosen == pytest.approx(lr)
        assert source.startswith(f"base LR {base_lr:.4g} probed by arm probe (argmin of ")


@pytest.mark.slow
def test_a_finished_study_run_again_plans_nothing_new(finished):
    _, db = finished
    url, trials = f"sqlite:///{db}", rows(db, "select count(*) from archscale_trial")
    loaded, ctx = context()
    ready = set_up(ctx, loaded, url, resume=False, upgrade_db=False, console=Console(quiet=True))
    try:
        ran, expected = _run_study_trials(ready, {"CPU": 1.0}, url)  # trains nothing, so needs no Ray
    finally:
        ready.writer.close()
    assert ran == 0 and expected is not None and expected <= finished_keys(url, "probe-ext")
    assert rows(db, "select count(*) from archscale_trial") == trials
    assert len(expected) == trials[0][0]  # every pass's trials, finals included


@pytest.mark.slow
def test_an_interrupted_study_re_derives_its_extensions_from_the_stored_rows(finished):
    _, db = finished
    url = f"sqlite:///{db}"
    _, ctx = context()
    runs = stored_runs(url, "probe-ext")
    complete = pass_plan(ctx, runs)
    interrupted = pass_plan(ctx, {k: r for k, r in runs.items() if not (k.arm == "probe" and k.trial_number >= 5)})
    first_block = {k for k in complete.keys if not (k.arm == "probe" and k.trial_number >= 3 + EXTEND_BLOCK)}
    assert interrupted.keys == first_block  # the same first extension, its last points to run again
    assert {arm for arm, _ in interrupted.probed} == {"capped"}  # the probe is not settled again yet
    base = next(i.key for i in ctx.bases())
    assert complete.probed[("probe", base)].lr == argmin(grids(db)[("probe", "1")])


def test_a_probe_that_sets_a_base_lr_never_trains_with_a_final_seed():
    with pytest.raises(UserError, match=r"strategies\.principled\.base_lr\.probe: ") as raised:
        context(STUDY.replace("seeds: [5, 6]", "seeds: [1, 7]"))
    assert "final-run seeds [1]" in str(raised.value) and "own `seeds:`" in str(raised.value)
