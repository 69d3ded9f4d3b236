"""What each arm's search cost, and what it bought.

- `cost_frame`: the ledger, one row per arm: search and final trials, epochs and device-seconds
  (means over search repeats), charged as `plan.searches` says;
- `searches_frame`: every search with its budget (trials, sampler, LR range, early stopping, init,
  epochs) and what it ran;
- `search_curves`: best-so-far validation score vs cumulative search device-hours;
- `matching`: cost to match. For an arm A that searches each architecture and an arm B it is paired
  with: A's score after its first k search trials (k = 1..N, in Optuna's trial order), *estimated from
  the search's own trials*: the metric of the trial the search would pick after k trials (the best
  validation accuracy so far, ties to the smaller LR; pruned, diverged and failed trials cannot be
  picked), against B's final-run mean on the same architecture and repeat. The study-level number
  of trials to match is the first k where the mean over architectures reaches B's mean.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from archscale.report.frames.metrics import Metric
from archscale.report.frames.study import (
    ARCHITECTURE_SCOPE,
    Inputs,
    Scores,
    charged_searches,
    charges,
    final_arms,
    floats,
    listed,
    pair_key,
    repeats_finals,
    search_repeats,
    searches_per_architecture,
    short_label,
)
from archscale.report.statistics import stats
from archscale.vocabulary import Phase, TrialStatus

if TYPE_CHECKING:
    from collections.abc import Sequence

HOUR = 3600.0
SELECTION = "val_accuracy"
"""What the searches maximise, and so what picks a search's trial."""
COST_COLUMNS = [
    "arm",
    "kind",
    "architectures",
    "repeats",
    "search_trials",
    "search_completed",
    "search_pruned",
    "search_diverged",
    "search_failed",
    "search_epochs",
    "search_device_s",
    "search_device_s_per_architecture",
    "final_trials",
    "final_diverged",
    "final_epochs",
    "final_device_s",
    "total_device_s",
    "search_device_h",
    "total_device_h",
    "note",
]
SEARCH_COLUMNS = [
    "search",
    "phase",
    "arms",
    "scope",
    "graph_hash",
    "label",
    "repeat",
    "budget_trials",
    "sampler",
    "low",
    "high",
    "early_stopping",
    "init",
    "epochs",
    "trials",
    "completed",
    "pruned",
    "diverged",
    "failed",
    "device_s",
    "chosen_lr",
]
MATCH_COLUMNS = [
    "arm",
    "against",
    "graph_hash",
    "label",
    "repeat",
    "trials",
    "target",
    "final_pick",
    "trials_to_match",
    "device_s_to_match",
]
MATCH_CURVE_COLUMNS = ["arm", "against", "repeat", "k", "score", "target", "device_s"]


# --- the ledger ---------------------------------------------------------------------------------


def ledger_arms(inputs: Inputs) -> list[str]:
    """Arms with final runs or with search cost, in the plan's order."""
    charged = set(charges(inputs)["charged_arm"])
    arms = inputs.plan.arms.sort_values("position", kind="stable")
    return [str(a) for a, f in zip(arms["arm"], arms["final"], strict=True) if bool(f) or str(a) in charged]


def cost_frame(inputs: Inputs) -> pd.DataFrame:
    """One row per arm of `ledger_arms`; search and final columns are means over the repeats."""
    plan = inputs.plan
    charged = charges(inputs)
    final = inputs.trials[inputs.trials["phase"] == Phase.FINAL]
    kinds = dict(zip(plan.arms["arm"], plan.arms["kind"], strict=True))
    finals = set(final_arms(plan))
    n_listed = len(listed(plan))
    rows = []
    for arm in ledger_arms(inputs):
        search = charged[charged["charged_arm"] == arm]
        mine = final[final["arm"] == arm]
        repeats = search_repeats(plan, arm)
        final_repeats = plan.search_repeats if repeats_finals(plan, arm) else 1
        status = search["status"].value_counts()
        search_s = float(np.nansum(floats(search["device_seconds"]))) / repeats
        final_s = float(np.nansum(floats(mine["device_seconds"]))) / final_repeats
        n_arch = n_listed if arm in finals else int(search["graph_hash"].nunique())
        rows.append(
            {
                "arm": arm,
                "kind": str(kinds[arm]),
                "architectures": n_arch,
                "repeats": repeats,
                "search_trials": len(search) / repeats,
                "search_completed": int(status.get(TrialStatus.COMPLETED, 0)) / repeats,
                "search_pruned": int(status.get(TrialStatus.PRUNED, 0)) / repeats,
                "search_diverged": int(status.get(TrialStatus.DIVERGED, 0)) / repeats,
                "search_failed": int(status.get(TrialStatus.FAILED, 0)) / repeats,
                "search_epochs": float(np.nansum(floats(search["budget_reached"]))) / repeats,
                "search_device_s": search_s,
                "search_device_s_per_architecture": search_s / n_arch if n_arch else math.nan,
                "final_trials": len(mine) / final_repeats,
                "final_diverged": int((mine["status"] == TrialStatus.DIVERGED).sum()) / final_repeats,
                "final_epochs": float(np.nansum(floats(mine["budget_reached"]))) / final_repeats,
                "final_device_s": final_s,
                "total_device_s": search_s + final_s,
                "search_device_h": search_s / HOUR,
                "total_device_h": (search_s + final_s) / HOUR,
                "note": _ledger_note(inputs, arm, search, repeats, n_listed),
            }
        )
    return pd.DataFrame(rows, columns=COST_COLUMNS)


