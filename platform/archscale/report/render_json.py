"""`--format json`: one stable JSON document for scripts (`"format": "archscale.compare/1"`; a key is
only ever added within version 1, never renamed or removed).

Top level: `format`, `study`, `status` (the study's: completed, running, interrupted, failed),
`metric` {name, column, higher_is_better, unit ("fraction" for accuracies, else "loss")},
`strategies` (of fixed, principled, tuned, probe, those the study has), `seeds`, `base` {architecture,
label, S, listed} or null, `notes` [str: what is missing or partial], `per_architecture` [row],
`summary` {key: {section, statistic, value, lo, hi, n, expected, unit}}, `rankings` [row], `cost` [row],
`probe` [row] or null, `probe_grid` [row] or null. Missing numbers (NaN, ±inf) are null.

per_architecture rows (S = Σ_p L_p³; STRATEGY is principled, tuned, fixed):
  graph_hash, architecture (notation), label (short), family, kernel_size, parameters, paths, S,
  principled_scale, principled_lr (final runs', else base LR × scale), tuned_lr (final runs', else the
  search's best), fixed_lr, lr_ratio (tuned ÷ principled);
  STRATEGY_mean, _std, _n, _ci_lo, _ci_hi (the metric over seeds: mean, sample std, runs, 95% bootstrap
  interval), STRATEGY_rank (1 = best); principled_vs_tuned, principled_vs_fixed ("win" | "tie" | "loss" |
  "": tie when the intervals overlap); STRATEGY_search_trials, _search_epochs, _search_device_s (the
  base-LR search amortised over the architectures for principled and fixed: {lr: base});
  STRATEGY_diverged, STRATEGY_missing (final runs), tuned_pruned, tuned_search_diverged,
  cost_to_match_s (tuned search device-seconds until its best validation score reached principled's
  mean; null if never), notes.
summary keys: accuracy.mean.S, accuracy.diff.A-B, accuracy.{wins,ties,losses}.A-B (A-B: principled-tuned,
  principled-fixed); cost.search_device_h.S, cost.total_device_h.S, cost.{search,total}_ratio.tuned-principled,
  cost.to_match.reached, cost.to_match.median_s; lr.spearman.tuned-principled, lr.pearson_log.tuned-principled,
  lr.median_abs_log2_ratio.tuned-principled, lr.slope.log_tuned-log_S (expected −0.5);
  rank.kendall.A-B, rank.spearman.A-B, rank.top25_overlap.A-B (A-B also tuned-fixed);
  probe.pearson_raw (expected: the paper's r for the study's kind), probe.pearson_log, probe.spearman,
  probe.median_abs_log2_ratio, probe.depth_exponent (expected −1.5). Intervals: bootstrap over seeds
  (accuracy), Fisher z (correlations, n ≥ 4), t (slopes, n ≥ 3).
rankings rows: strategy_a, strategy_b, top_percent (100, 50, 25, 10: the top by strategy_b), n,
  kendall_tau, spearman_rho, top_overlap (shared top-K% ÷ its size).
cost rows: strategy, architectures, search_trials, search_completed, search_pruned, search_diverged,
  search_failed, search_epochs, search_device_s, search_device_s_per_architecture, final_trials,
  final_epochs, final_device_s, total_device_s, search_device_h, total_device_h, note.
probe rows: graph_hash, architecture, label, family, paths, S, depth (chains: S^(1/3)), principled_scale,
  is_base, probed_lr, predicted_lr, ratio (probed ÷ predicted), best_score (training loss), seeds, runs,
  diverged_runs, at_grid_edge ("low" | "high" | "").
probe_grid rows: graph_hash, label, grid_index, lr, score (mean last-epoch training loss over seeds;
  null = diverged), seeds, diverged.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from archscale.report.comparison import Comparison

FORMAT = "archscale.compare/1"


def to_document(c: Comparison) -> dict[str, Any]:
    """The JSON document as Python objects (finite floats, ints, strings, None)."""
    summary = {row["key"]: {k: _plain(v) for k, v in row.items() if k != "key"} for row in c.summary.to_dict("records")}
    return {
        "format": FORMAT,
        "study": c.study,
        "status": c.status,
        "metric": {
            "name": c.metric.name,
            "column": c.metric.column,
            "higher_is_better": c.metric.higher_is_better,
            "unit": "fraction" if c.metric.percent else "loss",
        },
        "strategies": list(c.strategies),
        "seeds": [int(s) for s in c.seeds],
        "base": {k: _plain(v) for k, v in c.base.items()} if c.base is not None else None,
        "notes": list(c.notes),
        "per_architecture": records(c.per_architecture),
        "summary": summary,
        "rankings": records(c.rankings),
        "cost": records(c.cost),
        "probe": records(c.probe) if c.probe is not None else None,
        "probe_grid": records(c.probe_grid) if c.probe_grid is not None else None,
    }


def render_json(c: Comparison) -> str:
    return json.dumps(to_document(c), indent=2, allow_nan=False, ensure_ascii=False)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _plain(value: Any) -> Any:
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
