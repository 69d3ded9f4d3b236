"""Build the per-architecture frame from the store's frames (`read_trials`, `read_epochs`) and the
study's plan (`read_plan`). Everything is per **arm** and generic: nothing here knows a strategy kind.

Conventions (`archscale.report.render_json` lists every column for users):
- an arm's score on an architecture is the metric of its final runs over seeds (and search repeats);
  a failed final run is a result: one that diverged, or that **collapsed** (completed with its best
  validation accuracy at most `COLLAPSE_FACTOR` × chance), scores chance (`plan.chance` for accuracies,
  −ln chance for losses) and counts in means, wins and losses; pending, running and failed-to-run
  runs are missing;
- differences a − b are paired on (architecture, repeat, seed) and estimated at every level the data
  allow (`stats.difference_estimates`: seeds; search repeats and seeds; architectures), each interval
  naming what it resamples; an architecture's call for a is win, loss or inconclusive by its
  difference over repeats and seeds (seeds without repeats), Holm-adjusted across every pair and
  architecture of the study (`stats.holm`);
- search cost is charged by `plan.searches`: a search of scope "architecture" to its architecture,
  one of scope "study" once per study and amortised over the listed architectures; trials of other
  non-final phases (the probe grid) to their own arm and architecture. Costs are means over repeats.
- an arm's LR is the plan's choice (median over repeats), else its final runs' median LR.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from archscale.report import stats
from archscale.report.metrics import Metric
from archscale.vocabulary import Phase, TrialStatus

if TYPE_CHECKING:
    from collections.abc import Sequence

    from archscale.store import StudyPlan

TOP_PERCENTS = (100, 50, 25, 10)
EXPECTED_LR_SLOPE = -0.5
EXPECTED_DEPTH_EXPONENT = -1.5
LABEL_WIDTH = 20
ARCHITECTURE_SCOPE = "architecture"
STUDY_SCOPE = "study"
FINISHED = (TrialStatus.COMPLETED, TrialStatus.DIVERGED)
COLLAPSE_FACTOR = 1.5
"""A final run that completed with its best validation accuracy at or below this many times chance
(1.5/classes) learned nothing: it is `collapsed`, scored like a diverged run."""


@dataclass(frozen=True)
class Inputs:
    """Everything a comparison is computed from: the store's frames for one study and its plan
    (`epochs` may be None when no analysis needs them); `activation`: the study's model nonlinearity;
    `caveats`: what every report of the study must state about its models."""

    study: str
    status: str
    trials: pd.DataFrame
    epochs: pd.DataFrame | None
    plan: StudyPlan
    activation: str = "relu"
    caveats: tuple[str, ...] = ()


def pair_key(a: str, b: str) -> str:
    """The name of the pair (a, b) in column names and summary keys: `a:b` (arm names have no ':')."""
    return f"{a}:{b}"


# --- architectures ------------------------------------------------------------------------------


def short_label(notation: str, family: str, width: int = LABEL_WIDTH) -> str:
    """A compact label: NAS-Bench-201 strings as their digit code, long notations cut in the middle."""
    text = notation
    if family == "nb201" and notation.startswith("|"):
        try:
            from archscale.graph import parse_architecture

            text = parse_architecture(notation, "nb201").short
        except Exception:  # a label must never fail a report
            text = notation
    if len(text) <= width:
        return text
    keep = width - 1
    return f"{text[: (keep + 1) // 2]}…{text[-(keep // 2) :]}"


def unique_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """Labels made unique: the kernel size added when CNN kernels differ, then `#2`, `#3`, ..."""
    labels = frame["label"].tolist()
    if "kernel_size" in frame and frame["family"].eq("cnn").any() and frame["kernel_size"].nunique() > 1:
        kernels = frame["kernel_size"]
        labels = [f"{lab} k{int(k)}" if pd.notna(k) else lab for lab, k in zip(labels, kernels, strict=True)]
    seen: dict[str, int] = {}
    unique = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        unique.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return frame.assign(label=unique)


def listed(plan: StudyPlan) -> pd.DataFrame:
    """The plan's listed architectures in their listed order."""
    archs = plan.architectures
    return archs[archs["listed"].astype(bool)].sort_values("position", kind="stable")


