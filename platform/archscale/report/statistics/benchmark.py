"""A study's arms against a benchmark's published results (the paper's Fig. 4 and App. E.4; statistics
stage: the results are read by `frames.read`, shown by `render.benchmark`).

When the study's compared architectures are NAS-Bench-201 cells and results of the study's dataset
were imported (`archscale benchmark import`), `benchmark_of` makes a `BenchmarkComparison`:
- `accuracy`: per arm, its test accuracy minus the benchmark's, mean over cells, with a paired
  interval over the cells (`stats.t_estimate` with cells as units, architectures varying: Student t,
  none below 2 cells; `method`, `n`, `varies` and `fixed` say so);
- `rankings`: per arm and top K% (TOP_PERCENTS, as Fig. 4 middle), Kendall τ and Spearman ρ of the
  arm's accuracies against the benchmark's, restricted to the benchmark's top K% of the cells present;
- `noise_floor`: the same per pair of the benchmark's own seeds, on the same top-K% cell sets (App. E.4);
- `gaps` / `gap_summary`: for each pair of cells, the benchmark's accuracy gap and the arm's, oriented so
  that the benchmark's gap is ≥ 0 (a negative arm gap: the arm orders the pair the other way; Fig. 4 right).

The arm's accuracy on a cell is the mean of its final runs' test accuracy (diverged runs score
chance, as in the rest of the report); the benchmark's is the mean over its seeds at `epochs`: the
study's training epochs when imported, else the most imported. Without imported results nothing is added.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from itertools import combinations
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from archscale.report.frames.metrics import get_metric
from archscale.report.frames.study import scores_of
from archscale.report.statistics import stats

if TYPE_CHECKING:
    from archscale.report.frames.read import BenchmarkFrames
    from archscale.report.frames.study import Inputs

BENCHMARK = "nb201"
TOP_PERCENTS = (100, 90, 80, 70, 60, 50, 40, 30, 20, 10, 5, 1)
MAX_GAP_ROWS = 20_000
"""Gap rows kept per arm (a seeded sample beyond; the gap summary always uses every pair)."""


@dataclass(frozen=True)
class BenchmarkComparison:
    """The study against `benchmark`'s results on `dataset` after `epochs` epochs (see the module docstring).

    - `cells`: one row per compared cell with results: graph_hash, label, benchmark (mean over its
      seeds), benchmark_seeds, and per arm ARM (its mean) and ARM_diff (ARM − benchmark);
    - `accuracy`: arm, mean, benchmark, diff, lo, hi, n (cells), method;
    - `rankings`: arm, top_percent, n, kendall_tau, spearman_rho, top_overlap;
    - `noise_floor`: seed_a, seed_b, top_percent, n, kendall_tau, spearman_rho;
    - `gaps`: arm, better, worse (labels; better by the benchmark), benchmark_gap (≥ 0), arm_gap;
    - `gap_summary`: arm, pairs, benchmark_median_gap, arm_median_gap (medians of |gap|), flipped
      (the share of pairs the arm orders the other way), shown (gap rows kept);
    - `notes`: what was left out, in words.
    """

    benchmark: str
    dataset: str
    epochs: int
    seeds: tuple[int, ...]
    sources: tuple[str, ...]
    cells: pd.DataFrame
    accuracy: pd.DataFrame
    rankings: pd.DataFrame
    noise_floor: pd.DataFrame
    gaps: pd.DataFrame
    gap_summary: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def noise(self) -> pd.DataFrame:
        """The seed-vs-seed τ and ρ per top K%, means over the benchmark's seed pairs."""
        columns = ["top_percent", "n", "kendall_tau", "spearman_rho"]
        if self.noise_floor.empty:
            return pd.DataFrame(columns=columns)
        return self.noise_floor.groupby("top_percent", sort=False, as_index=False)[columns[1:]].mean()


def benchmark_cells(per_architecture: pd.DataFrame, arms: tuple[str, ...]) -> pd.DataFrame | None:
    """The compared NAS-Bench-201 cells of a comparison (its `per_architecture` frame); None when there are
    none or no arm has final runs."""
    pa = per_architecture
    cells = pa[pa["family"] == "nb201"] if len(pa) else pa
    return None if cells.empty or not arms else cells


