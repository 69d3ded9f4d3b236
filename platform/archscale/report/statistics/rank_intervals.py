"""Statistics of architecture rankings with intervals over architectures (statistics stage): Kendall τ
between two arms' rankings, the seed-vs-seed τ of one arm (App. E.4's floor) and the difference of two
arms' mean pairwise accuracy gaps (Fig. 4 right), each with a percentile bootstrap over architectures.

Architectures are the units: a bootstrap sample draws n architectures with replacement and recomputes
the statistic (τ-b, so that repeated architectures count as ties). `BOOTSTRAP_SAMPLES` draws from a
generator seeded by `BOOTSTRAP_SEED`, so that a report is the same on every run.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
from scipy import stats as scipy_stats

from archscale.report.statistics.stats import ARCHITECTURE, NO_INTERVAL, Estimate

BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 0
MIN_ARCHITECTURES = 4
"""Fewer architectures than this: no interval (a bootstrap over 3 units has too few distinct samples)."""
BOOTSTRAP = f"percentile bootstrap over architectures ({BOOTSTRAP_SAMPLES} samples)"


def kendall(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall τ-b of two score vectors (NaN when either is constant or fewer than 2)."""
    if len(a) < 2:
        return math.nan
    tau = scipy_stats.kendalltau(a, b).statistic
    return float(tau) if np.isfinite(tau) else math.nan


def _bootstrap(statistic: Callable[[np.ndarray], float], n: int, value: float) -> Estimate:
    """The percentile bootstrap of `statistic(indices)` over n architectures, around `value`."""
    if n < MIN_ARCHITECTURES or not math.isfinite(value):
        return Estimate(value, math.nan, math.nan, n, NO_INTERVAL, (ARCHITECTURE,))
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    draws = np.array([statistic(rng.integers(0, n, n)) for _ in range(BOOTSTRAP_SAMPLES)])
    draws = draws[np.isfinite(draws)]
    lo, hi = np.percentile(draws, [2.5, 97.5]) if draws.size else (math.nan, math.nan)
    return Estimate(value, float(lo), float(hi), n, BOOTSTRAP, (ARCHITECTURE,))


def kendall_estimate(a: np.ndarray, b: np.ndarray) -> Estimate:
    """τ between two arms' per-architecture means (architectures with both finite)."""
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    return _bootstrap(lambda i: kendall(a[i], b[i]), len(a), kendall(a, b))


def seed_kendall_estimate(scores: np.ndarray) -> Estimate:
    """The mean over seed pairs of τ between two seeds' rankings; `scores` is architectures × seeds
    (architectures with a missing seed are left out)."""
    scores = scores[np.isfinite(scores).all(axis=1)]
    pairs = list(itertools.combinations(range(scores.shape[1]), 2))

    def mean_tau(rows: np.ndarray) -> float:
        taus = [kendall(scores[rows, s], scores[rows, t]) for s, t in pairs]
        taus = [t for t in taus if math.isfinite(t)]
        return float(np.mean(taus)) if taus else math.nan

    if not pairs:
        return Estimate(math.nan, math.nan, math.nan, len(scores), NO_INTERVAL, (ARCHITECTURE,))
    return _bootstrap(mean_tau, len(scores), mean_tau(np.arange(len(scores))))


def mean_gap(scores: np.ndarray) -> float:
    """The mean absolute difference over pairs of architectures (NaN for fewer than 2)."""
    if len(scores) < 2:
        return math.nan
    gaps = np.abs(scores[:, None] - scores[None, :])
    return float(gaps[np.triu_indices(len(scores), 1)].mean())


def gap_difference_estimate(a: np.ndarray, b: np.ndarray) -> Estimate:
    """Mean pairwise gap of arm a minus that of arm b (negative: a's architectures are closer)."""
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    return _bootstrap(lambda i: mean_gap(a[i]) - mean_gap(b[i]), len(a), mean_gap(a) - mean_gap(b))
