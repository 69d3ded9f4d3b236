"""The summary statistics and the rank-agreement frame of a comparison.

`summary` is long: one row per statistic, keyed by a stable dotted `key` ending in the arm or the
pair `a:b` it is about (the JSON's keys), with its value, interval (`lo`, `hi`; NaN where there is
none), `n` (the units the interval rests on: seeds, repeats or architectures for accuracy, points for
correlations, architectures or trials for counts), `method` (`stats.METHODS`; "" for values that are
not estimates: costs and counts), `varies` and `fixed` (comma-separated, from `stats.POPULATION`: what
an interval over final runs resamples and what it holds fixed; empty for other statistics), `arms`
(comma-separated), `expected` (the paper's value, where there is one) and `unit`.

A pair's accuracy difference has a row per level (`accuracy.diff.{seeds,repeats,architectures}.a:b`)
and the headline `accuracy.diff.a:b`, the broadest level with an interval (`stats.broadest`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from archscale.report.frames.metrics import Metric
from archscale.report.frames.study import (
    Inputs,
    Scores,
    pair_key,
    searches_per_architecture,
)
from archscale.report.statistics import stats
from archscale.report.statistics.cost import matched_pairs, study_to_match
from archscale.report.statistics.probe import paper_reference

if TYPE_CHECKING:
    from collections.abc import Sequence

TOP_PERCENTS = (100, 50, 25, 10)
"""The top K% of the architectures (by the pair's second arm) each pair's rank agreement is computed on."""
EXPECTED_LR_SLOPE = -0.5
"""The paper's slope of log LR on log S for a per-architecture search (LR ∝ S^-1/2)."""
EXPECTED_DEPTH_EXPONENT = -1.5
"""The paper's exponent of the maximal LR in depth for chains (LR ∝ L^-1.5)."""
SUMMARY_COLUMNS = [
    "key",
    "section",
    "statistic",
    "value",
    "lo",
    "hi",
    "n",
    "method",
    "varies",
    "fixed",
    "arms",
    "expected",
    "unit",
]
RANKING_COLUMNS = ["a", "b", "top_percent", "n", "kendall_tau", "spearman_rho", "top_overlap"]
SUMMARY_TOP_PERCENT = 25
OUTCOMES = (("win", "wins"), ("inconclusive", "inconclusive"), ("loss", "losses"), ("", "undecided"))
LEVEL_WORDS = {
    stats.SEEDS_LEVEL: "at these searched LRs, over final seeds",
    stats.REPEATS_LEVEL: "over search repeats and seeds (search luck included)",
    stats.ARCHITECTURES_LEVEL: "across architectures (each one unit; for architectures like these only)",
}


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
        arms: Sequence[str],
        *,
        lo: float = math.nan,
        hi: float = math.nan,
        method: str = "",
        varies: Sequence[str] = (),
        fixed: Sequence[str] = (),
        expected: float = math.nan,
        unit: str = "",
    ) -> None:
        values = (key, section, statistic, float(value), float(lo), float(hi), int(n), method)
        population = (",".join(varies), ",".join(fixed), ",".join(arms))
        self.rows.append(dict(zip(SUMMARY_COLUMNS, (*values, *population, float(expected), unit), strict=True)))

    def estimate(
        self, key: str, section: str, statistic: str, e: stats.Estimate, arms: Sequence[str], **kw: Any
    ) -> None:
        """A statistic with its interval; a correlation's or slope's points are architectures."""
        if not e.varies and e.method in (stats.FISHER, stats.REGRESSION_T):
            e = e._replace(varies=(stats.ARCHITECTURE,))
        self.add(
            key,
            section,
            statistic,
            e.value,
            e.n,
            arms,
            lo=e.lo,
            hi=e.hi,
            method=e.method,
            varies=e.varies,
            fixed=e.fixed,
            **kw,
        )

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=SUMMARY_COLUMNS)


