"""The cost ledger: per strategy, what its search and its final runs cost, in trials, epochs and
device-seconds, and the best-so-far search curves (validation score vs cumulative device-hours)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from archscale.report import stats
from archscale.report.frames import (
    Inputs,
    Scores,
    base_search_charged_to,
    floats,
    present_strategies,
    search_order,
)
from archscale.report.metrics import Metric

HOUR = 3600.0
COST_COLUMNS = [
    "strategy",
    "architectures",
    "search_trials",
    "search_completed",
    "search_pruned",
    "search_diverged",
    "search_failed",
    "search_epochs",
    "search_device_s",
    "search_device_s_per_architecture",
    "final_trials",
    "final_epochs",
    "final_device_s",
    "total_device_s",
    "search_device_h",
    "total_device_h",
    "note",
]


def search_trials(inputs: Inputs, strategy: str) -> pd.DataFrame:
    """The trials charged to `strategy` before its final runs."""
    trials = inputs.trials
    if strategy == "tuned":
        return trials[(trials["phase"] == "search") & (trials["strategy"] == "tuned")]
    if strategy == "probe":
        return trials[trials["phase"] == "probe"]
    if strategy in base_search_charged_to(inputs):
        return trials[trials["phase"] == "base-search"]
    return trials.iloc[0:0]


def cost_frame(inputs: Inputs, n_architectures: int) -> pd.DataFrame:
    """One row per strategy of the study (compared ones, then `probe`)."""
    strategies = present_strategies(inputs)
    if ("probe" in inputs.planned.strategies) or (inputs.trials["phase"] == "probe").any():
        strategies = [*strategies, "probe"]
    charged = base_search_charged_to(inputs)
    rows = []
    for strategy in strategies:
        search = search_trials(inputs, strategy)
        final = inputs.trials[(inputs.trials["phase"] == "final") & (inputs.trials["strategy"] == strategy)]
        status = search["status"].value_counts()
        search_s = float(np.nansum(floats(search["device_seconds"])))
        final_s = float(np.nansum(floats(final["device_seconds"])))
        note = ""
        if strategy in charged:
            others = [s for s in charged if s != strategy]
            note = "base-LR search, charged once per study" + (f" (shared with {', '.join(others)})" if others else "")
        elif strategy == "fixed":
            note = "given LR: no search"
        elif strategy == "probe":
            note = "LR grid per architecture (base network included)"
        n_arch = inputs.trials.loc[search.index, "graph_hash"].nunique() if strategy == "probe" else n_architectures
        rows.append(
            {
                "strategy": strategy,
                "architectures": n_arch,
                "search_trials": len(search),
                "search_completed": int(status.get("completed", 0)),
                "search_pruned": int(status.get("pruned", 0)),
                "search_diverged": int(status.get("diverged", 0)),
                "search_failed": int(status.get("failed", 0)),
                "search_epochs": int(np.nansum(floats(search["budget_reached"]))),
                "search_device_s": search_s,
                "search_device_s_per_architecture": search_s / n_arch if n_arch else math.nan,
                "final_trials": len(final),
                "final_epochs": int(np.nansum(floats(final["budget_reached"]))),
                "final_device_s": final_s,
                "total_device_s": search_s + final_s,
                "search_device_h": search_s / HOUR,
                "total_device_h": (search_s + final_s) / HOUR,
                "note": note,
            }
        )
    return pd.DataFrame(rows, columns=COST_COLUMNS)


def search_curves(inputs: Inputs, metric: Metric, hashes: list[str], scores: Scores) -> pd.DataFrame:
    """Best-so-far validation score vs cumulative search device-hours, per strategy.

    `tuned`: after each search trial (in the order they finished), the mean over architectures of
    each architecture's best completed validation score so far; points start once every architecture
    has one. `principled` and `fixed`: one point each, at their search cost, with the mean over
    architectures of their final runs' validation score (their search picks no per-architecture LR).
    Columns: strategy, device_hours, score, kind (`search` or `final`).
    """
    rows: list[dict[str, Any]] = []
    tuned = search_trials(inputs, "tuned")
    if not tuned.empty and hashes:
        ordered = search_order(tuned)
        best = dict.fromkeys(hashes, math.nan)
        spent = 0.0
        for h, status, value, seconds in zip(
            ordered["graph_hash"],
            ordered["status"],
            floats(ordered[metric.val_column]),
            floats(ordered["device_seconds"]),
            strict=True,
        ):
            spent += 0.0 if math.isnan(seconds) else seconds
            if h in best and status == "completed" and math.isfinite(value):
                old = best[h]
                better = value > old if metric.higher_is_better else value < old
                best[h] = value if math.isnan(old) or better else old
            values = list(best.values())
            score = float(np.mean(values)) if all(math.isfinite(v) for v in values) else math.nan
            rows.append({"strategy": "tuned", "device_hours": spent / HOUR, "score": score, "kind": "search"})
    for strategy in ("principled", "fixed"):
        if strategy not in scores.val:
            continue
        per_arch = [stats.nanmean(row) for row in scores.val[strategy]]
        finite = [v for v in per_arch if math.isfinite(v)]
        if len(finite) != len(per_arch) or not finite:
            continue
        spent = float(np.nansum(floats(search_trials(inputs, strategy)["device_seconds"])))
        rows.append(
            {"strategy": strategy, "device_hours": spent / HOUR, "score": float(np.mean(finite)), "kind": "final"}
        )
    return pd.DataFrame(rows, columns=["strategy", "device_hours", "score", "kind"])
