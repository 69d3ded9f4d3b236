"""A comparison's claims (claims stage): `compare(study, db=URL)` reads one study and its plan
(`frames.read`), computes its statistics and states what they say about the study's arms, with what is
missing, partial or unlike in words (`notes`).

The result is a frozen `Comparison` holding pandas frames; the renderers (table, markdown, csv,
json, html) and the plots only format what it holds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from archscale.report.claims.recipes import pairs_frame
from archscale.report.frames.metrics import DEFAULT_METRIC, Metric, get_metric
from archscale.report.frames.read import read_benchmark_frames, read_inputs
from archscale.report.frames.study import (
    STUDY_SCOPE,
    Inputs,
    architecture_rows,
    base_info,
    charges,
    diverged_score,
    final_arms,
    listed,
)
from archscale.report.statistics.benchmark import BENCHMARK, BenchmarkComparison, benchmark_cells, benchmark_of
from archscale.report.statistics.cost import (
    cost_frame,
    matching,
    per_architecture_match,
    search_curves,
    searches_frame,
    study_to_match,
)
from archscale.report.statistics.per_architecture import per_architecture
from archscale.report.statistics.probe import probe_frames
from archscale.report.statistics.summary import rankings_frame, summary_frame
from archscale.vocabulary import Phase

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from archscale.store import StudyPlan


@dataclass(frozen=True)
class Comparison:
    """A study's comparison.

    - `arms`: the arms with final runs (plan order); `probe_arms`: arms with probe trials;
    - `per_architecture`: one row per compared architecture (LRs, scores per arm, paired differences
      per pair, search cost, notes);
    - `summary`: one row per statistic, keyed by `key` (see `archscale.report.statistics.summary`);
    - `pairs`: the compared pairs with what else differs between them (like with like);
    - `rankings`: rank agreement per pair and top-K%;
    - `cost`: the ledger, one row per arm; `searches`: every search with its budget;
    - `match` / `match_curves`: cost to match, per architecture and repeat / study curves per repeat;
    - `curves`: best-so-far validation score vs cumulative search device-hours;
    - `probe` / `probe_grid`: probed vs predicted maximal LRs and the grids (None without probes);
    - `diverged_score`: what a diverged final run scores (NaN: unknown, left out);
    - `notes`: what is missing, partial or unlike, in words;
    - `benchmark`: the arms against a benchmark's imported results (`archscale.report.statistics.benchmark`), or None.
    """

    study: str
    status: str
    metric: Metric
    plan: StudyPlan
    arms: tuple[str, ...]
    probe_arms: tuple[str, ...]
    seeds: tuple[int, ...]
    repeats: int
    diverged_score: float
    per_architecture: pd.DataFrame
    summary: pd.DataFrame
    pairs: pd.DataFrame
    rankings: pd.DataFrame
    cost: pd.DataFrame
    searches: pd.DataFrame
    match: pd.DataFrame
    match_curves: pd.DataFrame
    curves: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    probe: pd.DataFrame | None = None
    probe_grid: pd.DataFrame | None = None
    base: dict[str, Any] | None = None
    benchmark: BenchmarkComparison | None = None

    def stat(self, key: str) -> float:
        """The value of the summary statistic `key` (NaN when the study does not have it)."""
        match = self.summary.loc[self.summary["key"] == key, "value"]
        return float(match.iloc[0]) if len(match) else math.nan

    def row(self, key: str) -> dict[str, Any] | None:
        match = self.summary[self.summary["key"] == key]
        return match.iloc[0].to_dict() if len(match) else None

    def label(self, arm: str) -> str:
        """The arm's display label (the arm's name when the plan has none)."""
        labels = dict(zip(self.plan.arms["arm"], self.plan.arms["label"], strict=True))
        return str(labels.get(arm) or arm)


def compare(study: str, db: str | Engine | None = None, metric: str | Metric = DEFAULT_METRIC) -> Comparison:
    """Compare the arms of `study` in the database `db` (a URL or engine; default: $ARCHSCALE_DB,
    else sqlite:///archscale.db). An unknown study raises UserError naming the known ones. NAS-Bench-201
    studies with imported benchmark results are also compared against them (`Comparison.benchmark`)."""
    from archscale.store import resolve_url

    url = resolve_url(db) if db is None or isinstance(db, str) else db
    return compare_inputs(read_inputs(study, url), url, metric)


def compare_inputs(inputs: Inputs, db: str | Engine, metric: str | Metric = DEFAULT_METRIC) -> Comparison:
    """`compare` on frames already read from the database `db` (which also holds any benchmark results)."""
    c = build_comparison(inputs, get_metric(metric))
    cells = benchmark_cells(c.per_architecture, c.arms)
    stored = None if cells is None else read_benchmark_frames(db, inputs.study, BENCHMARK)
    if cells is None or stored is None:
        return c
    found = benchmark_of(cells, c.arms, inputs, stored)
    return c if found is None else replace(c, benchmark=found, notes=[*c.notes, *found.notes])


def build_comparison(inputs: Inputs, metric: str | Metric = DEFAULT_METRIC) -> Comparison:
    """The comparison of already-read frames (what `compare` does after reading the database)."""
    metric = get_metric(metric)
    if "hp_lr" not in inputs.trials.columns:  # no trial has hyperparameters yet (an empty study)
        inputs = replace(inputs, trials=inputs.trials.assign(hp_lr=float("nan")))
    rows = architecture_rows(inputs)
    per_arch, scores = per_architecture(inputs, metric, rows)
    hashes, labels = per_arch["graph_hash"].tolist(), per_arch["label"].tolist()
    match, match_curves = matching(inputs, metric, hashes, labels, scores)
    per_arch = per_arch.assign(**per_architecture_match(match, hashes))
    cost = cost_frame(inputs)
    pairs = pairs_frame(inputs.plan)
    rankings = rankings_frame(per_arch, inputs.plan.pairs, metric)
    probed = probe_frames(inputs)
    probe, grid, probe_notes = probed if probed is not None else (None, None, [])
    summary = summary_frame(inputs, per_arch, scores, cost, match, match_curves, rankings, probe, metric)
    base = base_info(inputs.plan, hashes)
    arms = final_arms(inputs.plan)
    notes = [*inputs.caveats, *_notes(inputs, per_arch, arms, pairs, base, metric)]
    notes += _match_notes(match_curves, metric)
    notes += _probe_notes(probe, probe_notes)
    return Comparison(
        study=inputs.study,
        status=inputs.status,
        metric=metric,
        plan=inputs.plan,
        arms=tuple(arms),
        probe_arms=tuple(probe["arm"].unique()) if probe is not None else (),
        seeds=tuple(scores.seeds),
        repeats=scores.repeats,
        diverged_score=diverged_score(metric.higher_is_better, inputs.plan.chance),
        per_architecture=per_arch,
        summary=summary,
        pairs=pairs,
        rankings=rankings,
        cost=cost,
        searches=searches_frame(inputs),
        match=match,
        match_curves=match_curves,
        curves=search_curves(inputs, metric, hashes, scores),
        notes=notes,
        probe=probe,
        probe_grid=grid,
        base=base,
    )


def _notes(
    inputs: Inputs,
    per_arch: pd.DataFrame,
    arms: list[str],
    pairs: pd.DataFrame,
    base: dict[str, Any] | None,
    metric: Metric,
) -> list[str]:
    plan = inputs.plan
    notes: list[str] = []
    if inputs.status != "completed":
        notes.append(f"study status is '{inputs.status}': this compares what has finished so far")
    n_listed = len(listed(plan))
    if n_listed - len(per_arch) > 0:
        notes.append(f"{n_listed - len(per_arch)} of {n_listed} listed architectures have no trials yet")
    notes += [line for line in pairs["note"] if line]
    n = len(per_arch)
    diverged_total = 0
    for arm in arms:
        have = int(per_arch[f"{arm}_n"].gt(0).sum())
        missing, diverged = int(per_arch[f"{arm}_missing"].sum()), int(per_arch[f"{arm}_diverged"].sum())
        diverged_total += diverged
        if have == 0:
            notes.append(f"{arm}: no final runs finished yet")
            continue
        if have < n:
            notes.append(f"{arm}: final runs for {have} of {n} architectures")
        if missing:
            notes.append(f"{arm}: {missing} final runs not finished (pending, running or failed)")
        if diverged:
            finished = int(per_arch[f"{arm}_n"].sum())
            notes.append(f"{arm}: {diverged} of {finished} final runs diverged ({diverged / finished:.0%})")
    if diverged_total:
        score = diverged_score(metric.higher_is_better, plan.chance)
        if math.isfinite(score):
            shown = f"{metric.show(score)}{metric.unit}"
            what = (
                "chance accuracy (1/classes)" if metric.higher_is_better else "the loss of a uniform guess (ln classes)"
            )
            notes.append(f"diverged final runs score {what}, {shown}, and count in means, wins and losses")
        else:
            notes.append("the dataset's chance level is unknown: diverged final runs are left out of the means")
    if not arms and inputs.trials["phase"].eq(Phase.PROBE).any():
        notes.append("a probe study: no final runs to compare; see the probe section")
    notes += _shared_search_notes(inputs, base, n_listed)
    notes += _shared_run_notes(inputs)
    return notes


def _shared_run_notes(inputs: Inputs) -> list[str]:
    """One line per pair of arms whose identical final runs trained once (`same_run_as`)."""
    trials = inputs.trials
    if "same_run_as" not in trials or not trials["same_run_as"].notna().any():
        return []
    shared = trials[trials["same_run_as"].notna() & (trials["phase"] == Phase.FINAL)]
    notes = []
    for (arm, trained_by), group in shared.groupby(["arm", "same_run_as"], sort=False):
        archs = ", ".join(dict.fromkeys(str(a) for a in group["architecture"]))
        notes.append(
            f"{len(group)} final runs of {arm} are identical to {trained_by}'s (same LR, seed, init and recipe, "
            f"on {archs}): trained once, scored for both, their time charged to both"
        )
    return notes


def _shared_search_notes(inputs: Inputs, base: dict[str, Any] | None, n_listed: int) -> list[str]:
    """One line per study-scope search phase on an architecture that is not compared (the base network)."""
    charged = charges(inputs)
    study = charged[charged["scope"] == STUDY_SCOPE]
    if base is None or base["listed"] or study.empty:
        return []
    notes = []
    for phase, group in study.groupby("phase", sort=False):
        arms = list(dict.fromkeys(group["charged_arm"]))
        trials = group.drop_duplicates("id")
        notes.append(
            f"the base network {base['label']} (S={base['S']:g}) is not among the compared architectures; its "
            f"{phase} ({len(trials)} trials) is charged once per study to {' and '.join(arms)}, amortised over "
            f"{n_listed} architectures"
        )
    return notes


def _match_notes(curves: pd.DataFrame, metric: Metric) -> list[str]:
    notes = []
    for (arm, against), _ in curves.groupby(["arm", "against"], sort=False):
        per_repeat = study_to_match(curves, str(arm), str(against), metric.higher_is_better)
        missed = int(per_repeat["trials_to_match"].isna().sum())
        if missed:
            most = int(per_repeat["trials"].max())
            notes.append(
                f"{arm} did not match {against}'s mean within its {most} search trials in {missed} of "
                f"{len(per_repeat)} repeats"
            )
    return notes


def _probe_notes(probe: pd.DataFrame | None, extra: list[str]) -> list[str]:
    if probe is None:
        return []
    notes = list(extra)
    for arm, frame in probe.groupby("arm", sort=False):
        for edge in ("low", "high"):
            labels = frame.loc[frame["at_grid_edge"] == edge, "label"].tolist()
            if labels:
                notes.append(
                    f"probe {arm}: the probed LR is the grid's {edge} end for {', '.join(labels)} "
                    f"(widen the grid: the true maximal LR may lie beyond)"
                )
        if not frame["is_base"].any():
            notes.append(f"probe {arm}: the base network has no probe: predicted LRs are unavailable")
    return notes
