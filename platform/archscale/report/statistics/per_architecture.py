"""The per-architecture frame of a comparison (statistics stage): one row per compared architecture with
each arm's LR, score estimate and rank, each pair's paired difference and call, and what each arm's
search cost there.

- an arm's score is the mean of its score cube (`frames.study.scores_of`) over repeats and seeds; failed
  final runs score chance and count in means, wins and losses;
- differences a − b are paired on (architecture, repeat, seed) and estimated at every level the data
  allow (`stats.difference_estimates`: seeds; search repeats and seeds; architectures), each interval
  naming what it resamples; an architecture's call for a is win, loss or inconclusive by its
  difference over repeats and seeds (seeds without repeats), Holm-adjusted across every pair and
  architecture of the study (`stats.holm`; `calls_m` is its m);
- search cost per architecture: a study-scope search amortised over the listed architectures; costs are
  means over repeats;
- an arm's LR is the plan's choice (median over repeats), else its final runs' median LR.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from archscale.report.frames.study import (
    FINISHED,
    STUDY_SCOPE,
    Inputs,
    Scores,
    charges,
    collapsed,
    final_arms,
    floats,
    listed,
    pair_key,
    repeats_finals,
    scores_of,
    search_repeats,
)
from archscale.report.statistics import stats
from archscale.vocabulary import Phase, TrialStatus

if TYPE_CHECKING:
    from collections.abc import Sequence

    from archscale.report.frames.metrics import Metric


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


def calls_m(per_architecture: pd.DataFrame, pairs: Sequence[tuple[str, str]]) -> int:
    """How many per-architecture calls the study makes (`pairs` × architectures with a difference): the m
    of their Holm adjustment."""
    pa = per_architecture
    return int(sum((pa[f"{pair_key(a, b)}_outcome"] != "").sum() for a, b in pairs))


def failures(per_architecture: pd.DataFrame, arm: str) -> dict[str, int]:
    """An arm's final runs that diverged and that collapsed (0 for an arm without final runs)."""
    pa = per_architecture
    return {
        failure: int(pa[f"{arm}_{failure}"].sum()) if f"{arm}_{failure}" in pa else 0
        for failure in ("diverged", "collapsed")
    }
