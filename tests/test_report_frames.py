"""The comparison frames on hand-made store frames where every number is known."""

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from archscale.report import build_comparison
from archscale.report.frames import Inputs, short_label
from archscale.report.planned import Planned, read_plan

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SCALE_A, SCALE_B = math.sqrt(27 / 64), math.sqrt(27 / 125)


def architectures(*rows):
    """rows: (hash, notation, S, paths, scale)"""
    return pd.DataFrame(
        [
            {
                "id": i + 1,
                "graph_hash": h,
                "notation": n,
                "family": "mlp",
                "kernel_size": pd.NA,
                "n_params": 1000 * (i + 1),
                "paths": float(p),
                "depth_cubed_sum": float(s),
                "principled_scale": float(k),
            }
            for i, (h, n, s, p, k) in enumerate(rows)
        ]
    ).astype({"kernel_size": "Int64"})


class Trials:
    """Builds a trials frame like `read_trials` (the columns the report reads)."""

    def __init__(self):
        self.rows = []

    def add(
        self,
        arch,
        strategy,
        phase,
        seed=0,
        number=0,
        lr=0.1,
        status="completed",
        val=math.nan,
        test=math.nan,
        seconds=1.0,
        budget=4,
    ):
        self.rows.append(
            {
                "id": len(self.rows) + 1,
                "graph_hash": arch,
                "architecture": arch,
                "family": "mlp",
                "strategy": strategy,
                "phase": phase,
                "seed": seed,
                "trial_number": number,
                "status": status,
                "budget_reached": budget,
                "selected_epoch": budget,
                "val_accuracy": val,
                "test_accuracy": test,
                "val_loss": 1 - val,
                "test_loss": 1 - test,
                "device_seconds": seconds,
                "finished_at": T0 + timedelta(seconds=len(self.rows)),
                "hp_lr": lr,
            }
        )
        return self

    def frame(self):
        return pd.DataFrame(self.rows).astype({"budget_reached": "Int64", "selected_epoch": "Int64"})


PLAN = Planned(
    strategies=("fixed", "principled", "tuned"),
    seeds=(0, 1),
    fixed_lr="base",
    base_search_owner="principled",
    listed=("hA", "hB"),
    base_hash="hBase",
    epochs=4,
)
ARCHS = architectures(("hBase", "1", 27, 1, 1.0), ("hA", "2", 64, 1, SCALE_A), ("hB", "2_22", 125, 2, SCALE_B))


def study_trials(tuned_final=True):
    t = Trials()
    # base-LR search on the base network: LR 0.1 wins; 20 s, 8 epochs in all
    t.add("hBase", "principled", "base-search", number=0, lr=0.1, val=0.6, seconds=10)
    t.add("hBase", "principled", "base-search", number=1, lr=0.3, val=0.5, seconds=10)
    # tuned search on hA: 0.55, then a pruned trial, then 0.65 (beats principled's validation 0.60 at 12 s)
    t.add("hA", "tuned", "search", number=0, lr=0.05, val=0.55, seconds=5)
    t.add("hA", "tuned", "search", number=1, lr=0.08, status="pruned", val=0.3, seconds=2, budget=1)
    t.add("hA", "tuned", "search", number=2, lr=0.02, val=0.65, seconds=5)
    # tuned search on hB: never reaches principled's 0.70
    t.add("hB", "tuned", "search", number=0, lr=0.04, val=0.5, seconds=6)
    t.add("hB", "tuned", "search", number=1, lr=0.9, status="diverged", seconds=1, budget=0)
    finals = {
        ("hA", "principled", 0.1 * SCALE_A): [(0.59, 0.60), (0.61, 0.62)],
        ("hA", "tuned", 0.02): [(0.6, 0.64), (0.6, 0.66)],
        ("hA", "fixed", 0.1): [(0.5, 0.50), (0.5, 0.52)],
        ("hB", "principled", 0.1 * SCALE_B): [(0.7, 0.70), (0.7, 0.72)],
        ("hB", "tuned", 0.04): [(0.6, 0.60), (0.6, 0.62)],
        ("hB", "fixed", 0.1): [(0.4, 0.40), None],
    }
    for (arch, strategy, lr), runs in finals.items():
        if strategy == "tuned" and not tuned_final:
            continue
        for seed, run in enumerate(runs):
            if run is None:
                t.add(arch, strategy, "final", seed=seed, lr=lr, status="diverged", seconds=3, budget=1)
            else:
                t.add(arch, strategy, "final", seed=seed, lr=lr, val=run[0], test=run[1], seconds=3)
    return t.frame()


