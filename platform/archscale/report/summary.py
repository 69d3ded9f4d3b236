"""The summary statistics and the rank-agreement frame of a comparison.

`summary` is long: one row per statistic, keyed by a stable dotted `key` (the JSON's keys), with its
value, interval (`lo`, `hi`; NaN where it is not an estimate or cannot be computed), `n` (what the
statistic was computed over: architectures, or trials for costs), `expected` (the paper's prediction
or reported value, where there is one) and `unit`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from archscale.report import stats
from archscale.report.frames import EXPECTED_DEPTH_EXPONENT, EXPECTED_LR_SLOPE, PAIRS, TOP_PERCENTS, Scores
from archscale.report.metrics import Metric
from archscale.report.probe import paper_reference

SUMMARY_COLUMNS = ["key", "section", "statistic", "value", "lo", "hi", "n", "expected", "unit"]
RANKING_COLUMNS = ["strategy_a", "strategy_b", "top_percent", "n", "kendall_tau", "spearman_rho", "top_overlap"]
SUMMARY_TOP_PERCENT = 25


class _Rows:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(
        self,
        key: str,
        section: str,
        statistic: str,
        value: float,
        n: int,
        *,
        lo: float = math.nan,
        hi: float = math.nan,
        expected: float = math.nan,
        unit: str = "",
    ) -> None:
        self.rows.append(
            dict(
                zip(
                    SUMMARY_COLUMNS,
                    (key, section, statistic, float(value), float(lo), float(hi), int(n), float(expected), unit),
                    strict=True,
                )
            )
        )

    def estimate(self, key: str, section: str, statistic: str, e: stats.Estimate, **kw: Any) -> None:
        self.add(key, section, statistic, e.value, e.n, lo=e.lo, hi=e.hi, **kw)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=SUMMARY_COLUMNS)


def rankings_frame(per_arch: pd.DataFrame, strategies: list[str], metric: Metric) -> pd.DataFrame:
    """For each pair of strategies (a, b) with final scores: Kendall τ, Spearman ρ and top overlap of
    their architecture rankings, over all architectures (100) and over the top K% by b."""
    rows = []
    for a, b in PAIRS:
        if a not in strategies or b not in strategies:
            continue
        xa, xb = per_arch[f"{a}_mean"].to_numpy(dtype=float), per_arch[f"{b}_mean"].to_numpy(dtype=float)
        for percent in TOP_PERCENTS:
            top = stats.top_agreement(xa, xb, percent / 100, metric.higher_is_better)
            rows.append(
                dict(
                    zip(
                        RANKING_COLUMNS,
                        (a, b, percent, top.n, top.kendall_tau, top.spearman_rho, top.overlap),
                        strict=True,
                    )
                )
            )
    return pd.DataFrame(rows, columns=RANKING_COLUMNS)


def summary_frame(
    per_arch: pd.DataFrame,
    scores: Scores,
    cost: pd.DataFrame,
    rankings: pd.DataFrame,
    probe: pd.DataFrame | None,
    metric: Metric,
) -> pd.DataFrame:
    out = _Rows()
    _accuracy(out, per_arch, scores, metric)
    _cost(out, per_arch, cost)
    _learning_rates(out, per_arch, scores)
    _rankings(out, rankings)
    if probe is not None:
        _probe(out, probe)
    return out.frame()


def _accuracy(out: _Rows, per_arch: pd.DataFrame, scores: Scores, metric: Metric) -> None:
    unit = "fraction" if metric.percent else ""
    for strategy, matrix in scores.test.items():
        rows = np.atleast_2d(matrix)
        value = float(stats.grand_mean(rows))
        lo, hi = stats.bootstrap_ci(rows, stats.grand_mean)
        n = int(np.isfinite(rows).any(axis=1).sum()) if rows.size else 0
        out.add(
            f"accuracy.mean.{strategy}",
            "accuracy",
            f"mean {metric.label}, {strategy}",
            value,
            n,
            lo=lo,
            hi=hi,
            unit=unit,
        )
    for a, b in PAIRS[:2]:
        if a not in scores.test or b not in scores.test:
            continue
        diff = stats.paired_difference(scores.test[a], scores.test[b])
        out.estimate(f"accuracy.diff.{a}-{b}", "accuracy", f"mean difference {a} − {b}", diff, unit=unit)
        outcomes = per_arch[f"{a}_vs_{b}"]
        decided = int(outcomes.isin(["win", "tie", "loss"]).sum())
        for outcome, word in (("win", "wins"), ("tie", "ties"), ("loss", "losses")):
            out.add(
                f"accuracy.{word}.{a}-{b}",
                "accuracy",
                f"{word} of {a} against {b}",
                int((outcomes == outcome).sum()),
                decided,
                unit="architectures",
            )


def _cost(out: _Rows, per_arch: pd.DataFrame, cost: pd.DataFrame) -> None:
    by = cost.set_index("strategy")
    for strategy, row in by.iterrows():
        out.add(
            f"cost.search_device_h.{strategy}",
            "cost",
            f"search device time, {strategy}",
            row["search_device_h"],
            int(row["search_trials"]),
            unit="device-hours",
        )
        out.add(
            f"cost.total_device_h.{strategy}",
            "cost",
            f"total device time (search + final), {strategy}",
            row["total_device_h"],
            int(row["search_trials"] + row["final_trials"]),
            unit="device-hours",
        )
    if {"tuned", "principled"} <= set(by.index):
        for part in ("search", "total"):
            num, den = by.loc["tuned", f"{part}_device_s"], by.loc["principled", f"{part}_device_s"]
            ratio = num / den if den > 0 else math.nan
            out.add(
                f"cost.{part}_ratio.tuned-principled",
                "cost",
                f"{part} cost ratio tuned ÷ principled",
                ratio,
                int(by.loc["tuned", "architectures"]),
                unit="ratio",
            )
        matched = per_arch["cost_to_match_s"].to_numpy(dtype=float)
        both = per_arch["principled_n"].gt(0) & per_arch["tuned_search_trials"].gt(0)
        reached = matched[np.isfinite(matched)]
        out.add(
            "cost.to_match.reached",
            "cost",
            "architectures where the tuned search reached principled's validation score",
            reached.size,
            int(both.sum()),
            unit="architectures",
        )
        out.add(
            "cost.to_match.median_s",
            "cost",
            "median device-seconds of tuned search until it matched principled (where it did)",
            float(np.median(reached)) if reached.size else math.nan,
            int(reached.size),
            unit="device-seconds",
        )


def _learning_rates(out: _Rows, per_arch: pd.DataFrame, scores: Scores) -> None:
    tuned = per_arch["tuned_lr"].to_numpy(dtype=float)
    principled = per_arch["principled_lr"].to_numpy(dtype=float)
    if "tuned" not in scores.test or not np.isfinite(tuned).any():
        return
    log_t, log_p = _log(tuned), _log(principled)
    out.estimate(
        "lr.spearman.tuned-principled",
        "learning rates",
        "Spearman ρ, tuned vs principled LR",
        stats.spearman(log_t, log_p),
    )
    out.estimate(
        "lr.pearson_log.tuned-principled",
        "learning rates",
        "Pearson r, log tuned vs log principled LR",
        stats.pearson(log_t, log_p),
    )
    out.estimate(
        "lr.median_abs_log2_ratio.tuned-principled",
        "learning rates",
        "median |log2(tuned ÷ principled LR)|",
        stats.median_abs_log2_ratio(tuned, principled),
        unit="octaves",
    )
    fit = stats.log_slope(per_arch["S"].to_numpy(dtype=float), tuned)
    out.estimate(
        "lr.slope.log_tuned-log_S",
        "learning rates",
        "slope of log tuned LR on log S",
        fit.estimate,
        expected=EXPECTED_LR_SLOPE,
    )


def _log(values: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(values > 0, np.log(values), np.nan)


def _rankings(out: _Rows, rankings: pd.DataFrame) -> None:
    for row in rankings.itertuples(index=False):
        pair = f"{row.strategy_a}-{row.strategy_b}"
        if row.top_percent == 100:
            out.add(
                f"rank.kendall.{pair}",
                "rankings",
                f"Kendall τ, {row.strategy_a} vs {row.strategy_b}",
                row.kendall_tau,
                row.n,
            )
            out.add(
                f"rank.spearman.{pair}",
                "rankings",
                f"Spearman ρ, {row.strategy_a} vs {row.strategy_b}",
                row.spearman_rho,
                row.n,
            )
        elif row.top_percent == SUMMARY_TOP_PERCENT:
            out.add(
                f"rank.top{row.top_percent}_overlap.{pair}",
                "rankings",
                f"top-{row.top_percent}% overlap (by {row.strategy_b}), {row.strategy_a} vs {row.strategy_b}",
                row.top_overlap,
                row.n,
                unit="fraction",
            )


def _probe(out: _Rows, probe: pd.DataFrame) -> None:
    targets = probe[~probe["is_base"]]
    predicted, probed = targets["predicted_lr"].to_numpy(dtype=float), targets["probed_lr"].to_numpy(dtype=float)
    reference, _ = paper_reference(probe)
    out.estimate(
        "probe.pearson_raw",
        "probe",
        "Pearson r, predicted vs probed maximal LR",
        stats.pearson(predicted, probed),
        expected=reference,
    )
    out.estimate(
        "probe.pearson_log",
        "probe",
        "Pearson r, log predicted vs log probed maximal LR",
        stats.pearson(_log(predicted), _log(probed)),
    )
    out.estimate(
        "probe.spearman", "probe", "Spearman ρ, predicted vs probed maximal LR", stats.spearman(predicted, probed)
    )
    out.estimate(
        "probe.median_abs_log2_ratio",
        "probe",
        "median |log2(probed ÷ predicted)|",
        stats.median_abs_log2_ratio(probed, predicted),
        unit="octaves",
    )
    chains = probe[probe["depth"].notna()]
    if chains["depth"].nunique() >= 2:
        fit = stats.log_slope(chains["depth"].to_numpy(dtype=float), chains["probed_lr"].to_numpy(dtype=float))
        out.estimate(
            "probe.depth_exponent",
            "probe",
            "exponent of probed maximal LR vs depth L (chains)",
            fit.estimate,
            expected=EXPECTED_DEPTH_EXPONENT,
        )
