"""The comparison of a real small study (run once per session by the `small_study` fixture): the
frames agree with the trials and the plan in the database, and every format and the report files render.
The study's pairs are the default, every arm against principled: principled:tuned and principled:fixed."""

import io
import json
import math
import shutil

import numpy as np
import pandas as pd
import pytest

from archscale.errors import UserError
from archscale.report import compare
from archscale.report.render.output import Format, render, write_report
from archscale.store import read_plan, read_trials

pytestmark = pytest.mark.slow

SUMMARY_KEYS = [
    "accuracy.mean.principled",
    "accuracy.diverged.fixed",
    "accuracy.diff.principled:tuned",
    "accuracy.diff.principled:fixed",
    "accuracy.wins.principled:tuned",
    "accuracy.inconclusive.principled:tuned",
    "accuracy.losses.principled:tuned",
    "accuracy.undecided.principled:tuned",
    "cost.search_device_h.principled",
    "cost.search_device_h.tuned",
    "cost.search_ratio.principled:tuned",
    "cost.to_match.reached.tuned:principled",
    "cost.to_match.trials.tuned:principled",
    "cost.to_match.architectures.tuned:principled",
    "lr.spearman.principled:tuned",
    "lr.pearson_log.principled:tuned",
    "lr.median_abs_log2_ratio.principled:tuned",
    "lr.slope.log_lr-log_S.tuned",
    "rank.kendall.principled:tuned",
    "rank.spearman.principled:tuned",
    "rank.top25_overlap.principled:tuned",
    "probe.pearson_raw.probe",
    "probe.pearson_raw_without_base.probe",
    "probe.pearson_log.probe",
    "probe.spearman.probe",
    "probe.depth_exponent.probe",
]
ARMS = ("principled", "tuned", "fixed")


@pytest.fixture(scope="module")
def study(small_study):
    url, name = small_study
    return url, name, compare(name, url)


@pytest.fixture(scope="module")
def report(study, tmp_path_factory):
    """The report folder (`write_report`), written once: the pictures are the slow part."""
    _, _, c = study
    folder = tmp_path_factory.mktemp("report")
    return folder, {p.name for p in write_report(c, folder)}


@pytest.fixture(scope="module")
def trials(small_study):
    url, name = small_study
    return read_trials(url, name)


def test_the_compared_architectures_and_arms(study):
    _, _, c = study
    assert c.per_architecture["label"].tolist() == ["2", "2_02", "2_02_002", "2_22_222"]
    assert set(c.arms) == set(ARMS) and c.probe_arms == ("probe",)
    assert c.seeds == (0, 1) and c.status == "completed"
    assert set(c.summary.loc[c.summary["section"] == "accuracy", "method"]) <= {"t", "too few for an interval", ""}
    assert c.base == {"architecture": "1", "label": "1", "S": 27.0, "listed": False}
    assert any(n.startswith("the base network 1 (S=27) is not among") for n in c.notes)
    assert set(SUMMARY_KEYS) <= set(c.summary["key"])


def test_scores_are_the_final_runs(study, trials):
    _, _, c = study
    final = trials[(trials["phase"] == "final") & trials["status"].isin(["completed", "diverged"])]
    chance = c.plan.chance
    for row in c.per_architecture.to_dict("records"):
        for arm in ARMS:
            mine = final[(final["graph_hash"] == row["graph_hash"]) & (final["arm"] == arm)]
            healthy = (mine["status"] == "completed") & (mine["val_accuracy"] > 1.5 * chance)
            runs = mine["test_accuracy"].where(healthy, chance)  # diverged or collapsed: chance
            assert row[f"{arm}_mean"] == pytest.approx(runs.mean())
            assert row[f"{arm}_n"] == len(runs) == 2
            assert row[f"{arm}_std"] == pytest.approx(runs.std(ddof=1))
            assert row[f"{arm}_ci_method"] == "t"  # two seeds: a t interval, never a bootstrap
            assert row[f"{arm}_ci_lo"] <= row[f"{arm}_mean"] <= row[f"{arm}_ci_hi"]