@pytest.fixture(scope="module")
def comparison():
    return build_comparison(Inputs("hand", "completed", study_trials(), ARCHS, None, PLAN))


def by_arch(c):
    return c.per_architecture.set_index("graph_hash")


def test_rows_are_the_listed_architectures_without_the_base(comparison):
    assert comparison.per_architecture["graph_hash"].tolist() == ["hA", "hB"]
    assert comparison.strategies == ("principled", "tuned", "fixed")
    assert comparison.base == {"architecture": "1", "label": "1", "S": 27.0, "listed": False}


def test_scores_per_strategy(comparison):
    a = by_arch(comparison).loc["hA"]
    assert a["principled_mean"] == pytest.approx(0.61)
    assert a["principled_std"] == pytest.approx(math.sqrt(2 * 0.01**2))
    assert a["principled_n"] == 2
    assert (a["principled_ci_lo"], a["principled_ci_hi"]) == pytest.approx((0.60, 0.62))
    b = by_arch(comparison).loc["hB"]
    assert b["fixed_n"] == 1 and b["fixed_diverged"] == 1 and math.isnan(b["fixed_std"])
    assert (a["principled_vs_tuned"], b["principled_vs_tuned"]) == ("loss", "win")
    assert (a["principled_vs_fixed"], b["principled_vs_fixed"]) == ("win", "win")


def test_learning_rates(comparison):
    pa = by_arch(comparison)
    assert pa.loc["hA", "principled_lr"] == pytest.approx(0.1 * SCALE_A)
    assert pa.loc["hA", "tuned_lr"] == pytest.approx(0.02)
    assert pa.loc["hA", "fixed_lr"] == pytest.approx(0.1)
    assert pa.loc["hA", "lr_ratio"] == pytest.approx(0.02 / (0.1 * SCALE_A))


def test_learning_rates_without_final_runs_come_from_the_searches():
    c = build_comparison(Inputs("hand", "running", study_trials(tuned_final=False), ARCHS, None, PLAN))
    pa = by_arch(c)
    assert pa.loc["hA", "tuned_lr"] == pytest.approx(0.02)  # best completed search trial (val 0.65)
    assert pa.loc["hB", "tuned_lr"] == pytest.approx(0.04)
    assert "tuned: no final runs finished yet" in c.notes
    assert any("status is 'running'" in n for n in c.notes)
    assert c.row("accuracy.diff.principled-tuned")["n"] == 0


def test_search_cost_with_the_base_search_amortised(comparison):
    pa = by_arch(comparison)
    principled = ["principled_search_trials", "principled_search_epochs", "principled_search_device_s"]
    assert pa.loc["hA", principled].tolist() == [1, 4, 10]
    assert pa.loc["hA", "fixed_search_device_s"] == 10  # fixed: {lr: base} shares the base search
    assert pa.loc["hA", ["tuned_search_trials", "tuned_search_epochs", "tuned_search_device_s"]].tolist() == [3, 9, 12]
    assert pa.loc["hB", ["tuned_pruned", "tuned_search_diverged"]].tolist() == [0, 1]
    cost = comparison.cost.set_index("strategy")
    assert cost.loc["principled", "search_device_s"] == 20
    assert cost.loc["principled", "search_device_s_per_architecture"] == 10
    tuned = ["search_trials", "search_pruned", "search_diverged", "search_device_s"]
    assert cost.loc["tuned", tuned].tolist() == [5, 1, 1, 19]
    assert cost.loc["fixed", "final_trials"] == 4 and cost.loc["fixed", "final_device_s"] == 12
    assert comparison.stat("cost.search_ratio.tuned-principled") == pytest.approx(19 / 20)
    assert comparison.stat("cost.search_device_h.tuned") == pytest.approx(19 / 3600)