def benchmark_of(
    cells: pd.DataFrame, arms: tuple[str, ...], inputs: Inputs, stored: BenchmarkFrames
) -> BenchmarkComparison | None:
    """The `arms` on the compared `cells` (`benchmark_cells`) against the benchmark's imported results
    (`stored`); None when no cell has a result."""
    results = stored.results
    epochs = pick_epochs(results["epochs"].tolist(), stored.study_epochs)
    results = results[results["epochs"] == epochs]
    hashes = cells["graph_hash"].tolist()
    cubes = scores_of(inputs, get_metric("test_acc"), hashes).test
    means = {arm: stats.row_means(cubes[arm].reshape(len(hashes), -1)) for arm in arms}
    found = compare_to_benchmark(
        cells[["graph_hash", "label"]], means, results, benchmark=BENCHMARK, dataset=stored.dataset, epochs=epochs
    )
    note = training_set_note(stored.dataset, stored.val_fraction, stored.limit)
    return replace(found, notes=[*found.notes, note]) if found is not None and note else found


BENCHMARK_TRAIN_IMAGES = {"cifar10": 50_000, "cifar100": 50_000, "imagenet16-120": 151_700}
"""The training images behind NAS-Bench-201's results per dataset (its `cifar10` trains on train and valid)."""


def training_set_note(dataset: str, val_fraction: float, limit: int | None) -> str | None:
    """A note when the study trains on fewer images than the benchmark's results did (a held-out validation
    split or a limit), None when it trains on as many or the benchmark's count is unknown."""
    full = BENCHMARK_TRAIN_IMAGES.get(dataset)
    if full is None:
        return None
    trained = round(min(full, limit or full) * (1 - val_fraction))
    if trained >= full:
        return None
    return (
        f"the study's final runs train on {trained:,} {dataset} images (val_fraction {val_fraction:g}"
        f"{f', limit {limit:,}' if limit else ''}), the benchmark's results on {full:,}: not like for like"
    )


def pick_epochs(available: list[int], study_epochs: int | None) -> int:
    """The study's training epochs when the benchmark has them, else its most-imported epochs (ties: the longest)."""
    counts = pd.Series(available).value_counts()
    if study_epochs in counts.index:
        return int(study_epochs)  # type: ignore[arg-type]
    return int(max(counts.index, key=lambda e: (counts[e], e)))


def compare_to_benchmark(
    cells: pd.DataFrame,
    arms: dict[str, Any],
    results: pd.DataFrame,
    *,
    benchmark: str,
    dataset: str,
    epochs: int,
) -> BenchmarkComparison | None:
    """The comparison of per-cell arm accuracies (`arms`: arm → values aligned with `cells`, which has
    graph_hash and label) with a benchmark's results (a `read_benchmark` frame at one `epochs`); None
    when no cell has a result."""
    if results.empty:
        return None
    by_seed = results.pivot_table(index="graph_hash", columns="seed", values="test_accuracy", aggfunc="mean")
    present = cells["graph_hash"].isin(by_seed.index).to_numpy()
    if not present.any():
        return None
    cells = cells[present].reset_index(drop=True)
    arms = {arm: np.asarray(values, dtype=float)[present] for arm, values in arms.items()}
    per_seed = by_seed.reindex(cells["graph_hash"])
    bench = stats.row_means(per_seed.to_numpy(dtype=float))
    table = cells.assign(benchmark=bench, benchmark_seeds=per_seed.notna().sum(axis=1).to_numpy())
    for arm, values in arms.items():
        table[arm] = values
        table[f"{arm}_diff"] = values - bench
    labels = cells["label"].to_numpy(dtype=object)
    gap_rows, gap_summary = [], []
    for arm, values in arms.items():
        rows, summary = pair_gaps(values, bench, labels)
        gap_rows.append(rows.assign(arm=arm))
        gap_summary.append({"arm": arm, **summary})
    gaps = pd.concat(gap_rows, ignore_index=True) if gap_rows else pd.DataFrame()
    notes = []
    for arm, values in arms.items():
        missing = int((~np.isfinite(values)).sum())
        if missing:
            notes.append(f"{arm}: no finished final runs on {missing} of {len(values)} cells with benchmark results")
    left_out = int((~present).sum())
    if left_out:
        notes.append(f"{left_out} compared cells have no {benchmark} result on {dataset} at {epochs} epochs")
    seeds = tuple(int(s) for s in by_seed.columns)
    return BenchmarkComparison(
        benchmark=benchmark,
        dataset=dataset,
        epochs=int(epochs),
        seeds=seeds,
        sources=tuple(dict.fromkeys(str(s) for s in results["source"])) if "source" in results else (),
        cells=table,
        accuracy=pd.DataFrame([_accuracy(arm, v, bench) for arm, v in arms.items()]),
        rankings=pd.DataFrame(
            [top_row(arm, values, bench, p) for arm, values in arms.items() for p in TOP_PERCENTS],
            columns=["arm", "top_percent", "n", "kendall_tau", "spearman_rho", "top_overlap"],
        ),
        noise_floor=noise_floor(per_seed.to_numpy(dtype=float), bench, seeds),
        gaps=gaps[["arm", "better", "worse", "benchmark_gap", "arm_gap"]] if len(gaps) else gaps,
        gap_summary=pd.DataFrame(gap_summary),
        notes=notes,
    )


