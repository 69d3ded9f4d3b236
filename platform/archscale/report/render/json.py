"""`--format json`: one stable JSON document for scripts (`"format": "archscale.compare/3"`; within
version 3 a key is only ever added, never renamed or removed). Missing numbers (NaN, ±inf) are null.

Names: ARM is an arm of the study (`^[A-Za-z0-9][A-Za-z0-9._-]*$`); a pair (a, b) is named `a:b` and
its differences are a − b. Prefer the explicit `arms` fields to splitting keys (arm names may hold
`.` and `-`).

Top level: `format`, `study`, `status` (completed, running, interrupted, failed), `simulated` (true:
run by `archscale run --simulate`, synthetic metrics, not results of training), `metric` {name,
column, higher_is_better, unit ("fraction" for accuracies, else "loss"), diverged_score (what a
diverged final run scores: chance, or −ln chance for losses; null if unknown)}, `arms` [{arm, kind,
label, position, final (has final runs), settings, recipe}], `pairs` [{a, b, key, like_with_like,
differences [{field, a, b}: recipe fields other than how the LR is chosen], note (the one-line
warning, or null)}], `seeds` (final runs), `search_seeds`, `search_repeats`, `chance`, `intervals`
{level, units ("seeds" or "search repeats"), levels [seeds, repeats, architectures], rule},
`per_architecture_calls` {calls ["win", "inconclusive", "loss"], adjusted (true), adjustment ("holm"), m
(the calls adjusted together: pairs × architectures with a difference), family_wise_error (0.05)},
`base` {architecture, label, S, listed} or null, `notes` [str], `per_architecture` [row], `summary`
{key: entry}, `rankings` [row],
`cost` [row], `searches` [row], `cost_to_match` [row], `cost_to_match_curves` [row], `probe` [row] or
null, `probe_grid` [row] or null, `benchmark` {...} or null.

Intervals: 95%. Every interval carries `varies` (what it resamples: a list from "seed", "repeat",
"architecture"), `fixed` (the rest of those three), `method`, `n`, `lo` and `hi`. Accuracy differences
are paired on (architecture, repeat, seed) and come at three levels (summary keys
accuracy.diff.LEVEL.a:b): `seeds` (at these searched LRs: varies seed), `repeats` (search luck included:
varies repeat, seed; with search_repeats ≥ 2) and `architectures` (each architecture's mean difference one
unit: varies architecture, repeat, seed; for architectures like these only); accuracy.diff.a:b is the
broadest with an interval. Methods: "t" (Student t over the units), "Welch t" (an arm whose searches
repeat against one whose LR no search chose: the latter's seeds enter as their own sample), "too few for
an interval"; all calibrated by simulation (`archscale.report.statistics.calibration`). Correlations: "fisher-z"
(n ≥ 4); slopes: "t (regression, n − 2 dof)" (n ≥ 3); both over architectures.

per_architecture rows (S = Σ_p L_p³):
  graph_hash, architecture (notation), label, family, kernel_size, width, parameters, paths, S,
  principled_scale; per ARM with final runs: ARM_lr (the plan's chosen LR, median over repeats; else
  the final runs'), ARM_mean, ARM_std, ARM_n (finished final runs, failed ones scored), ARM_ci_lo,
  ARM_ci_hi, ARM_ci_method, ARM_ci_varies, ARM_ci_fixed (the mean's interval), ARM_rank (1 = best),
  ARM_search_trials, ARM_search_epochs, ARM_search_device_s (means over repeats; a study-scope search
  amortised over the listed architectures), ARM_search_pruned, ARM_search_diverged, ARM_diverged,
  ARM_collapsed, ARM_missing (final runs); per pair a:b: a:b_diff, a:b_lo, a:b_hi, a:b_n, a:b_method,
  a:b_varies, a:b_fixed (the paired difference over repeats and seeds, or seeds without repeats, and its
  interval), a:b_outcome ("win" | "inconclusive" | "loss" for a, Holm-adjusted across the study's
  calls (`per_architecture_calls`); "" with no interval),
  a:b_lr_ratio (a's LR ÷ b's); per cost-to-match pair A:B (A searches each architecture):
  A:B_match_trials, A:B_match_device_s (median over repeats; null when not matched); notes.
summary entries: {section, statistic, value, lo, hi, n, method (null for costs and counts), varies [..],
  fixed [..] (empty for statistics that are not intervals), arms [..], expected (the paper's value), unit}.
  Keys: accuracy.mean.ARM, accuracy.{diverged,collapsed}.ARM (rates; n = finished final runs),
  accuracy.diff.a:b (the headline), accuracy.diff.{seeds,repeats,architectures}.a:b,
  accuracy.{wins,inconclusive,losses,undecided}.a:b (n = architectures with a difference);
  cost.search_device_h.ARM, cost.total_device_h.ARM (per repeat), cost.{search,total}_ratio.a:b (a ÷ b);
  cost.to_match.{trials,device_s}.A:B (first k where the mean over architectures of A's picked search
  trial reaches B's final mean; mean over repeats with its interval; null unless every repeat matched),
  cost.to_match.reached.A:B (repeats that matched), cost.to_match.architectures.A:B (architectures whose
  own search matched, mean over repeats);
  lr.spearman.a:b, lr.pearson_log.a:b, lr.median_abs_log2_ratio.a:b (pairs with an arm that searches
  each architecture), lr.slope.log_lr-log_S.ARM (such arms; expected −0.5);
  rank.kendall.a:b, rank.spearman.a:b, rank.top25_overlap.a:b;
  probe.pearson_raw.ARM (the base network included, as the paper's Fig. 5 / App. D; expected: the
  paper's r), probe.pearson_raw_without_base.ARM, probe.pearson_log[_without_base].ARM,
  probe.spearman[_without_base].ARM, probe.median_abs_log2_ratio.ARM (without the base),
  probe.depth_exponent.ARM (expected −1.5).
rankings rows: a, b, top_percent (100, 50, 25, 10: the top by b), n, kendall_tau, spearman_rho, top_overlap.
cost rows (search and final columns are means over repeats): arm, kind, architectures, repeats,
  search_trials, search_completed, search_pruned, search_diverged, search_failed, search_epochs,
  search_device_s, search_device_s_per_architecture, final_trials, final_diverged, final_epochs,
  final_device_s, total_device_s, search_device_h, total_device_h, note.
searches rows: search, phase, arms, scope ("architecture" | "study"), graph_hash, label, repeat,
  budget_trials, sampler, low, high, early_stopping, init, epochs (the budget), trials, completed, pruned,
  diverged, failed, device_s (what ran), chosen_lr.
cost_to_match rows: arm (A), against (B), graph_hash, label, repeat, trials, target (B's final mean),
  final_pick (A's picked trial's score after all its trials), trials_to_match, device_s_to_match.
cost_to_match_curves rows: arm, against, repeat, k, score (mean over architectures after k trials),
  target, device_s (mean per architecture after k trials).
probe rows: arm, graph_hash, architecture, label, family, paths, S, depth (chains: S^(1/3)),
  principled_scale, is_base, criterion (the epoch column scored), probed_lr, probed_lr_lo, probed_lr_hi,
  probed_lr_method (the grid LRs whose score is within seed noise of the best point's: a paired t over
  seeds; null with fewer than 2 seeds), predicted_lr, ratio,
  best_score, seeds, runs, diverged_runs, at_grid_edge ("low" | "high" | ""), censored (at an edge:
  the true maximal LR may lie beyond, also after the probe's `extend` points beyond it).
probe_grid rows (by LR): arm, graph_hash, label, grid_index (the trial number: an extension's points are
  numbered after the grid's), lr, score (mean last-epoch criterion over seeds;
  null = diverged), seeds, diverged.
`benchmark` (added in 2; null unless the study's NAS-Bench-201 cells have results imported by
`archscale benchmark import` on the study's dataset; see `archscale.report.statistics.benchmark`): {benchmark
("nb201"), dataset, epochs (the benchmark's, the study's training epochs when imported), seeds (the
benchmark's), sources (files imported), cells [row], accuracy [row], rankings [row], noise_floor [row],
gap_summary [row], gaps [row]}. Accuracies are fractions.
  cells rows: graph_hash, label, benchmark (mean over its seeds), benchmark_seeds, per ARM: ARM (mean of
  its final runs), ARM_diff (ARM − benchmark).
  accuracy rows: arm, mean, benchmark, diff (mean over cells of ARM − benchmark), lo, hi, n (cells), varies, fixed,
  method (the paired interval over cells: "t" for 2–4 cells, "bootstrap" from 5, "too few for an interval").
  rankings rows: arm, top_percent (100, 90, ..., 10, 5, 1: the benchmark's top K% of the cells present),
  n, kendall_tau, spearman_rho, top_overlap.
  noise_floor rows: seed_a, seed_b (two of the benchmark's seeds), top_percent (the same cell sets, by
  the benchmark's seed mean), n, kendall_tau, spearman_rho.
  gap_summary rows: arm, pairs (pairs of cells), benchmark_median_gap, arm_median_gap (medians of
  |gap|), flipped (share of pairs the arm orders against the benchmark), shown (gap rows below).
  gaps rows: arm, better, worse (cell labels, better by the benchmark), benchmark_gap (≥ 0), arm_gap
  (negative: flipped); at most 20000 per arm, a seeded sample of the pairs beyond.

From version 2: intervals are Student t (Welch t against an arm that runs once) over the units each names
(the percentile bootstrap under-covered at small n), with `varies` and `fixed`; differences come at three
levels and the headline is the broadest; outcomes are "inconclusive" (was "tie") and Holm-adjusted;
collapsed final runs are failures (scored like diverged ones, `failures` per arm); intervals of accuracies
stay in [0, 1]; `intervals.min_bootstrap` is gone.

From version 1: `strategies` became `arms` (objects); columns and keys of a pair name it `a:b` (was
`a-b`, and `a_vs_b` for outcomes), ties come from the paired interval (were overlapping marginal
intervals), diverged final runs are scored (were left out), rankings' strategy_a/strategy_b are a/b,
cost's strategy is arm, `cost_to_match_s` became the cost_to_match frames, probe keys end in the arm
and include the base network. Version 1 is not written any more: its names encode the four fixed
strategies and its intervals are the ones version 2 replaces.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from archscale.report.render.benchmark import document as benchmark_document
from archscale.report.render.display import compared_pairs, units
from archscale.report.statistics import stats
from archscale.report.statistics.per_architecture import calls_m, failures

if TYPE_CHECKING:
    from archscale.report.claims.comparison import Comparison

FORMAT = "archscale.compare/3"


def to_document(c: Comparison) -> dict[str, Any]:
    """The JSON document as Python objects (finite floats, ints, strings, lists, dicts, None)."""
    summary = {
        row["key"]: {k: _plain(v) for k, v in row.items() if k != "key"} | _summary_extras(row)
        for row in c.summary.to_dict("records")
    }
    plan = c.plan
    arms = plan.arms.sort_values("position", kind="stable")
    return {
        "format": FORMAT,
        "study": c.study,
        "status": c.status,
        "simulated": c.plan.simulated,
        "metric": {
            "name": c.metric.name,
            "column": c.metric.column,
            "higher_is_better": c.metric.higher_is_better,
            "unit": "fraction" if c.metric.percent else "loss",
            "diverged_score": _plain(c.diverged_score),
        },
        "arms": [
            {**row, "failures": failures(c.per_architecture, str(row["arm"]))}
            for row in records(arms[["arm", "kind", "label", "position", "final", "settings", "recipe"]])
        ],
        "pairs": [
            {**{k: _plain(v) for k, v in row.items()}, "note": row["note"] or None}
            for row in c.pairs.to_dict("records")
        ],
        "seeds": [int(s) for s in c.seeds],
        "search_seeds": [int(s) for s in plan.search_seeds],
        "search_repeats": int(plan.search_repeats),
        "chance": _plain(plan.chance),
        "intervals": {
            "level": stats.LEVEL,
            "units": units(c),
            "levels": list(stats.LEVELS),
            "rule": "Student t over the units each interval names (Welch t against an arm that runs once), none "
            "with fewer than 2; paired on (architecture, repeat, seed); accuracies clipped to [0, 1]",
        },
        "per_architecture_calls": {
            "calls": [stats.WIN, stats.INCONCLUSIVE, stats.LOSS],
            "adjusted": True,
            "adjustment": "holm",
            "m": calls_m(c.per_architecture, compared_pairs(c)),
            "family_wise_error": stats.ALPHA,
        },
        "base": {k: _plain(v) for k, v in c.base.items()} if c.base is not None else None,
        "notes": list(c.notes),
        "per_architecture": [_with_populations(row) for row in records(c.per_architecture)],
        "summary": summary,
        "rankings": records(c.rankings),
        "cost": records(c.cost),
        "searches": records(c.searches),
        "cost_to_match": records(c.match),
        "cost_to_match_curves": records(c.match_curves),
        "probe": records(c.probe) if c.probe is not None else None,
        "probe_grid": records(c.probe_grid) if c.probe_grid is not None else None,
        "benchmark": benchmark_document(c.benchmark, records) if c.benchmark is not None else None,
    }


def _summary_extras(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "arms": str(row["arms"]).split(","),
        "method": row["method"] or None,
        "varies": _factors(row["varies"]),
        "fixed": _factors(row["fixed"]),
    }


def _factors(text: Any) -> list[str]:
    return [f for f in str(text or "").split(",") if f]


def _with_populations(row: dict[str, Any]) -> dict[str, Any]:
    """A per-architecture row with each interval's `…_varies` and `…_fixed` as lists."""
    return {k: _factors(v) if k.endswith(("_varies", "_fixed")) else v for k, v in row.items()}


def render_json(c: Comparison) -> str:
    return json.dumps(to_document(c), indent=2, allow_nan=False, ensure_ascii=False)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)
