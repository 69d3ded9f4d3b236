"""The arms against a benchmark's imported results (Fig. 4, App. E.4): hand-made frames with every
number known (τ and ρ by hand and by scipy), the pairwise gaps, the intervals, and a stored study that
is compared only once its dataset's results are imported."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from archscale.graph import parse_architecture
from archscale.report import compare
from archscale.report.render.output import render
from archscale.report.render.plots import figures
from archscale.report.statistics.benchmark import TOP_PERCENTS, compare_to_benchmark, pick_epochs
from archscale.store import BenchmarkRow, Writer
from archscale.vocabulary import Phase, RunKey

SEED_777 = [0.90, 0.85, 0.80, 0.75, 0.70, 0.65]
SEED_888 = [0.91, 0.84, 0.82, 0.74, 0.69, 0.66]
ARM = [0.92, 0.80, 0.86, 0.76, 0.71, 0.60]
BENCH = np.mean([SEED_777, SEED_888], axis=0)


def cells(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame({"graph_hash": [f"h{i}" for i in range(n)], "label": list("abcdef")[:n]})


def results(n: int = 6, epochs: int = 200) -> pd.DataFrame:
    rows = [
        {"graph_hash": f"h{i}", "seed": seed, "epochs": epochs, "test_accuracy": acc[i], "source": "hand.csv (csv)"}
        for seed, acc in ((777, SEED_777), (888, SEED_888))
        for i in range(n)
    ]
    return pd.DataFrame(rows, columns=["graph_hash", "seed", "epochs", "test_accuracy", "source"])


@pytest.fixture
def hand():
    found = compare_to_benchmark(cells(), {"arm": ARM}, results(), benchmark="nb201", dataset="cifar10", epochs=200)
    assert found is not None
    return found


def test_accuracy_minus_the_benchmark_over_cells(hand):
    (row,) = hand.accuracy.to_dict("records")
    assert row["diff"] == pytest.approx(np.mean(np.subtract(ARM, BENCH)))
    assert row["mean"] == pytest.approx(np.mean(ARM)) and row["benchmark"] == pytest.approx(BENCH.mean())
    assert row["n"] == 6 and row["method"] == "t" and row["lo"] < row["diff"] < row["hi"]
    assert hand.seeds == (777, 888) and hand.sources == ("hand.csv (csv)",)
    assert list(hand.cells["arm_diff"]) == pytest.approx(np.subtract(ARM, BENCH))


def test_three_cells_get_a_t_interval():
    found = compare_to_benchmark(
        cells(3), {"arm": ARM[:3]}, results(3), benchmark="nb201", dataset="cifar10", epochs=200
    )
    (row,) = found.accuracy.to_dict("records")
    diffs = np.subtract(ARM[:3], BENCH[:3])
    half = scipy_stats.t.ppf(0.975, 2) * diffs.std(ddof=1) / math.sqrt(3)
    assert row["method"] == "t" and row["n"] == 3
    assert (row["lo"], row["hi"]) == pytest.approx((diffs.mean() - half, diffs.mean() + half))


def test_rank_agreement_per_top_percent(hand):
    r = hand.rankings.set_index("top_percent")
    assert list(r.index) == list(TOP_PERCENTS)
    assert r.loc[100, "n"] == 6
    assert r.loc[100, "kendall_tau"] == pytest.approx(scipy_stats.kendalltau(ARM, BENCH).statistic)
    assert r.loc[100, "spearman_rho"] == pytest.approx(scipy_stats.spearmanr(ARM, BENCH).statistic)
    # top 50%: the benchmark's best three cells, a > b > c; the arm orders them a > c > b
    assert r.loc[50, "n"] == 3
    assert r.loc[50, "kendall_tau"] == pytest.approx(1 / 3)  # 2 concordant, 1 discordant of 3 pairs
    assert r.loc[50, "spearman_rho"] == pytest.approx(1 - 6 * 2 / (3 * (9 - 1)))  # d² = 0 + 1 + 1
    assert r.loc[1, "n"] == 1 and math.isnan(r.loc[1, "kendall_tau"])


def test_the_seed_vs_seed_noise_floor(hand):
    floor = hand.noise_floor.set_index("top_percent")
    assert set(floor["seed_a"]) == {777} and set(floor["seed_b"]) == {888}
    assert floor.loc[100, "kendall_tau"] == pytest.approx(scipy_stats.kendalltau(SEED_777, SEED_888).statistic)
    top = [0, 1, 2]  # the top 50% by the seed mean
    expected = scipy_stats.kendalltau(np.take(SEED_777, top), np.take(SEED_888, top)).statistic
    assert floor.loc[50, "kendall_tau"] == pytest.approx(expected)
    assert hand.noise().set_index("top_percent").loc[100, "n"] == 6


def test_pairwise_gaps(hand):
    gaps = hand.gaps
    assert len(gaps) == 15 and set(gaps["arm"]) == {"arm"}
    assert (gaps["benchmark_gap"] >= 0).all()
    first = gaps[(gaps["better"] == "a") & (gaps["worse"] == "c")].iloc[0]
    assert first["benchmark_gap"] == pytest.approx(BENCH[0] - BENCH[2])
    assert first["arm_gap"] == pytest.approx(ARM[0] - ARM[2])
    flipped = gaps[(gaps["better"] == "b") & (gaps["worse"] == "c")].iloc[0]
    assert flipped["arm_gap"] == pytest.approx(ARM[1] - ARM[2]) and flipped["arm_gap"] < 0
    (summary,) = hand.gap_summary.to_dict("records")
    tau = scipy_stats.kendalltau(ARM, BENCH).statistic
    assert summary["pairs"] == 15 and summary["flipped"] == pytest.approx((1 - tau) / 2)  # no ties
    assert summary["benchmark_median_gap"] == pytest.approx(np.median(gaps["benchmark_gap"]))
    assert summary["arm_median_gap"] == pytest.approx(np.median(np.abs(gaps["arm_gap"])))


def test_cells_without_results_and_choice_of_epochs():
    found = compare_to_benchmark(cells(), {"arm": ARM}, results(4), benchmark="nb201", dataset="cifar10", epochs=200)
    assert len(found.cells) == 4 and "2 compared cells have no nb201 result on cifar10 at 200 epochs" in found.notes
    assert compare_to_benchmark(cells(), {"arm": ARM}, results(0), benchmark="x", dataset="y", epochs=1) is None
    assert pick_epochs([12, 200, 200], 12) == 12 and pick_epochs([12, 200, 200], 50) == 200
    assert pick_epochs([12, 200], None) == 200


# --- a stored study -----------------------------------------------------------------------------

CELLS = ["3_33_133", "3_33_131", "3_31_131", "3_13_113", "2_22_222", "3_30_103"]
FIXED = [0.90, 0.88, 0.85, 0.80, 0.60, 0.70]
PRINCIPLED = [0.91, 0.87, 0.86, 0.82, 0.62, 0.69]
PUBLISHED = [0.92, 0.89, 0.84, 0.81, 0.61, 0.72]


def store_study(db: str) -> None:
    archs = [parse_architecture(c, "nb201") for c in CELLS]
    with Writer(db) as w:
        study = w.ensure_study("nb", "name: nb\ndataset: {name: cifar10}\ntraining: {epochs: 200}\n")
        ids = [w.upsert_architecture(a.digest(), a.notation, "nb201") for a in archs]
        plan = {"seeds": [0, 1], "search_seeds": [], "search_repeats": 1, "pairs": [["principled", "fixed"]]}
        rows = [
            {"architecture_id": i, "position": k, "listed": True, "is_base": False, "width": 16, "paths": 1.0}
            for k, i in enumerate(ids)
        ]
        arms = [
            {"arm": arm, "kind": arm, "position": k, "label": arm, "final": True, "settings": {}, "recipe": {}}
            for k, arm in enumerate(("fixed", "principled"))
        ]
        w.write_plan(study, plan | {"chance": 0.1}, rows, arms, [])
        for arm, accuracy in (("fixed", FIXED), ("principled", PRINCIPLED)):
            for arch, acc in zip(archs, accuracy, strict=True):
                for seed in (0, 1):
                    w.upsert_trial(
                        study,
                        RunKey(arch.digest(), arm, Phase.FINAL, seed),
                        arm,
                        status="completed",
                        test_accuracy=acc + seed / 100,
                        val_accuracy=acc,
                        hyperparameters={"lr": 0.1},
                    )
        w.finish_study(study, "completed")


def import_rows(db: str, dataset: str) -> None:
    rows = [
        BenchmarkRow(a.digest(), a.notation, "nb201", dataset, seed, 200, acc + (seed - 777) / 10_000, "t.csv (csv)")
        for a, acc in zip((parse_architecture(c, "nb201") for c in CELLS), PUBLISHED, strict=True)
        for seed in (777, 888)
    ]
    with Writer(db) as w:
        w.write_benchmark_results("nb201", rows)


def test_a_study_is_compared_once_its_dataset_has_results(tmp_path):
    db = f"sqlite:///{tmp_path / 'r.db'}"
    store_study(db)
    before = compare("nb", db)
    assert before.benchmark is None and json.loads(render(before, "json"))["benchmark"] is None
    table = render(before, "table")

    import_rows(db, "cifar100")  # another dataset: nothing changes
    after = compare("nb", db)
    assert after.benchmark is None and render(after, "table") == table
    assert not any(name.startswith("benchmark") for name in figures(after))

    import_rows(db, "cifar10")
    c = compare("nb", db)
    b = c.benchmark
    assert b is not None and (b.dataset, b.epochs, b.seeds) == ("cifar10", 200, (777, 888))
    published = np.asarray(PUBLISHED) + (888 - 777) / 10_000 / 2
    fixed = b.accuracy.set_index("arm").loc["fixed"]
    assert fixed["diff"] == pytest.approx(np.mean(np.asarray(FIXED) + 0.005 - published))
    assert fixed["n"] == 6 and fixed["method"] == "t"
    tau = b.rankings.set_index(["arm", "top_percent"]).loc[("principled", 100), "kendall_tau"]
    assert tau == pytest.approx(scipy_stats.kendalltau(PRINCIPLED, PUBLISHED).statistic)

    doc = json.loads(render(c, "json"))["benchmark"]
    assert doc["dataset"] == "cifar10" and len(doc["rankings"]) == 2 * len(TOP_PERCENTS)
    assert {"cells", "accuracy", "noise_floor", "gap_summary", "gaps"} <= doc.keys() and len(doc["gaps"]) == 30
    text = render(c, "table")
    assert "accuracy − nb201 (cifar10, 200 epochs, seeds 777, 888): fixed" in text
    assert "noise floor (nb201 seed vs seed)" in text and "pairwise gaps (principled, 15 pairs)" in text
    assert "Rank agreement with nb201 per top K%" in render(c, "markdown")
    pictures = figures(c)
    assert {"benchmark_accuracy", "benchmark_rankings", "benchmark_gaps"} <= pictures.keys()
    page = render(c, "html")
    assert 'id="fig-benchmark_rankings"' in page and "Rank agreement with nb201 per top K%" in page


def test_a_smaller_training_set_than_the_benchmarks_is_noted():
    from archscale.report.statistics.benchmark import training_set_note

    note = training_set_note("cifar10", 0.1, None)
    assert note is not None and "45,000" in note and "50,000" in note
    assert training_set_note("cifar10", 0.0, None) is None
    assert "1,000" in (training_set_note("cifar100", 0.0, 1000) or "")
    assert training_set_note("digits", 0.2, None) is None