def rankings_frame(per_arch: pd.DataFrame, pairs: Sequence[tuple[str, str]], metric: Metric) -> pd.DataFrame:
    """For each compared pair (a, b) with final scores: Kendall τ, Spearman ρ and top overlap of their
    architecture rankings, over all architectures (100) and over the top K% by b."""
    rows = []
    for a, b in pairs:
        if f"{a}_mean" not in per_arch or f"{b}_mean" not in per_arch:
            continue
        xa, xb = per_arch[f"{a}_mean"].to_numpy(dtype=float), per_arch[f"{b}_mean"].to_numpy(dtype=float)
        for percent in TOP_PERCENTS:
            top = stats.top_agreement(xa, xb, percent / 100, metric.higher_is_better)
            values = (a, b, percent, top.n, top.kendall_tau, top.spearman_rho, top.overlap)
            rows.append(dict(zip(RANKING_COLUMNS, values, strict=True)))
    return pd.DataFrame(rows, columns=RANKING_COLUMNS)


def summary_frame(
    inputs: Inputs,
    per_arch: pd.DataFrame,
    scores: Scores,
    cost: pd.DataFrame,
    match: pd.DataFrame,
    match_curves: pd.DataFrame,
    rankings: pd.DataFrame,
    probe: pd.DataFrame | None,
    metric: Metric,
) -> pd.DataFrame:
    out = _Rows()
    _accuracy(out, inputs, per_arch, scores, metric)
    _cost(out, inputs, cost, (match, match_curves), scores, metric)
    _learning_rates(out, inputs, per_arch)
    _rankings(out, rankings)
    if probe is not None:
        for arm, frame in probe.groupby("arm", sort=False):
            _probe(out, str(arm), frame, inputs.activation)
    return out.frame()


def _accuracy(out: _Rows, inputs: Inputs, per_arch: pd.DataFrame, scores: Scores, metric: Metric) -> None:
    unit = "fraction" if metric.percent else ""
    for arm, cube in scores.test.items():
        out.estimate(
            f"accuracy.mean.{arm}",
            "accuracy",
            f"mean {metric.label}, {arm}",
            stats.mean_estimate(cube, metric.bounds),
            [arm],
            unit=unit,
        )
        finished = int(per_arch[f"{arm}_n"].sum())
        for failure in ("diverged", "collapsed"):
            count = int(per_arch[f"{arm}_{failure}"].sum())
            out.add(
                f"accuracy.{failure}.{arm}",
                "accuracy",
                f"final runs {failure}, {arm} (scored at chance)",
                count / finished if finished else math.nan,
                finished,
                [arm],
                unit="fraction",
            )
    for a, b in inputs.plan.pairs:
        if a not in scores.test or b not in scores.test:
            continue
        key = pair_key(a, b)
        levels = stats.difference_estimates(scores.test[a], scores.test[b], metric.difference_bounds)
        for level, e in levels.items():
            statistic = f"mean difference {a} − {b}, {LEVEL_WORDS[level]}"
            out.estimate(f"accuracy.diff.{level}.{key}", "accuracy", statistic, e, [a, b], unit=unit)
        level, diff = stats.broadest(levels)
        statistic = f"mean difference {a} − {b} (headline: {LEVEL_WORDS[level]})"
        out.estimate(f"accuracy.diff.{key}", "accuracy", statistic, diff, [a, b], unit=unit)
        outcomes = per_arch[f"{key}_outcome"]
        measured = int(per_arch[f"{key}_diff"].notna().sum())
        for outcome, word in OUTCOMES:
            count = int(((outcomes == outcome) & per_arch[f"{key}_diff"].notna()).sum())
            out.add(
                f"accuracy.{word}.{key}",
                "accuracy",
                f"{word} of {a} against {b}",
                count,
                measured,
                [a, b],
                unit="architectures",
            )


