"""`compare(study, db=URL)`: read one study from the results database and compare its strategies.

The result is a frozen `Comparison` holding pandas frames; the renderers (table, markdown, csv,
json, html) and the plots only format what it holds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from archscale.report.cost import cost_frame, search_curves
from archscale.report.frames import (
    COMPARED,
    Inputs,
    architecture_rows,
    base_row,
    base_search_charged_to,
    per_architecture,
    present_strategies,
    short_label,
)
from archscale.report.metrics import DEFAULT_METRIC, Metric, get_metric
from archscale.report.planned import Planned, read_plan
from archscale.report.probe import probe_frames
from archscale.report.summary import rankings_frame, summary_frame

if TYPE_CHECKING:
    from sqlalchemy import Engine


@dataclass(frozen=True)
class Comparison:
    """A study's comparison.

    - `per_architecture`: one row per compared architecture (LRs, scores per strategy, search cost, notes);
    - `summary`: one row per statistic, keyed by `key` (see `archscale.report.summary`);
    - `rankings`: rank agreement per strategy pair and top-K%;
    - `cost`: the cost ledger, one row per strategy;
    - `probe` / `probe_grid`: probed vs predicted maximal LRs and the probe grid (None without probes);
    - `curves`: best-so-far validation score vs cumulative search device-hours (for the plots);
    - `notes`: what is missing or partial, in words.
    """

    study: str
    status: str
    metric: Metric
    strategies: tuple[str, ...]
    seeds: tuple[int, ...]
    per_architecture: pd.DataFrame
    summary: pd.DataFrame
    rankings: pd.DataFrame
    cost: pd.DataFrame
    curves: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    probe: pd.DataFrame | None = None
    probe_grid: pd.DataFrame | None = None
    base: dict[str, Any] | None = None

    def stat(self, key: str) -> float:
        """The value of the summary statistic `key` (NaN when the study does not have it)."""
        match = self.summary.loc[self.summary["key"] == key, "value"]
        return float(match.iloc[0]) if len(match) else math.nan

    def row(self, key: str) -> dict[str, Any] | None:
        match = self.summary[self.summary["key"] == key]
        return match.iloc[0].to_dict() if len(match) else None


def compare(study: str, db: str | Engine | None = None, metric: str | Metric = DEFAULT_METRIC) -> Comparison:
    """Compare the strategies of `study` in the database `db` (a URL or engine; default: $ARCHSCALE_DB,
    else sqlite:///archscale.db). An unknown study raises UserError naming the known ones."""
    from archscale.store import read_architectures, read_epochs, read_studies, read_trials, resolve_url

    chosen = get_metric(metric)
    url = resolve_url(db) if db is None or isinstance(db, str) else db
    trials = read_trials(url, study)  # raises UserError for an unknown study, listing the known ones
    studies = read_studies(url)
    row = studies[studies["name"] == study].iloc[0]
    architectures = read_architectures(url, study)
    epochs = read_epochs(url, study) if (trials["phase"] == "probe").any() else None
    planned = read_plan(study, str(row["yaml_text"]))
    return build_comparison(Inputs(study, str(row["status"]), trials, architectures, epochs, planned), chosen)


def build_comparison(inputs: Inputs, metric: str | Metric = DEFAULT_METRIC) -> Comparison:
    """The comparison of already-read frames (what `compare` does after reading the database)."""
    metric = get_metric(metric)
    if "hp_lr" not in inputs.trials.columns:  # no trial has hyperparameters yet (an empty study)
        inputs = replace(inputs, trials=inputs.trials.assign(hp_lr=float("nan")))
    rows = architecture_rows(inputs)
    per_arch, scores = per_architecture(inputs, metric, rows)
    strategies = present_strategies(inputs)
    cost = cost_frame(inputs, len(per_arch))
    rankings = rankings_frame(per_arch, strategies, metric)
    probed = probe_frames(inputs)
    probe, grid = probed if probed is not None else (None, None)
    summary = summary_frame(per_arch, scores, cost, rankings, probe, metric)
    curves = search_curves(inputs, metric, per_arch["graph_hash"].tolist(), scores)
    base = base_row(inputs)
    base_info = None
    if base is not None:
        base_info = {
            "architecture": base["notation"],
            "label": short_label(base["notation"], base["family"]),
            "S": float(base["depth_cubed_sum"]),
            "listed": bool((per_arch["graph_hash"] == base["graph_hash"]).any()),
        }
    all_strategies = tuple(strategies) + (("probe",) if probe is not None else ())
    return Comparison(
        study=inputs.study,
        status=inputs.status,
        metric=metric,
        strategies=all_strategies,
        seeds=tuple(scores.seeds),
        per_architecture=per_arch,
        summary=summary,
        rankings=rankings,
        cost=cost,
        curves=curves,
        notes=_notes(inputs, per_arch, strategies, probe, base_info),
        probe=probe,
        probe_grid=grid,
        base=base_info,
    )


def _notes(
    inputs: Inputs,
    per_arch: pd.DataFrame,
    strategies: list[str],
    probe: pd.DataFrame | None,
    base: dict[str, Any] | None,
) -> list[str]:
    notes: list[str] = []
    planned: Planned = inputs.planned
    if inputs.status != "completed":
        notes.append(f"study status is '{inputs.status}': this compares what has finished so far")
    if planned.problem:
        notes.append(f"{planned.problem}: comparing what the database holds")
    if planned.known:
        missing_archs = len(planned.listed) - len(per_arch)
        if missing_archs > 0:
            notes.append(f"{missing_archs} of {len(planned.listed)} listed architectures have no trials yet")
    absent = [s for s in COMPARED if s not in strategies]
    if strategies and absent:
        notes.append(f"not in this study: {', '.join(absent)}")
    if not strategies and probe is not None:
        notes.append("a probe study: no final runs to compare; see the probe section")
    n = len(per_arch)
    for strategy in strategies:
        have = int(per_arch[f"{strategy}_n"].gt(0).sum())
        if have == 0:
            notes.append(f"{strategy}: no final runs finished yet")
        elif have < n:
            notes.append(f"{strategy}: final runs for {have} of {n} architectures")
        missing = int(per_arch[f"{strategy}_missing"].sum())
        diverged = int(per_arch[f"{strategy}_diverged"].sum())
        if missing and have:
            notes.append(f"{strategy}: {missing} final runs not finished (pending, running or failed)")
        if diverged:
            notes.append(f"{strategy}: {diverged} final runs diverged (left out of the means)")
    base_search = inputs.trials[inputs.trials["phase"] == "base-search"]
    charged = base_search_charged_to(inputs)
    if base is not None and not base["listed"] and charged and len(base_search):
        notes.append(
            f"the base network {base['label']} (S={base['S']:g}) is not among the compared architectures; its "
            f"base-LR search ({len(base_search)} trials) is charged to {' and '.join(charged)}, amortised over "
            f"{n} architectures"
        )
    if probe is not None:
        if planned.probe_criterion == "train_loss_tail":
            notes.append("probe criterion train_loss_tail is not stored per epoch: the epoch's training loss is used")
        for edge in ("low", "high"):
            labels = probe.loc[probe["at_grid_edge"] == edge, "label"].tolist()
            if labels:
                notes.append(
                    f"probe: the probed LR is the grid's {edge} end for {', '.join(labels)} "
                    f"(widen the grid: the true maximal LR may lie beyond)"
                )
        if not probe["is_base"].any():
            notes.append("probe: the base network has no probe: predicted LRs are unavailable")
    return notes