def test_cost_to_match(comparison):
    pa = by_arch(comparison)
    assert pa.loc["hA", "cost_to_match_s"] == 12  # 5 + 2 (the pruned trial counts) + 5
    assert math.isnan(pa.loc["hB", "cost_to_match_s"])
    assert comparison.stat("cost.to_match.reached") == 1
    assert comparison.stat("cost.to_match.median_s") == 12


def test_accuracy_summary(comparison):
    diff = comparison.row("accuracy.diff.principled-tuned")
    # per seed, principled − tuned is −0.04 on hA and +0.10 on hB: every bootstrap replicate gives 0.03
    assert (diff["value"], diff["lo"], diff["hi"], diff["n"]) == pytest.approx((0.03, 0.03, 0.03, 2))
    assert comparison.stat("accuracy.diff.principled-fixed") == pytest.approx((0.10 + 0.31) / 2)
    assert [comparison.stat(f"accuracy.{k}.principled-tuned") for k in ("wins", "ties", "losses")] == [1, 0, 1]
    assert [comparison.stat(f"accuracy.{k}.principled-fixed") for k in ("wins", "ties", "losses")] == [2, 0, 0]


def test_learning_rate_summary(comparison):
    # two architectures: a slope (ln 2 / ln(125/64)) without an interval
    fit = comparison.row("lr.slope.log_tuned-log_S")
    assert fit["value"] == pytest.approx(math.log(2) / math.log(125 / 64))
    assert fit["n"] == 2 and math.isnan(fit["lo"]) and fit["expected"] == -0.5
    gap = comparison.stat("lr.median_abs_log2_ratio.tuned-principled")
    expected = np.median([abs(math.log2(0.02 / (0.1 * SCALE_A))), abs(math.log2(0.04 / (0.1 * SCALE_B)))])
    assert gap == pytest.approx(expected)


def test_rankings(comparison):
    pa = by_arch(comparison)
    assert pa["principled_rank"].tolist() == [2.0, 1.0]
    assert pa["tuned_rank"].tolist() == [1.0, 2.0]
    r = comparison.rankings
    full = r[(r["strategy_a"] == "principled") & (r["strategy_b"] == "tuned") & (r["top_percent"] == 100)].iloc[0]
    assert full["kendall_tau"] == pytest.approx(-1.0) and full["n"] == 2
    assert comparison.stat("rank.kendall.principled-tuned") == pytest.approx(-1.0)


def test_notes(comparison):
    assert "fixed: 1 final runs diverged (left out of the means)" in comparison.notes
    base_note = "the base network 1 (S=27) is not among the compared architectures"
    assert any(n.startswith(base_note) for n in comparison.notes)


def test_a_strategy_the_study_does_not_have():
    plan = Planned(
        strategies=("principled",), seeds=(0, 1), base_search_owner="principled", listed=("hA", "hB"), base_hash="hBase"
    )
    trials = study_trials()
    trials = trials[trials["strategy"] == "principled"]
    c = build_comparison(Inputs("hand", "completed", trials, ARCHS, None, plan))
    assert c.strategies == ("principled",)
    assert "not in this study: tuned, fixed" in c.notes
    assert c.rankings.empty and c.row("accuracy.diff.principled-tuned") is None
    assert c.cost["strategy"].tolist() == ["principled"]


def test_a_loss_metric_ranks_lower_first(comparison):
    c = build_comparison(Inputs("hand", "completed", study_trials(), ARCHS, None, PLAN), "test_loss")
    pa = by_arch(c)
    assert pa.loc["hA", "principled_mean"] == pytest.approx(0.39)
    assert pa["principled_rank"].tolist() == [2.0, 1.0]  # hB's loss 0.29 is the lower
    assert (pa.loc["hA", "principled_vs_tuned"], pa.loc["hB", "principled_vs_tuned"]) == ("loss", "win")