def _ledger_note(inputs: Inputs, arm: str, search: pd.DataFrame, repeats: int, n_listed: int) -> str:
    planned = charged_searches(inputs.plan, arm)
    if search.empty and planned.empty:
        return "LR not searched"
    parts = []
    for (phase, scope), group in planned.groupby(["phase", "scope"], sort=False):
        others = sorted({a for arms in group["arms"] for a in arms if a != arm})
        where = "per architecture" if scope == ARCHITECTURE_SCOPE else f"once per study, amortised over {n_listed}"
        shared = f", shared with {', '.join(others)}" if others else ""
        parts.append(f"{phase}: {where}{shared}")
    unplanned = search[search["search"] == ""]
    parts += [f"{phase}: per architecture" for phase in dict.fromkeys(unplanned["phase"])]
    if repeats > 1:
        parts.append(f"means over {repeats} repeats")
    return "; ".join(parts)


# --- searches and their budgets -----------------------------------------------------------------


def budget_text(value: Any) -> str:
    """A budget field as text: a dict as `k=v, ...`, None as `none`."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "none"
    if isinstance(value, dict):
        return ", ".join(f"{k}={budget_text(v)}" for k, v in value.items()) or "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


def searches_frame(inputs: Inputs) -> pd.DataFrame:
    """One row per planned search: its budget and what ran (trial counts, device-seconds, chosen LR)."""
    plan = inputs.plan
    notation = dict(zip(plan.architectures["graph_hash"], plan.architectures["notation"], strict=True))
    family = dict(zip(plan.architectures["graph_hash"], plan.architectures["family"], strict=True))
    trials = inputs.trials
    names = trials["optuna_study"] if "optuna_study" in trials else pd.Series(dtype=str)
    chosen: dict[str, float] = {}
    if len(plan.choices):
        for name, lr in zip(plan.choices["search"], floats(plan.choices["lr"]), strict=True):
            if isinstance(name, str) and math.isfinite(lr):
                chosen.setdefault(name, lr)
    rows = []
    for s in plan.searches.to_dict("records"):
        budget = s["budget"] if isinstance(s["budget"], dict) else {}
        ran = trials[names == s["name"]]
        status = ran["status"].value_counts()
        h = str(s["graph_hash"])
        rows.append(
            {
                "search": s["name"],
                "phase": s["phase"],
                "arms": ", ".join(s["arms"]),
                "scope": s["scope"],
                "graph_hash": h,
                "label": short_label(str(notation.get(h, h)), str(family.get(h, ""))),
                "repeat": int(s["repeat"]),
                "budget_trials": budget.get("trials"),
                "sampler": budget_text(budget.get("sampler")),
                "low": budget.get("low"),
                "high": budget.get("high"),
                "early_stopping": budget_text(budget.get("early_stopping")),
                "init": budget_text(budget.get("init")),
                "epochs": budget.get("epochs"),
                "trials": len(ran),
                "completed": int(status.get(TrialStatus.COMPLETED, 0)),
                "pruned": int(status.get(TrialStatus.PRUNED, 0)),
                "diverged": int(status.get(TrialStatus.DIVERGED, 0)),
                "failed": int(status.get(TrialStatus.FAILED, 0)),
                "device_s": float(np.nansum(floats(ran["device_seconds"]))),
                "chosen_lr": chosen.get(str(s["name"]), math.nan),
            }
        )
    return pd.DataFrame(rows, columns=SEARCH_COLUMNS)


# --- curves -------------------------------------------------------------------------------------


def search_curves(inputs: Inputs, metric: Metric, hashes: list[str], scores: Scores) -> pd.DataFrame:
    """Best-so-far validation score vs cumulative search device-hours, per arm and repeat.

    An arm that searches each architecture: after each of its search trials (in the order they
    finished), the mean over architectures of each one's best completed validation score so far, from
    when every architecture has one. Other arms with final runs: one point at their search cost (per
    repeat) with the mean over architectures of their final runs' validation score.
    Columns: arm, repeat, device_hours, score, kind (`search` or `final`).
    """
    rows: list[dict[str, Any]] = []
    charged = charges(inputs)
    for arm in final_arms(inputs.plan):
        mine = charged[charged["charged_arm"] == arm]
        if searches_per_architecture(inputs.plan, arm):
            for repeat, group in mine[mine["scope"] == ARCHITECTURE_SCOPE].groupby("repeat"):
                rows += _curve(arm, int(repeat), group, metric, hashes)
        elif arm in scores.val:
            per_arch = [stats.nanmean(row) for row in scores.val[arm]]
            if per_arch and all(math.isfinite(v) for v in per_arch):
                spent = float(np.nansum(floats(mine["device_seconds"]))) / search_repeats(inputs.plan, arm)
                rows.append(
                    {
                        "arm": arm,
                        "repeat": 0,
                        "device_hours": spent / HOUR,
                        "score": float(np.mean(per_arch)),
                        "kind": "final",
                    }
                )
    return pd.DataFrame(rows, columns=["arm", "repeat", "device_hours", "score", "kind"])


def _curve(arm: str, repeat: int, trials: pd.DataFrame, metric: Metric, hashes: list[str]) -> list[dict[str, Any]]:
    ordered = trials.sort_values(["finished_at", "trial_number"], na_position="last", kind="stable")
    best = dict.fromkeys(hashes, math.nan)
    spent, rows = 0.0, []
    for h, status, value, seconds in zip(
        ordered["graph_hash"],
        ordered["status"],
        floats(ordered[metric.val_column]),
        floats(ordered["device_seconds"]),
        strict=True,
    ):
        spent += 0.0 if math.isnan(seconds) else seconds
        if h in best and status == TrialStatus.COMPLETED and math.isfinite(value):
            old = best[h]
            better = value > old if metric.higher_is_better else value < old
            best[h] = value if math.isnan(old) or better else old
        values = list(best.values())
        score = float(np.mean(values)) if values and all(math.isfinite(v) for v in values) else math.nan
        rows.append({"arm": arm, "repeat": repeat, "device_hours": spent / HOUR, "score": score, "kind": "search"})
    return rows


# --- cost to match ------------------------------------------------------------------------------


def matched_pairs(inputs: Inputs, scores: Scores) -> list[tuple[str, str]]:
    """(A, B): A searches each architecture, B has final runs, and the study pairs them (either order)."""
    out: list[tuple[str, str]] = []
    for a, b in inputs.plan.pairs:
        for searcher, target in ((a, b), (b, a)):
            if (
                searches_per_architecture(inputs.plan, searcher)
                and target in scores.test
                and (searcher, target) not in out
            ):
                out.append((searcher, target))
    return out


def matched_pairs_of(match: pd.DataFrame) -> list[tuple[str, str]]:
    """The (A, B) pairs a `matching` frame holds, in order."""
    return [(str(a), str(b)) for a, b in dict.fromkeys(zip(match["arm"], match["against"], strict=True))]


def matching(
    inputs: Inputs, metric: Metric, hashes: Sequence[str], labels: Sequence[str], scores: Scores
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per architecture and repeat, study-level curves per repeat) of cost to match; see the module
    docstring. Device-seconds are per architecture (the mean over architectures at the study level)."""
    charged = charges(inputs)
    rows: list[dict[str, Any]] = []
    curves: list[dict[str, Any]] = []
    for arm, against in matched_pairs(inputs, scores):
        mine = charged[(charged["charged_arm"] == arm) & (charged["scope"] == ARCHITECTURE_SCOPE)]
        searches = {key: group for key, group in mine.groupby(["graph_hash", "repeat"], sort=False)}
        none = mine.iloc[:0]
        target_cube = np.broadcast_to(scores.test[against], (len(hashes), scores.repeats, len(scores.seeds)))
        unsearched: tuple[np.ndarray, np.ndarray] | None = None  # an architecture without a search: no picks
        for repeat in range(scores.repeats):
            picks, spent, targets = [], [], []
            for i, (h, label) in enumerate(zip(hashes, labels, strict=True)):
                search = searches[(h, repeat)].sort_values("trial_number") if (h, repeat) in searches else none
                pick, cost = _picks(search, metric) if len(search) or unsearched is None else unsearched
                if not len(search):
                    unsearched = pick, cost
                target = stats.nanmean(target_cube[i, repeat])
                k = stats.first_reaching(pick, target, metric.higher_is_better)
                rows.append(
                    {
                        "arm": arm,
                        "against": against,
                        "graph_hash": h,
                        "label": label,
                        "repeat": repeat,
                        "trials": len(search),
                        "target": target,
                        "final_pick": float(pick[-1]) if pick.size else math.nan,
                        "trials_to_match": k,
                        "device_s_to_match": float(cost[int(k) - 1]) if math.isfinite(k) else math.nan,
                    }
                )
                if len(search) and math.isfinite(target):
                    picks.append(pick)
                    spent.append(cost)
                    targets.append(target)
            curves += _study_curve(arm, against, repeat, picks, spent, targets)
    return pd.DataFrame(rows, columns=MATCH_COLUMNS), pd.DataFrame(curves, columns=MATCH_CURVE_COLUMNS)