def test_learning_rates_follow_the_rule_and_the_searches(study, trials, small_study):
    url, name = small_study
    _, _, c = study
    pa = c.per_architecture
    base = trials[trials["phase"] == "base-search"]
    best = base[base["status"] == "completed"].sort_values(["val_accuracy", "hp_lr"], ascending=[False, True])
    base_lr = best["hp_lr"].iloc[0]
    assert pa["principled_lr"].to_numpy() == pytest.approx(base_lr * pa["principled_scale"].to_numpy())
    assert pa["fixed_lr"].to_numpy() == pytest.approx(np.full(len(pa), base_lr))  # fixed: {lr: base}
    scale = read_plan(url, name).architectures.set_index("graph_hash")["principled_scale"]
    assert pa["principled_scale"].to_numpy() == pytest.approx(scale.loc[pa["graph_hash"]].to_numpy())
    search = trials[(trials["phase"] == "search") & (trials["status"] == "completed")]
    for row in pa.to_dict("records"):
        mine = search[search["graph_hash"] == row["graph_hash"]]
        mine = mine.sort_values(["val_accuracy", "hp_lr"], ascending=[False, True])
        assert row["tuned_lr"] == pytest.approx(mine["hp_lr"].iloc[0])  # the search's choice, as trained in final
        assert row["principled:tuned_lr_ratio"] == pytest.approx(row["principled_lr"] / row["tuned_lr"])


def test_the_cost_ledger_adds_up(study, trials):
    _, _, c = study
    cost = c.cost.set_index("arm")
    assert cost.loc["principled", "search_trials"] == 3 and cost.loc["fixed", "search_trials"] == 3  # shared
    assert cost.loc["tuned", "search_trials"] == 12 and cost.loc["probe", "search_trials"] == 40
    assert (cost.loc[["principled", "tuned", "fixed"], "final_trials"] == 8).all()
    # every trial's device time is in the ledger exactly once (the shared base search counted once)
    ledger = cost["final_device_s"].sum() + cost.loc[["principled", "tuned", "probe"], "search_device_s"].sum()
    assert ledger == pytest.approx(trials["device_seconds"].sum())
    pa = c.per_architecture
    assert pa["principled_search_device_s"].sum() == pytest.approx(cost.loc["principled", "search_device_s"])
    assert pa["tuned_search_device_s"].sum() == pytest.approx(cost.loc["tuned", "search_device_s"])
    assert (pa["tuned_search_trials"] == 3).all()
    assert int(pa["tuned_search_pruned"].sum()) == cost.loc["tuned", "search_pruned"]
    reached = np.isfinite(pa["tuned:principled_match_device_s"].to_numpy(dtype=float))
    assert c.stat("cost.to_match.architectures.tuned:principled") == reached.sum()
    assert (pa.loc[reached, "tuned:principled_match_device_s"] <= pa.loc[reached, "tuned_search_device_s"] + 1e-9).all()
    assert set(c.searches["budget_trials"]) == {3}  # every search shows its budget


def test_the_probe(study):
    _, _, c = study
    p = c.probe.set_index("label")
    assert p.index.tolist() == ["1", "2", "2_02", "2_02_002", "2_22_222"]  # by S, the base first
    assert p.loc["1", "is_base"] and p["is_base"].sum() == 1
    assert p["depth"].iloc[:4].tolist() == [3, 4, 5, 6] and math.isnan(p.loc["2_22_222", "depth"])
    assert p["predicted_lr"].to_numpy() == pytest.approx(p.loc["1", "probed_lr"] * p["principled_scale"].to_numpy())
    assert (p["runs"] == 8).all()  # 4 grid points × 2 seeds
    grid = np.geomspace(1e-4, 1.0, 4)
    assert all(np.isclose(grid, lr).any() for lr in p["probed_lr"])
    assert c.row("probe.depth_exponent.probe")["n"] == 4 and c.row("probe.depth_exponent.probe")["expected"] == -1.5
    assert c.row("probe.pearson_raw.probe")["n"] == 5  # the base network is included, as in the paper
    assert c.row("probe.pearson_raw_without_base.probe")["n"] == 4