def _cost(
    out: _Rows,
    inputs: Inputs,
    cost: pd.DataFrame,
    matched: tuple[pd.DataFrame, pd.DataFrame],
    scores: Scores,
    metric: Metric,
) -> None:
    by = cost.set_index("arm")
    for arm, row in by.iterrows():
        arms = [str(arm)]
        trials = round(row["search_trials"])
        out.add(
            f"cost.search_device_h.{arm}",
            "cost",
            f"search device time, {arm}",
            row["search_device_h"],
            trials,
            arms,
            unit="device-hours",
        )
        out.add(
            f"cost.total_device_h.{arm}",
            "cost",
            f"total device time (search + final), {arm}",
            row["total_device_h"],
            round(row["search_trials"] + row["final_trials"]),
            arms,
            unit="device-hours",
        )
    for a, b in inputs.plan.pairs:
        if a not in by.index or b not in by.index:
            continue
        for part in ("search", "total"):
            num, den = by.loc[a, f"{part}_device_s"], by.loc[b, f"{part}_device_s"]
            out.add(
                f"cost.{part}_ratio.{pair_key(a, b)}",
                "cost",
                f"{part} cost ratio {a} ÷ {b}",
                num / den if den > 0 else math.nan,
                int(by.loc[a, "architectures"]),
                [a, b],
                unit="ratio",
            )
    for arm, against in matched_pairs(inputs, scores):
        _to_match(out, matched, arm, against, metric)


def _to_match(out: _Rows, matched: tuple[pd.DataFrame, pd.DataFrame], arm: str, against: str, metric: Metric) -> None:
    """Trials (and device-seconds per architecture) of `arm`'s searches until the mean over architectures
    of its picked trial's score reached `against`'s final mean, with an interval over search repeats;
    and the architectures whose own search matched (mean over repeats)."""
    match, curves = matched
    key, arms = pair_key(arm, against), [arm, against]
    mine = match[(match["arm"] == arm) & (match["against"] == against) & match["target"].notna()]
    per_repeat = study_to_match(curves, arm, against, metric.higher_is_better)
    if per_repeat.empty or mine.empty:
        return
    counts = mine.groupby("repeat")["trials_to_match"].count()
    out.add(
        f"cost.to_match.architectures.{key}",
        "cost",
        f"architectures whose {arm} search matched {against} (mean over repeats)",
        float(counts.mean()),
        int(mine["graph_hash"].nunique()),
        arms,
        unit="architectures",
    )
    reached = per_repeat["trials_to_match"].notna()
    out.add(
        f"cost.to_match.reached.{key}",
        "cost",
        f"search repeats in which {arm} matched {against}'s mean",
        int(reached.sum()),
        len(per_repeat),
        arms,
        unit="repeats",
    )
    for column, name, what, unit in (
        ("trials_to_match", "trials", "trials", "trials"),
        ("device_s_to_match", "device_s", "device-seconds per architecture", "device-seconds"),
    ):
        values = per_repeat[column].to_numpy(dtype=float)
        statistic = f"{what} of {arm}'s search to match {against} (estimated from search trials)"
        if reached.all():
            e = stats.mean_estimate(values[None, :, None])
            out.estimate(f"cost.to_match.{name}.{key}", "cost", statistic, e, arms, unit=unit)
        else:
            out.add(f"cost.to_match.{name}.{key}", "cost", statistic, math.nan, len(values), arms, unit=unit)


def _learning_rates(out: _Rows, inputs: Inputs, per_arch: pd.DataFrame) -> None:
    """LR agreement for each pair where an arm searches each architecture, and for each such arm the
    slope of log LR on log S (the paper predicts −0.5)."""
    plan = inputs.plan
    searching = [a for a in dict.fromkeys(x for pair in plan.pairs for x in pair) if searches_per_architecture(plan, a)]
    for a, b in plan.pairs:
        if not (a in searching or b in searching) or f"{a}_lr" not in per_arch or f"{b}_lr" not in per_arch:
            continue
        la, lb = per_arch[f"{a}_lr"].to_numpy(dtype=float), per_arch[f"{b}_lr"].to_numpy(dtype=float)
        if not (np.isfinite(la).any() and np.isfinite(lb).any()):
            continue
        key, arms = pair_key(a, b), [a, b]
        out.estimate(
            f"lr.spearman.{key}",
            "learning rates",
            f"Spearman ρ, {a} vs {b} LR",
            stats.spearman(_log(la), _log(lb)),
            arms,
        )
        out.estimate(
            f"lr.pearson_log.{key}",
            "learning rates",
            f"Pearson r, log {a} vs log {b} LR",
            stats.pearson(_log(la), _log(lb)),
            arms,
        )
        out.estimate(
            f"lr.median_abs_log2_ratio.{key}",
            "learning rates",
            f"median |log2({a} ÷ {b} LR)|",
            stats.median_abs_log2_ratio(la, lb),
            arms,
            unit="octaves",
        )
    for arm in searching:
        if f"{arm}_lr" not in per_arch:
            continue
        fit = stats.log_slope(per_arch["S"].to_numpy(dtype=float), per_arch[f"{arm}_lr"].to_numpy(dtype=float))
        out.estimate(
            f"lr.slope.log_lr-log_S.{arm}",
            "learning rates",
            f"slope of log {arm} LR on log S",
            fit.estimate,
            [arm],
            expected=EXPECTED_LR_SLOPE,
        )


