"""Build the comparison's frames from the store's frames (`read_trials`, `read_architectures`,
`read_epochs`) and the study's plan. Everything here is deterministic (bootstrap seed 0).

Conventions (`archscale.report.render_json` lists every column for users):
- a strategy's score on an architecture is the metric of its final runs (status completed) over
  seeds; diverged final runs have no score and are counted in `{strategy}_diverged`;
- search cost: `search` trials of `tuned` per architecture (pruned and diverged trials included);
  the `base-search` phase is charged once per study to `principled` (and is also the cost of
  `fixed: {lr: base}`), and shown amortised per architecture (÷ the number of architectures);
- the tuned LR is the final runs' LR, else the best completed search trial's (highest validation
  score, ties to the smaller LR, as the search itself chooses); the principled LR the final runs',
  else the base LR × the architecture's principled scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from archscale.report import stats
from archscale.report.metrics import Metric
from archscale.report.planned import Planned

if TYPE_CHECKING:
    from collections.abc import Sequence

COMPARED = ("principled", "tuned", "fixed")
"""The strategies with final runs, in display order."""
PAIRS = (("principled", "tuned"), ("principled", "fixed"), ("tuned", "fixed"))
"""Strategy pairs compared (a, b): differences are a − b; rank agreement restricts to the top of b."""
TOP_PERCENTS = (100, 50, 25, 10)
EXPECTED_LR_SLOPE = -0.5
EXPECTED_DEPTH_EXPONENT = -1.5
LABEL_WIDTH = 20
FINISHED = ("completed", "diverged")


@dataclass(frozen=True)
class Inputs:
    """Everything a comparison is computed from (the store's frames for one study)."""

    study: str
    status: str
    trials: pd.DataFrame
    architectures: pd.DataFrame
    epochs: pd.DataFrame | None
    planned: Planned


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


def architecture_rows(inputs: Inputs) -> pd.DataFrame:
    """One row per compared architecture (the study's list, in order, that has trials), with its
    statistics; the base network only when listed (or when nothing says what was listed)."""
    archs = inputs.architectures.set_index("graph_hash", drop=False)
    planned = inputs.planned
    if planned.known:
        hashes = [h for h in planned.listed if h in archs.index]
    else:
        listed_phases = inputs.trials[inputs.trials["phase"].isin(["search", "final"])]
        source = listed_phases if not listed_phases.empty else inputs.trials
        hashes = list(dict.fromkeys(source.sort_values("id")["graph_hash"]))
    rows = archs.loc[hashes] if hashes else archs.iloc[0:0]
    frame = pd.DataFrame(
        {
            "graph_hash": rows["graph_hash"].to_numpy(),
            "architecture": rows["notation"].to_numpy(),
            "label": [short_label(n, f) for n, f in zip(rows["notation"], rows["family"], strict=True)],
            "family": rows["family"].to_numpy(),
            "kernel_size": rows["kernel_size"].to_numpy(),
            "parameters": rows["n_params"].to_numpy(),
            "paths": rows["paths"].to_numpy(dtype=float),
            "S": rows["depth_cubed_sum"].to_numpy(dtype=float),
            "principled_scale": rows["principled_scale"].to_numpy(dtype=float),
        }
    )
    return unique_labels(frame)


def unique_labels(frame: pd.DataFrame) -> pd.DataFrame:
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


def base_row(inputs: Inputs) -> pd.Series | None:
    """The base network: the plan's, else the architecture with principled scale 1 and the smallest S."""
    archs = inputs.architectures
    if inputs.planned.base_hash is not None:
        match = archs[archs["graph_hash"] == inputs.planned.base_hash]
        if not match.empty:
            return match.iloc[0]
    ones = archs[np.isclose(archs["principled_scale"].to_numpy(dtype=float), 1.0)]
    if ones.empty:
        return None
    return ones.sort_values(["depth_cubed_sum", "id"]).iloc[0]


# --- learning rates -----------------------------------------------------------------------------


def floats(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").astype("float64").to_numpy(dtype=float, na_value=np.nan)


def best_search_lr(search: pd.DataFrame) -> float:
    """The LR a search chose: its best completed trial by validation accuracy (what the searches
    maximise; ties: the smaller LR), NaN if none completed."""
    done = search[(search["status"] == "completed") & search["val_accuracy"].notna()]
    if done.empty:
        return math.nan
    best = done.sort_values(["val_accuracy", "hp_lr"], ascending=[False, True]).iloc[0]
    return float(best["hp_lr"])


def base_lr(inputs: Inputs) -> float:
    """The base LR the study used: given in the YAML, else the best of the base-LR search."""
    if inputs.planned.principled_base_lr is not None:
        return inputs.planned.principled_base_lr
    return best_search_lr(inputs.trials[inputs.trials["phase"] == "base-search"])


def final_lrs(final: pd.DataFrame) -> dict[tuple[str, str], float]:
    """(strategy, graph hash) → the median LR of its final runs."""
    lrs = final.assign(_lr=floats(final["hp_lr"])).dropna(subset=["_lr"])
    return {key: float(v) for key, v in lrs.groupby(["strategy", "graph_hash"])["_lr"].median().items()}


def by_architecture(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The rows of each architecture (graph hash), in the frame's order."""
    return {str(h): group for h, group in frame.groupby("graph_hash", sort=False)}


# --- scores -------------------------------------------------------------------------------------


def seeds_of(inputs: Inputs) -> list[int]:
    final = inputs.trials[inputs.trials["phase"] == "final"]
    observed = sorted({int(s) for s in final["seed"]})
    planned = list(inputs.planned.seeds)
    return planned + [s for s in observed if s not in planned]


def score_matrix(final: pd.DataFrame, strategy: str, hashes: Sequence[str], seeds: Sequence[int], column: str) -> Any:
    """(architectures × seeds) of `column` for completed final runs; NaN where there is none."""
    out = np.full((len(hashes), len(seeds)), np.nan)
    rows = final[(final["strategy"] == strategy) & (final["status"] == "completed")]
    where_hash = {h: i for i, h in enumerate(hashes)}
    where_seed = {s: j for j, s in enumerate(seeds)}
    for h, s, v in zip(rows["graph_hash"], rows["seed"], floats(rows[column]), strict=True):
        if h in where_hash and int(s) in where_seed:
            out[where_hash[h], where_seed[int(s)]] = v
    return out


# --- the per-architecture frame -----------------------------------------------------------------


@dataclass(frozen=True)
class Scores:
    """Per compared strategy: final-run scores (architectures × seeds) of the metric and its validation
    counterpart, and the seeds' order."""

    seeds: list[int]
    test: dict[str, Any]
    val: dict[str, Any]


def present_strategies(inputs: Inputs) -> list[str]:
    """Compared strategies the study planned, or (plan unknown) that have trials."""
    if inputs.planned.known:
        return [s for s in COMPARED if s in inputs.planned.strategies]
    have = set(inputs.trials["strategy"])
    return [s for s in COMPARED if s in have]


def per_architecture(inputs: Inputs, metric: Metric, rows: pd.DataFrame) -> tuple[pd.DataFrame, Scores]:
    trials = inputs.trials
    final = trials[trials["phase"] == "final"]
    hashes = rows["graph_hash"].tolist()
    seeds = seeds_of(inputs)
    strategies = present_strategies(inputs)
    scores = Scores(
        seeds,
        {s: score_matrix(final, s, hashes, seeds, metric.column) for s in strategies},
        {s: score_matrix(final, s, hashes, seeds, metric.val_column) for s in strategies},
    )
    the_base_lr = base_lr(inputs)
    scale = rows["principled_scale"].to_numpy(dtype=float)
    searches = by_architecture(trials[(trials["phase"] == "search") & (trials["strategy"] == "tuned")])
    chosen = final_lrs(final)
    nan = math.nan
    columns: dict[str, Any] = {
        "principled_lr": [chosen.get(("principled", h), the_base_lr * k) for h, k in zip(hashes, scale, strict=True)],
        "tuned_lr": [chosen.get(("tuned", h), best_search_lr(searches[h]) if h in searches else nan) for h in hashes],
    }
    fixed_default = _fixed_default(inputs, the_base_lr) if "fixed" in strategies else nan
    columns["fixed_lr"] = [chosen.get(("fixed", h), fixed_default) for h in hashes]
    with np.errstate(divide="ignore", invalid="ignore"):
        columns["lr_ratio"] = np.asarray(columns["tuned_lr"], dtype=float) / np.asarray(
            columns["principled_lr"], dtype=float
        )
    for strategy in COMPARED:
        matrix = scores.test.get(strategy, np.full((len(hashes), len(seeds)), np.nan))
        estimates = [stats.mean_ci(row) for row in matrix]
        finite = [row[np.isfinite(row)] for row in matrix]
        columns[f"{strategy}_mean"] = [e.value for e in estimates]
        columns[f"{strategy}_std"] = [float(np.std(v, ddof=1)) if v.size > 1 else nan for v in finite]
        columns[f"{strategy}_n"] = [e.n for e in estimates]
        columns[f"{strategy}_ci_lo"] = [e.lo for e in estimates]
        columns[f"{strategy}_ci_hi"] = [e.hi for e in estimates]
        columns[f"{strategy}_rank"] = stats.ranks(columns[f"{strategy}_mean"], metric.higher_is_better)
    frame = rows.assign(**columns)
    for a, b in PAIRS[:2]:
        frame[f"{a}_vs_{b}"] = [
            stats.compare_intervals((alo, ahi), (blo, bhi), metric.higher_is_better)
            for alo, ahi, blo, bhi in zip(
                frame[f"{a}_ci_lo"], frame[f"{a}_ci_hi"], frame[f"{b}_ci_lo"], frame[f"{b}_ci_hi"], strict=True
            )
        ]
    frame = frame.assign(**_search_costs(inputs, hashes, strategies, searches))
    frame = frame.assign(**_status_counts(inputs, hashes, seeds, strategies, searches))
    frame["cost_to_match_s"] = _costs_to_match(metric, hashes, scores, searches)
    frame["notes"] = [_row_note(r, strategies, len(seeds)) for r in frame.to_dict("records")]
    return frame.reset_index(drop=True), scores


def _fixed_default(inputs: Inputs, the_base_lr: float) -> float:
    lr = inputs.planned.fixed_lr
    if lr == "base" or (lr is None and not inputs.planned.known):
        return the_base_lr
    return float(lr) if lr is not None else math.nan


def base_search_charged_to(inputs: Inputs) -> list[str]:
    """The strategies whose search cost is the base-LR search (principled; fixed with `lr: base`)."""
    if inputs.trials[inputs.trials["phase"] == "base-search"].empty:
        return []
    planned = inputs.planned
    if planned.known:
        out = ["principled"] if "principled" in planned.strategies else []
        if planned.fixed_lr == "base" or planned.base_search_owner == "fixed":
            out.append("fixed")
        return out
    return ["principled", "fixed"]


def _search_costs(
    inputs: Inputs, hashes: Sequence[str], strategies: Sequence[str], searches: dict[str, pd.DataFrame]
) -> dict[str, Any]:
    trials, n = inputs.trials, max(len(hashes), 1)
    base = trials[trials["phase"] == "base-search"]
    base_cost = (
        float(len(base)),
        float(np.nansum(floats(base["budget_reached"]))),
        float(np.nansum(floats(base["device_seconds"]))),
    )
    charged = base_search_charged_to(inputs)
    out: dict[str, Any] = {}
    for strategy in COMPARED:
        if strategy not in strategies:
            values = [(math.nan,) * 3] * len(hashes)
        elif strategy == "tuned":
            empty = trials.iloc[0:0]
            values = [
                (
                    float(len(mine)),
                    float(np.nansum(floats(mine["budget_reached"]))),
                    float(np.nansum(floats(mine["device_seconds"]))),
                )
                for mine in (searches.get(h, empty) for h in hashes)
            ]
        elif strategy in charged:
            values = [tuple(v / n for v in base_cost)] * len(hashes)
        else:
            values = [(0.0, 0.0, 0.0)] * len(hashes)
        out[f"{strategy}_search_trials"] = [v[0] for v in values]
        out[f"{strategy}_search_epochs"] = [v[1] for v in values]
        out[f"{strategy}_search_device_s"] = [v[2] for v in values]
    return out


def _status_counts(
    inputs: Inputs,
    hashes: Sequence[str],
    seeds: Sequence[int],
    strategies: Sequence[str],
    searches: dict[str, pd.DataFrame],
) -> dict[str, Any]:
    final = inputs.trials[inputs.trials["phase"] == "final"]
    counts = final.groupby(["strategy", "graph_hash", "status"]).size().to_dict()
    out: dict[str, Any] = {}
    for strategy in COMPARED:
        present = strategy in strategies
        diverged = [counts.get((strategy, h, "diverged"), 0) if present else 0 for h in hashes]
        finished = [sum(counts.get((strategy, h, st), 0) for st in FINISHED) for h in hashes]
        out[f"{strategy}_diverged"] = diverged
        out[f"{strategy}_missing"] = [max(len(seeds) - f, 0) if present else 0 for f in finished]
    status = {h: searches[h]["status"].value_counts().to_dict() if h in searches else {} for h in hashes}
    out["tuned_pruned"] = [int(status[h].get("pruned", 0)) for h in hashes]
    out["tuned_search_diverged"] = [int(status[h].get("diverged", 0)) for h in hashes]
    return out


def search_order(search: pd.DataFrame) -> pd.DataFrame:
    """Search trials in the order they finished (unfinished last, then by trial number)."""
    return search.sort_values(["finished_at", "trial_number", "id"], na_position="last")


def _costs_to_match(
    metric: Metric, hashes: Sequence[str], scores: Scores, searches: dict[str, pd.DataFrame]
) -> list[float]:
    """Per architecture: device-seconds of the tuned search until its best-so-far validation score
    first reached principled's (mean over seeds of its final runs); NaN if it never did."""
    if "principled" not in scores.val:
        return [math.nan] * len(hashes)
    out = []
    for i, h in enumerate(hashes):
        if h not in searches:
            out.append(math.nan)
            continue
        mine = search_order(searches[h])
        usable = np.where(mine["status"].to_numpy() == "completed", floats(mine[metric.val_column]), np.nan)
        target = stats.nanmean(scores.val["principled"][i])
        out.append(stats.cost_to_match(floats(mine["device_seconds"]), usable, target, metric.higher_is_better))
    return out


def _row_note(row: dict[str, Any], strategies: Sequence[str], n_seeds: int) -> str:
    parts = []
    for strategy in strategies:
        if row[f"{strategy}_diverged"]:
            parts.append(f"{strategy}: {row[f'{strategy}_diverged']} of {n_seeds} seeds diverged")
        if row[f"{strategy}_missing"]:
            parts.append(f"{strategy}: {row[f'{strategy}_missing']} of {n_seeds} final runs missing")
    if "tuned" in strategies and row["tuned_search_trials"]:
        pruned, diverged = row["tuned_pruned"], row["tuned_search_diverged"]
        if pruned or diverged:
            parts.append(f"tuned search: {pruned} pruned, {diverged} diverged of {int(row['tuned_search_trials'])}")
    return "; ".join(parts)