def architecture_rows(inputs: Inputs) -> pd.DataFrame:
    """One row per compared architecture: the listed ones, in order, that have trials."""
    have = set(inputs.trials["graph_hash"])
    rows = listed(inputs.plan)
    rows = rows[rows["graph_hash"].isin(have)]
    frame = pd.DataFrame(
        {
            "graph_hash": rows["graph_hash"].to_numpy(),
            "architecture": rows["notation"].to_numpy(),
            "label": [short_label(n, f) for n, f in zip(rows["notation"], rows["family"], strict=True)],
            "family": rows["family"].to_numpy(),
            "kernel_size": rows["kernel_size"].to_numpy(),
            "width": rows["width"].to_numpy(),
            "parameters": rows["parameters"].to_numpy(),
            "paths": floats(rows["paths"]),
            "S": floats(rows["S"]),
            "principled_scale": floats(rows["principled_scale"]),
        }
    )
    return unique_labels(frame)


def base_info(plan: StudyPlan, compared: Sequence[str]) -> dict[str, Any] | None:
    """The base network (architecture, label, S, listed among the compared ones), or None."""
    base = plan.architectures[plan.architectures["is_base"].astype(bool)]
    if base.empty:
        return None
    row = base.iloc[0]
    return {
        "architecture": str(row["notation"]),
        "label": short_label(str(row["notation"]), str(row["family"])),
        "S": float(row["S"]),
        "listed": str(row["graph_hash"]) in set(compared),
    }


# --- arms ---------------------------------------------------------------------------------------


def final_arms(plan: StudyPlan) -> list[str]:
    """The arms with final runs, in the plan's order."""
    arms = plan.arms.sort_values("position", kind="stable")
    return [str(a) for a, final in zip(arms["arm"], arms["final"], strict=True) if bool(final)]


def labels(plan: StudyPlan) -> dict[str, str]:
    """arm → display label."""
    return {str(a): str(lab) for a, lab in zip(plan.arms["arm"], plan.arms["label"], strict=True)}


def charged_searches(plan: StudyPlan, arm: str) -> pd.DataFrame:
    """The plan's searches whose cost is charged to `arm`."""
    s = plan.searches
    return s[[arm in tuple(arms) for arms in s["arms"]]] if len(s) else s


def search_repeats(plan: StudyPlan, arm: str) -> int:
    """How many times the searches charged to `arm` ran (1 without searches): its costs are divided by it."""
    return max(1, int(charged_searches(plan, arm)["repeat"].nunique())) if len(plan.searches) else 1


def repeats_finals(plan: StudyPlan, arm: str) -> bool:
    """Whether `arm`'s final runs ran once per search repeat (its LR comes from a repeated search)."""
    repeats = set(charged_searches(plan, arm)["repeat"]) if len(plan.searches) else set()
    if len(plan.choices):
        repeats |= set(plan.choices.loc[plan.choices["arm"] == arm, "repeat"])
    return plan.search_repeats > 1 and any(int(r) > 0 for r in repeats)


def searches_per_architecture(plan: StudyPlan, arm: str) -> bool:
    """Whether `arm` chooses its LR by a search of each architecture (scope "architecture")."""
    mine = charged_searches(plan, arm)
    return bool(len(mine)) and bool((mine["scope"] == ARCHITECTURE_SCOPE).any())