def _log(values: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(values > 0, np.log(values), np.nan)


def _rankings(out: _Rows, rankings: pd.DataFrame) -> None:
    for row in rankings.itertuples(index=False):
        a, b = str(row.a), str(row.b)
        key, arms = pair_key(a, b), [a, b]
        if row.top_percent == 100:
            out.add(
                f"rank.kendall.{key}",
                "rankings",
                f"Kendall τ, {a} vs {b}",
                row.kendall_tau,
                row.n,
                arms,
                method=stats.POINT,
            )
            out.add(
                f"rank.spearman.{key}",
                "rankings",
                f"Spearman ρ, {a} vs {b}",
                row.spearman_rho,
                row.n,
                arms,
                method=stats.POINT,
            )
        elif row.top_percent == SUMMARY_TOP_PERCENT:
            out.add(
                f"rank.top{row.top_percent}_overlap.{key}",
                "rankings",
                f"top-{row.top_percent}% overlap (by {b}), {a} vs {b}",
                row.top_overlap,
                row.n,
                arms,
                method=stats.POINT,
                unit="fraction",
            )


def _probe(out: _Rows, arm: str, probe: pd.DataFrame, activation: str) -> None:
    """Predicted vs probed maximal LR with the base network (as the paper's Fig. 5 and App. D) and,
    labelled, without it (its prediction is its own probe)."""
    reference, _ = paper_reference(probe, activation)
    arms = [arm]
    subsets = [
        (probe, "", "with the base network"),
        (probe[~probe["is_base"]], "_without_base", "without the base network"),
    ]
    if probe["quirk"].any():
        quirks = int(probe["quirk"].sum())
        subsets.append((probe[~probe["quirk"]], "_without_quirk", f"without the {quirks} DAGs the official quirk sets"))
    for subset, suffix, words in subsets:
        predicted, probed = subset["predicted_lr"].to_numpy(dtype=float), subset["probed_lr"].to_numpy(dtype=float)
        out.estimate(
            f"probe.pearson_raw{suffix}.{arm}",
            "probe",
            f"Pearson r, predicted vs probed maximal LR ({words})",
            stats.pearson(predicted, probed),
            arms,
            expected=reference if not suffix else math.nan,
        )
        out.estimate(
            f"probe.pearson_log{suffix}.{arm}",
            "probe",
            f"Pearson r, log predicted vs log probed maximal LR ({words})",
            stats.pearson(_log(predicted), _log(probed)),
            arms,
        )
        out.estimate(
            f"probe.spearman{suffix}.{arm}",
            "probe",
            f"Spearman ρ, predicted vs probed maximal LR ({words})",
            stats.spearman(predicted, probed),
            arms,
        )
    targets = probe[~probe["is_base"]]
    out.estimate(
        f"probe.median_abs_log2_ratio.{arm}",
        "probe",
        "median |log2(probed ÷ predicted)| (without the base network, whose ratio is 1)",
        stats.median_abs_log2_ratio(
            targets["probed_lr"].to_numpy(dtype=float), targets["predicted_lr"].to_numpy(dtype=float)
        ),
        arms,
        unit="octaves",
    )
    chains = probe[probe["depth"].notna()]
    if chains["depth"].nunique() >= 2:
        fit = stats.log_slope(chains["depth"].to_numpy(dtype=float), chains["probed_lr"].to_numpy(dtype=float))
        out.estimate(
            f"probe.depth_exponent.{arm}",
            "probe",
            "exponent of probed maximal LR vs depth L (chains, the base included)",
            fit.estimate,
            arms,
            expected=EXPECTED_DEPTH_EXPONENT,
        )