def _accuracy(arm: str, values: np.ndarray, bench: np.ndarray) -> dict[str, Any]:
    keep = np.isfinite(values) & np.isfinite(bench)
    e = stats.t_estimate(values[keep] - bench[keep], (stats.ARCHITECTURE,), (-1.0, 1.0))
    return {
        "arm": arm,
        "mean": stats.nanmean(values[keep]),
        "benchmark": stats.nanmean(bench[keep]),
        "diff": e.value,
        "lo": e.lo,
        "hi": e.hi,
        "n": e.n,
        "method": e.method,
        "varies": ",".join(e.varies),
        "fixed": ",".join(e.fixed),
    }


def top_row(arm: str, values: np.ndarray, bench: np.ndarray, percent: float) -> dict[str, Any]:
    """Rank agreement of `values` with `bench` on the benchmark's top `percent`% of the cells both have."""
    top = stats.top_agreement(values, bench, percent / 100)
    return {
        "arm": arm,
        "top_percent": percent,
        "n": top.n,
        "kendall_tau": top.kendall_tau,
        "spearman_rho": top.spearman_rho,
        "top_overlap": top.overlap,
    }


def noise_floor(per_seed: np.ndarray, bench: np.ndarray, seeds: tuple[int, ...]) -> pd.DataFrame:
    """Kendall τ and Spearman ρ between each pair of the benchmark's seeds (cells × seeds), on the top
    K% of the cells by the benchmark's seed mean (`bench`); cells missing either seed are left out."""
    rows = []
    for (i, a), (j, b) in combinations(enumerate(seeds), 2):
        for percent in TOP_PERCENTS:
            top = stats.top_indices(bench, percent / 100)
            x, y = per_seed[top, i], per_seed[top, j]
            keep = np.isfinite(x) & np.isfinite(y)
            n = int(keep.sum())
            rows.append(
                {
                    "seed_a": a,
                    "seed_b": b,
                    "top_percent": percent,
                    "n": n,
                    "kendall_tau": stats.kendall(x[keep], y[keep]).value,
                    "spearman_rho": stats.spearman(x[keep], y[keep]).value if n >= 3 else math.nan,
                }
            )
    return pd.DataFrame(rows, columns=["seed_a", "seed_b", "top_percent", "n", "kendall_tau", "spearman_rho"])


def pair_gaps(values: np.ndarray, bench: np.ndarray, labels: np.ndarray) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Every pair of cells with both accuracies: (better, worse, benchmark_gap ≥ 0, arm_gap), at most
    MAX_GAP_ROWS of them (a seeded sample), and the summary over every pair."""
    keep = np.flatnonzero(np.isfinite(values) & np.isfinite(bench))
    i, j = np.triu_indices(keep.size, k=1)
    i, j = keep[i], keep[j]
    swap = bench[i] < bench[j]
    better, worse = np.where(swap, j, i), np.where(swap, i, j)
    bench_gap, arm_gap = bench[better] - bench[worse], values[better] - values[worse]
    pairs = int(bench_gap.size)
    summary = {
        "pairs": pairs,
        "benchmark_median_gap": float(np.median(bench_gap)) if pairs else math.nan,
        "arm_median_gap": float(np.median(np.abs(arm_gap))) if pairs else math.nan,
        "flipped": float(np.mean((arm_gap < 0) & (bench_gap > 0))) if pairs else math.nan,
        "shown": min(pairs, MAX_GAP_ROWS),
    }
    shown = np.arange(pairs)
    if pairs > MAX_GAP_ROWS:
        shown = np.sort(np.random.default_rng(0).choice(pairs, MAX_GAP_ROWS, replace=False))
    rows = pd.DataFrame(
        {
            "better": labels[better[shown]],
            "worse": labels[worse[shown]],
            "benchmark_gap": bench_gap[shown],
            "arm_gap": arm_gap[shown],
        }
    )
    return rows, summary