def charges(inputs: Inputs) -> pd.DataFrame:
    """Every non-final trial once per arm it is charged to: the trial's columns plus `charged_arm`,
    `scope` and `search` (the search's name; "" for trials of no search, charged to their own arm
    and architecture)."""
    trials = inputs.trials[inputs.trials["phase"] != Phase.FINAL]
    searches = inputs.plan.searches
    by_name = {
        str(n): (tuple(a), str(s))
        for n, a, s in zip(searches["name"], searches["arms"], searches["scope"], strict=True)
    }
    names = trials["optuna_study"] if "optuna_study" in trials else pd.Series([None] * len(trials), index=trials.index)
    rows: list[tuple[Any, str, str, str]] = []
    for index, name, arm in zip(trials.index, names, trials["arm"], strict=True):
        found = by_name.get(str(name)) if isinstance(name, str) else None
        if found is None:
            rows.append((index, str(arm), ARCHITECTURE_SCOPE, ""))
        else:
            rows += [(index, charged, found[1], str(name)) for charged in found[0]]
    picked = trials.loc[[r[0] for r in rows]].reset_index(drop=True)
    return picked.assign(charged_arm=[r[1] for r in rows], scope=[r[2] for r in rows], search=[r[3] for r in rows])


def floats(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").astype("float64").to_numpy(dtype=float, na_value=np.nan)


# --- scores -------------------------------------------------------------------------------------


def diverged_score(higher_is_better: bool, chance: float | None) -> float:
    """The score of a diverged final run: chance accuracy (higher is better), or the loss of a uniform
    guess, −ln chance (lower is better); NaN when chance is unknown."""
    if chance is None or not chance > 0:
        return math.nan
    return chance if higher_is_better else -math.log(chance)


@dataclass(frozen=True)
class Scores:
    """Per arm with final runs: its scores as (architectures × repeats × seeds) cubes, of the metric
    (`test`) and of its validation counterpart (`val`); an arm whose finals do not repeat has one repeat."""

    seeds: list[int]
    repeats: int
    test: dict[str, Any]
    val: dict[str, Any]


def collapsed(trials: pd.DataFrame, chance: float | None) -> Any:
    """Which completed runs of `trials` collapsed (best validation accuracy ≤ COLLAPSE_FACTOR × chance)."""
    if chance is None or not chance > 0:
        return np.zeros(len(trials), dtype=bool)
    val = floats(trials["val_accuracy"])
    return (trials["status"] == TrialStatus.COMPLETED).to_numpy() & (val <= COLLAPSE_FACTOR * chance)


def score_cube(
    final: pd.DataFrame,
    hashes: Sequence[str],
    seeds: Sequence[int],
    repeats: int,
    column: str,
    failed: float,
    chance: float | None = None,
) -> Any:
    """(architectures × repeats × seeds) of `column` for completed final runs and `failed` for diverged
    and collapsed ones; NaN where there is no finished run."""
    out = np.full((len(hashes), repeats, len(seeds)), np.nan)
    where_hash = {h: i for i, h in enumerate(hashes)}
    where_seed = {s: j for j, s in enumerate(seeds)}
    done = final[final["status"].isin(FINISHED)]
    values = floats(done[column])
    gone = collapsed(done, chance)
    for h, r, s, status, v, lost in zip(
        done["graph_hash"], done["repeat"], done["seed"], done["status"], values, gone, strict=True
    ):
        i, j, k = where_hash.get(h), int(r), where_seed.get(int(s))
        if i is None or k is None or not 0 <= j < repeats:
            continue
        out[i, j, k] = failed if status == TrialStatus.DIVERGED or lost else v
    return out


def scores_of(inputs: Inputs, metric: Metric, hashes: Sequence[str]) -> Scores:
    plan = inputs.plan
    final = inputs.trials[inputs.trials["phase"] == Phase.FINAL]
    seeds = list(plan.seeds)
    failed = diverged_score(metric.higher_is_better, plan.chance)
    test, val = {}, {}
    for arm in final_arms(plan):
        mine = final[final["arm"] == arm]
        repeats = plan.search_repeats if repeats_finals(plan, arm) else 1
        test[arm] = score_cube(mine, hashes, seeds, repeats, metric.column, failed, plan.chance)
        val[arm] = score_cube(mine, hashes, seeds, repeats, metric.val_column, failed, plan.chance)
    return Scores(seeds, plan.search_repeats, test, val)


# --- the per-architecture frame -----------------------------------------------------------------


def chosen_lrs(inputs: Inputs, arm: str, hashes: Sequence[str]) -> list[float]:
    """Per architecture: the plan's chosen LR for `arm` (median over repeats), else its final runs'."""
    choices = inputs.plan.choices
    mine = choices[choices["arm"] == arm] if len(choices) else choices
    planned = mine.assign(_lr=floats(mine["lr"])).groupby("graph_hash")["_lr"].median().to_dict() if len(mine) else {}
    trials = inputs.trials
    final = trials[(trials["phase"] == Phase.FINAL) & (trials["arm"] == arm)]
    ran = final.assign(_lr=floats(final["hp_lr"])).groupby("graph_hash")["_lr"].median().to_dict()
    out = []
    for h in hashes:
        value = planned.get(h, math.nan)
        out.append(float(value) if math.isfinite(value) else float(ran.get(h, math.nan)))
    return out


def per_architecture(inputs: Inputs, metric: Metric, rows: pd.DataFrame) -> tuple[pd.DataFrame, Scores]:
    """The per-architecture frame (see the module docstring) and the scores it was computed from."""
    plan = inputs.plan
    hashes = rows["graph_hash"].tolist()
    scores = scores_of(inputs, metric, hashes)
    arms = final_arms(plan)
    columns: dict[str, Any] = {}
    for arm in arms:
        columns[f"{arm}_lr"] = chosen_lrs(inputs, arm, hashes)
    for arm in arms:
        cube = scores.test[arm]
        estimates = [stats.mean_estimate(row[None], metric.bounds) for row in cube]
        flat = [row[np.isfinite(row)] for row in cube.reshape(len(hashes), cube.shape[1] * cube.shape[2])]
        columns[f"{arm}_mean"] = [e.value for e in estimates]
        columns[f"{arm}_std"] = [float(np.std(v, ddof=1)) if v.size > 1 else math.nan for v in flat]
        columns[f"{arm}_n"] = [int(v.size) for v in flat]
        columns[f"{arm}_ci_lo"] = [e.lo for e in estimates]
        columns[f"{arm}_ci_hi"] = [e.hi for e in estimates]
        columns[f"{arm}_ci_method"] = [e.method for e in estimates]
        columns[f"{arm}_ci_varies"] = [",".join(e.varies) for e in estimates]
        columns[f"{arm}_ci_fixed"] = [",".join(e.fixed) for e in estimates]
        columns[f"{arm}_rank"] = stats.ranks(columns[f"{arm}_mean"], metric.higher_is_better)
    pairs = [(a, b) for a, b in plan.pairs if a in scores.test and b in scores.test]
    calls = {
        (a, b): [
            stats.per_row_level(stats.difference_estimates(x[None], y[None], metric.difference_bounds))
            for x, y in zip(scores.test[a], scores.test[b], strict=True)
        ]
        for a, b in pairs
    }
    rejected = iter(stats.holm([e.p for diffs in calls.values() for e in diffs]))
    for (a, b), diffs in calls.items():
        key = pair_key(a, b)
        columns[f"{key}_diff"] = [e.value for e in diffs]
        columns[f"{key}_lo"] = [e.lo for e in diffs]
        columns[f"{key}_hi"] = [e.hi for e in diffs]
        columns[f"{key}_n"] = [e.n for e in diffs]
        columns[f"{key}_method"] = [e.method for e in diffs]
        columns[f"{key}_varies"] = [",".join(e.varies) for e in diffs]
        columns[f"{key}_fixed"] = [",".join(e.fixed) for e in diffs]
        columns[f"{key}_outcome"] = [stats.outcome(e, metric.higher_is_better, next(rejected)) for e in diffs]
        with np.errstate(divide="ignore", invalid="ignore"):
            columns[f"{key}_lr_ratio"] = np.asarray(columns[f"{a}_lr"]) / np.asarray(columns[f"{b}_lr"])
    frame = rows.assign(**columns)
    frame = frame.assign(**_search_costs(inputs, hashes, arms))
    frame = frame.assign(**_final_counts(inputs, hashes, arms))
    runs = {arm: len(plan.seeds) * (plan.search_repeats if repeats_finals(plan, arm) else 1) for arm in arms}
    frame["notes"] = [_row_note(r, runs) for r in frame.to_dict("records")]
    return frame.reset_index(drop=True), scores


def _search_costs(inputs: Inputs, hashes: Sequence[str], arms: Sequence[str]) -> dict[str, Any]:
    """Per arm and architecture: its search trials, epochs and device-seconds (means over repeats; a
    study-scope search amortised over the listed architectures), and pruned and diverged search trials."""
    charged = charges(inputs)
    n_listed = max(len(listed(inputs.plan)), 1)
    out: dict[str, Any] = {}
    for arm in arms:
        repeats = search_repeats(inputs.plan, arm)
        mine = charged[charged["charged_arm"] == arm]
        study = mine[mine["scope"] == STUDY_SCOPE]
        local = mine[mine["scope"] != STUDY_SCOPE]
        shared = _totals(study) / (repeats * n_listed)
        per = {h: _totals(group) / repeats for h, group in local.groupby("graph_hash")}
        none = np.zeros(5)
        values = [per.get(h, none) + np.append(shared[:3], [0.0, 0.0]) for h in hashes]
        for i, name in enumerate(("trials", "epochs", "device_s", "pruned", "diverged")):
            out[f"{arm}_search_{name}"] = [float(v[i]) for v in values]
    return out


def _totals(trials: pd.DataFrame) -> np.ndarray:
    """trials, epochs, device-seconds, pruned, diverged of a set of trials."""
    status = trials["status"]
    return np.array(
        [
            float(len(trials)),
            float(np.nansum(floats(trials["budget_reached"]))),
            float(np.nansum(floats(trials["device_seconds"]))),
            float((status == TrialStatus.PRUNED).sum()),
            float((status == TrialStatus.DIVERGED).sum()),
        ]
    )


def _final_counts(inputs: Inputs, hashes: Sequence[str], arms: Sequence[str]) -> dict[str, Any]:
    final = inputs.trials[inputs.trials["phase"] == Phase.FINAL]
    counts = final.groupby(["arm", "graph_hash", "status"]).size().to_dict()
    out: dict[str, Any] = {}
    for arm in arms:
        planned = len(inputs.plan.seeds) * (inputs.plan.search_repeats if repeats_finals(inputs.plan, arm) else 1)
        finished = [sum(counts.get((arm, h, str(st)), 0) for st in FINISHED) for h in hashes]
        out[f"{arm}_diverged"] = [int(counts.get((arm, h, str(TrialStatus.DIVERGED)), 0)) for h in hashes]
        mine = final[final["arm"] == arm]
        gone = mine.loc[collapsed(mine, inputs.plan.chance), "graph_hash"].value_counts().to_dict()
        out[f"{arm}_collapsed"] = [int(gone.get(h, 0)) for h in hashes]
        out[f"{arm}_missing"] = [max(planned - f, 0) for f in finished]
    return out


def _row_note(row: dict[str, Any], final_runs: dict[str, int]) -> str:
    """The row's note: per arm (with `final_runs` per architecture), its failed or missing runs."""
    parts = []
    for arm, runs in final_runs.items():
        if row[f"{arm}_diverged"]:
            parts.append(f"{arm}: {row[f'{arm}_diverged']} of {runs} final runs diverged")
        if row[f"{arm}_collapsed"]:
            parts.append(f"{arm}: {row[f'{arm}_collapsed']} of {runs} final runs collapsed")
        if row[f"{arm}_missing"]:
            parts.append(f"{arm}: {row[f'{arm}_missing']} of {runs} final runs missing")
        pruned, diverged = row[f"{arm}_search_pruned"], row[f"{arm}_search_diverged"]
        if pruned or diverged:
            parts.append(f"{arm} search: {pruned:g} pruned, {diverged:g} diverged of {row[f'{arm}_search_trials']:g}")
    return "; ".join(parts)