def test_without_a_readable_plan_the_data_decides():
    plan = read_plan("hand", "name: [unclosed")
    assert plan.problem is not None
    c = build_comparison(Inputs("hand", "completed", study_trials(), ARCHS, None, plan))
    assert c.per_architecture["graph_hash"].tolist() == ["hA", "hB"]
    assert c.strategies == ("principled", "tuned", "fixed")
    assert any("could not be read" in n for n in c.notes)


def test_plan_applies_set_overrides():
    text = (
        "name: s\ndataset: {name: mnist1d}\narchitectures: ['2', '2_02']\nseeds: [0, 1, 2]\n"
        "strategies: {principled: {base_lr: 0.1}, fixed: {lr: 0.05}}\n# --set seeds=[5]\n"
    )
    plan = read_plan("s", text)
    assert plan.problem is None
    assert plan.seeds == (5,) and plan.fixed_lr == 0.05 and plan.principled_base_lr == 0.1
    assert len(plan.listed) == 2 and plan.base_search_owner is None and plan.strategies == ("fixed", "principled")


def test_short_labels():
    assert short_label("2_02_002", "mlp") == "2_02_002"
    long = short_label("2_02_002_0002_00002_000002_0000002", "mlp")
    assert len(long) == 20 and "…" in long
    assert short_label("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|", "nb201") == "3_01_004"


# --- probe ---------------------------------------------------------------------------------------


def probe_study():
    """A base (L = 3) and chains L = 4, 5, 6 whose maximal LR is exactly 0.5·(3/L)^1.5, plus a DAG."""
    chains = [("hBase", "1", 3), ("h4", "2", 4), ("h5", "2_02", 5), ("h6", "2_02_002", 6)]
    rows = [(h, n, L**3, 1, (3 / L) ** 1.5) for h, n, L in chains] + [("hD", "2_22", 91, 2, math.sqrt(27 / 91))]
    archs = architectures(*rows)
    targets = {h: 0.5 * (3 / L) ** 1.5 for h, _, L in chains} | {"hD": 0.3}
    trials, epochs = Trials(), []
    for h, target in targets.items():
        grid = [(target / 2, (1.0, 1.0)), (target, (0.5, 0.5)), (target * 2, (None, 0.7))]
        for number, (lr, losses) in enumerate(grid):
            for seed, loss in enumerate(losses):
                status = "diverged" if loss is None else "completed"
                trials.add(h, "probe", "probe", seed=seed, number=number, lr=lr, status=status, seconds=0.5, budget=1)
                if loss is not None:
                    trial_id = trials.rows[-1]["id"]
                    epochs.append({"trial_id": trial_id, "epoch": 1, "train_loss": 9.0})  # not the last epoch
                    epochs.append({"trial_id": trial_id, "epoch": 2, "train_loss": loss})
    plan = Planned(strategies=("probe",), seeds=(0, 1), listed=("h4", "h5", "h6", "hD"), base_hash="hBase")
    return Inputs("probe", "completed", trials.frame(), archs, pd.DataFrame(epochs), plan), targets