def _picks(search: pd.DataFrame, metric: Metric) -> tuple[np.ndarray, np.ndarray]:
    """A search's (trials in order) best pick so far by the selection score and its cumulative device-seconds."""
    selection = np.where(search["status"] == TrialStatus.COMPLETED, floats(search[SELECTION]), np.nan)
    pick = stats.picked_so_far(selection, floats(search[metric.column]), floats(search["hp_lr"]))
    return pick, np.cumsum(np.nan_to_num(floats(search["device_seconds"])))


def _study_curve(
    arm: str, against: str, repeat: int, picks: list[Any], spent: list[Any], targets: list[float]
) -> list[dict[str, Any]]:
    """Mean over architectures after k trials each (an architecture whose search had fewer trials
    keeps its last pick and cost)."""
    if not picks:
        return []
    longest = max(p.size for p in picks)
    grid = np.array([np.pad(p, (0, longest - p.size), mode="edge") for p in picks])
    cost = np.array([np.pad(c, (0, longest - c.size), mode="edge") for c in spent])
    score = np.where(np.isfinite(grid).all(axis=0), np.nanmean(np.where(np.isfinite(grid), grid, 0), axis=0), np.nan)
    target = float(np.mean(targets))
    return [
        {
            "arm": arm,
            "against": against,
            "repeat": repeat,
            "k": k + 1,
            "score": float(score[k]),
            "target": target,
            "device_s": float(cost[:, k].mean()),
        }
        for k in range(longest)
    ]