@pytest.mark.parametrize("fmt", list(Format))
def test_every_format_renders(study, report, fmt):
    _, _, c = study
    folder, _ = report
    text = (folder / "report.html").read_text() if fmt is Format.HTML else render(c, fmt)
    assert "report-small" in text or fmt is Format.CSV
    if fmt is Format.JSON:
        doc = json.loads(text)  # strict: NaN is rendered as null
        assert doc["format"] == "archscale.compare/3" and doc["study"] == "report-small"
        assert set(doc) >= {
            "per_architecture",
            "summary",
            "rankings",
            "cost",
            "probe",
            "notes",
            "metric",
            "arms",
            "pairs",
        }
        assert len(doc["per_architecture"]) == 4 and doc["summary"]["probe.depth_exponent.probe"]["expected"] == -1.5
        assert all(entry["n"] is not None for entry in doc["summary"].values())
    elif fmt is Format.CSV:
        frame = pd.read_csv(io.StringIO(text))
        assert frame["architecture"].tolist() == ["2", "2_02", "2_02_002", "2_22_222"]
    elif fmt is Format.HTML:  # render(c, "html") is render_html(c, figures(c)), as write_report wrote it
        assert text.count('src="data:image/png;base64,') == 7
        assert "http://" not in text and "https://" not in text  # self-contained
    elif fmt is Format.MARKDOWN:
        assert "## Per architecture" in text and "| 2_22_222 |" in text


@pytest.mark.parametrize("width", [80, 100, 120])
def test_the_table_fits_the_terminal(study, width):
    _, _, c = study
    text = render(c, Format.TABLE, width)
    assert max(len(line.rstrip()) for line in text.splitlines()) <= width
    assert "principled − tuned" in text and "Kendall τ" in text and "probed LR ∝ depth^" in text
    assert "search budget" in text


def test_write_report(report):
    folder, written = report
    names = ("learning_rates", "probe", "probe_depth", "accuracy", "search_cost", "cost_to_match", "rank_shift")
    pictures = {f"{n}.png" for n in names}
    assert pictures <= written
    assert {"report.html", "report.md", "comparison.json", "per_architecture.csv", "probe_grid.csv"} <= written
    for name in pictures:
        assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((folder / "comparison.json").read_text())["study"] == "report-small"
    assert len(pd.read_csv(folder / "probe.csv")) == 5


def test_an_unknown_study_lists_the_known_ones(small_study):
    url, _ = small_study
    with pytest.raises(UserError, match=r"no study 'nope' in .*; studies: report-small"):
        compare("nope", url)


def test_a_partial_study_compares_what_exists(small_study, tmp_path):
    from sqlalchemy import text

    from archscale.store import make_engine

    url, name = small_study
    copy = tmp_path / "partial.db"
    shutil.copy(url.removeprefix("sqlite:///"), copy)
    engine = make_engine(f"sqlite:///{copy}")
    with engine.begin() as connection:  # as if the study were still in its final phase
        connection.execute(text("DELETE FROM archscale_trial WHERE phase = 'final' AND arm = 'tuned'"))
        connection.execute(
            text(
                "UPDATE archscale_trial SET status = 'running', test_accuracy = NULL WHERE phase = 'final' "
                "AND arm = 'fixed' AND seed = 1"
            )
        )
        connection.execute(text("UPDATE archscale_study SET status = 'running'"))
    engine.dispose()
    c = compare(name, f"sqlite:///{copy}")
    assert "study status is 'running': this compares what has finished so far" in c.notes
    assert "tuned: no final runs finished yet" in c.notes
    assert "fixed: 4 final runs not finished (pending, running or failed)" in c.notes
    assert (c.per_architecture["fixed_n"] == 1).all() and (c.per_architecture["tuned_n"] == 0).all()
    assert np.isfinite(c.per_architecture["tuned_lr"]).all()  # still known from the plan's choices
    assert c.row("accuracy.diff.principled:tuned")["n"] == 0
    for fmt in Format:
        assert render(c, fmt)