def test_probe_finds_the_maximal_lr_and_the_depth_exponent():
    inputs, targets = probe_study()
    c = build_comparison(inputs)
    p = c.probe.set_index("graph_hash")
    for h, target in targets.items():
        assert p.loc[h, "probed_lr"] == pytest.approx(target)  # 2× diverged on one seed: +inf, never chosen
        assert p.loc[h, "runs"] == 6 and p.loc[h, "diverged_runs"] == 1
    assert p.loc["hBase", "is_base"] and p.loc["h4", "predicted_lr"] == pytest.approx(targets["h4"])
    assert p.loc["h4", "depth"] == 4 and math.isnan(p.loc["hD", "depth"])
    assert p.loc["h4", "best_score"] == pytest.approx(0.5)  # the last epoch's loss, not the first's
    depth = c.row("probe.depth_exponent")
    assert (depth["value"], depth["lo"], depth["hi"], depth["n"]) == pytest.approx((-1.5, -1.5, -1.5, 4))
    predicted = [targets[h] for h in ("h4", "h5", "h6")] + [0.5 * math.sqrt(27 / 91)]
    probed = [targets[h] for h in ("h4", "h5", "h6")] + [0.3]
    r = c.row("probe.pearson_raw")  # the base is left out: its prediction is its probe
    assert r["value"] == pytest.approx(np.corrcoef(predicted, probed)[0, 1]) and r["n"] == 4
    assert r["expected"] == 0.838  # MLP topologies (Fig. 2): not all chains
    assert c.stat("probe.spearman") == pytest.approx(1.0)
    assert c.strategies == ("probe",)
    assert "a probe study: no final runs to compare; see the probe section" in c.notes
    grid = c.probe_grid
    assert len(grid) == 15 and np.isinf(grid["score"]).sum() == 5


def test_probe_notes_a_maximal_lr_at_the_grid_edge():
    inputs, _ = probe_study()
    trials = inputs.trials[~((inputs.trials["graph_hash"] == "h6") & (inputs.trials["trial_number"] == 2))]
    # without its largest grid point, h6's best LR is the largest one left
    c = build_comparison(Inputs("probe", "completed", trials, inputs.architectures, inputs.epochs, inputs.planned))
    assert any(n.startswith("probe: the probed LR is the grid's high end for 2_02_002") for n in c.notes)


# --- robustness: odd and partial studies render in every format ---------------------------------


def _variants():
    trials = study_trials()
    tuned_only = Planned(strategies=("tuned",), seeds=(0, 1), listed=("hA", "hB"))
    given = Planned(
        strategies=("fixed", "principled"),
        seeds=(0, 1),
        fixed_lr=0.05,
        principled_base_lr=0.2,
        listed=("hA", "hB"),
        base_hash="hBase",
    )
    empty = trials.iloc[0:0].drop(columns=["hp_lr"])  # read_trials of a study without trials has no hp_* columns
    return {
        "tuned only": Inputs("v", "completed", trials[trials["strategy"] == "tuned"], ARCHS, None, tuned_only),
        "given LRs": Inputs(
            "v", "completed", trials[trials["phase"] == "final"][lambda t: t["strategy"] != "tuned"], ARCHS, None, given
        ),
        "empty": Inputs("v", "running", empty, ARCHS.iloc[0:0], None, PLAN),
        "probe": probe_study()[0],
    }


@pytest.mark.parametrize("name", list(_variants()))
def test_odd_studies_render_in_every_format(name):
    from archscale.report.output import Format, render
    from archscale.report.render_html import render_html

    c = build_comparison(_variants()[name])
    for fmt in Format:
        text = render_html(c, {}) if fmt is Format.HTML else render(c, fmt)
        assert isinstance(text, str) and text
    if name == "given LRs":
        pa = by_arch(c)
        assert pa.loc["hA", "principled_lr"] == pytest.approx(0.1 * SCALE_A)  # from its final runs
        assert (c.cost.set_index("strategy")["search_trials"] == 0).all()
        assert c.cost.set_index("strategy").loc["fixed", "note"] == "given LR: no search"
    if name == "empty":
        assert "2 of 2 listed architectures have no trials yet" in c.notes and c.per_architecture.empty
    if name == "tuned only":
        assert math.isnan(c.stat("lr.spearman.tuned-principled"))  # no principled LR without a base LR
        assert c.row("accuracy.diff.principled-tuned") is None


def test_the_pictures_of_odd_studies():
    from archscale.report.plots import figures

    drawn = {name: set(figures(build_comparison(inputs))) for name, inputs in _variants().items()}
    assert drawn["empty"] == set()
    assert drawn["probe"] == {"probe", "probe_depth"}
    assert drawn["given LRs"] == {"accuracy", "search_cost", "rank_shift"}
    assert drawn["tuned only"] == {"accuracy", "search_cost"}