def study_to_match(curves: pd.DataFrame, arm: str, against: str, higher_is_better: bool) -> pd.DataFrame:
    """Per repeat: the first k where the study-level curve reaches its target (NaN if never), the mean
    device-seconds per architecture spent by then, and the trials the curve has."""
    rows = []
    mine = curves[(curves["arm"] == arm) & (curves["against"] == against)]
    for repeat, curve in mine.groupby("repeat"):
        curve = curve.sort_values("k")
        k = stats.first_reaching(curve["score"].to_numpy(dtype=float), float(curve["target"].iloc[0]), higher_is_better)
        seconds = float(curve["device_s"].iloc[int(k) - 1]) if math.isfinite(k) else math.nan
        rows.append({"repeat": int(repeat), "trials_to_match": k, "device_s_to_match": seconds, "trials": len(curve)})
    return pd.DataFrame(rows, columns=["repeat", "trials_to_match", "device_s_to_match", "trials"])


def per_architecture_match(match: pd.DataFrame, hashes: Sequence[str]) -> dict[str, list[float]]:
    """Per-architecture columns `{A}:{B}_match_trials` and `_match_device_s`: the median over repeats
    (a repeat that never matched counts as infinite; NaN when the median did not match)."""
    out: dict[str, list[float]] = {}
    for (arm, against), group in match.groupby(["arm", "against"], sort=False):
        key = pair_key(str(arm), str(against))
        by_hash = {str(h): rows for h, rows in group.groupby("graph_hash", sort=False)}
        for column, name in (("trials_to_match", "match_trials"), ("device_s_to_match", "match_device_s")):
            values = []
            for h in hashes:
                rows = by_hash.get(h)
                mine = rows[column].to_numpy(dtype=float) if rows is not None else np.empty(0)
                median = float(np.median(np.where(np.isfinite(mine), mine, np.inf))) if mine.size else math.nan
                values.append(median if math.isfinite(median) else math.nan)
            out[f"{key}_{name}"] = values
    return out


def mean_match_curve(curves: pd.DataFrame) -> pd.Series:
    """An arm's cost-to-match curve (`match_curves` rows of one arm and its paired arm): the score after k
    trials, mean over repeats, indexed by k."""
    return curves.groupby("k")["score"].mean()
