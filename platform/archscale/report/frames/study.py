"""A study's frames: the store's rows for one study (`read_trials`, `read_epochs`) and its plan
(`read_plan`), and what the plan says about them. Everything is per **arm** and generic: nothing here
knows a strategy kind, and nothing here estimates.

Conventions (`archscale.report.render.json` lists every column for users):
- an arm's score on an architecture is the metric of its final runs over seeds (and search repeats),
  laid out as (architectures × repeats × seeds) cubes (`scores_of`); a failed final run is a result:
  one that diverged, or that **collapsed** (completed with its best validation accuracy at most
  `COLLAPSE_FACTOR` × chance), scores chance (`plan.chance` for accuracies, −ln chance for losses);
  pending, running and failed-to-run runs are missing (NaN);
- search cost is charged by `plan.searches` (`charges`): a search of scope "architecture" to its
  architecture, one of scope "study" once per study; trials of other non-final phases (the probe grid)
  to their own arm and architecture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from archscale.vocabulary import Phase, TrialStatus

if TYPE_CHECKING:
    from collections.abc import Sequence

    from archscale.report.frames.metrics import Metric
    from archscale.store import StudyPlan

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


def final_scores(inputs: Inputs, arm: str) -> pd.DataFrame:
    """Architectures × seeds: the arm's completed repeat-0 final runs' test accuracy."""
    t = inputs.trials
    runs = t[
        (t["phase"] == Phase.FINAL) & (t["arm"] == arm) & (t["repeat"] == 0) & (t["status"] == TrialStatus.COMPLETED)
    ]
    return runs.pivot_table(index="graph_hash", columns="seed", values="test_accuracy", aggfunc="first")
