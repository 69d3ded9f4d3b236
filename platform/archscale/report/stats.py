"""Statistics on plain arrays: bootstrap intervals, correlations, slopes, rank agreement, cost-to-match.

Every function is pure, takes numpy arrays (or sequences), ignores nothing silently: missing values
(NaN) are dropped only where the docstring says so, and an estimate that cannot be computed (too
few points) is NaN rather than an exception. Intervals are two-sided at `level` (default 95%).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

LEVEL = 0.95
N_BOOT = 2000
BOOT_SEED = 0
NAN = float("nan")

Floats = NDArray[np.float64]


class Estimate(NamedTuple):
    """A value with its interval (`lo`, `hi`; NaN when there is none) and the number of points used."""

    value: float
    lo: float
    hi: float
    n: int


def _finite_pairs(x: ArrayLike, y: ArrayLike) -> tuple[Floats, Floats]:
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(xs) & np.isfinite(ys)
    return xs[keep], ys[keep]


# --- bootstrap ----------------------------------------------------------------------------------


def bootstrap_ci(
    values: ArrayLike,
    statistic: Callable[[Floats], Floats],
    *,
    n_boot: int = N_BOOT,
    seed: int = BOOT_SEED,
    level: float = LEVEL,
) -> tuple[float, float]:
    """Percentile bootstrap interval of a statistic of `values`, resampling the LAST axis (the seeds).

    `statistic` is vectorised: it receives every replicate at once, shape (n_boot, *values.shape),
    and returns n_boot values. One draw of last-axis indices per replicate is shared by every row of
    `values`, so rows measured on the same seeds (architectures, strategies) stay paired. The draws
    are `numpy.random.default_rng(seed).integers(0, n, size=(n_boot, n))`: the same inputs and seed
    always give the same interval. Replicates whose statistic is NaN are dropped; with none left, or
    an empty last axis, the interval is (NaN, NaN).
    """
    data = np.asarray(values, dtype=float)
    size = data.shape[-1] if data.ndim else 0
    if size == 0:
        return NAN, NAN
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, size, size=(n_boot, size))
    samples = np.moveaxis(data[..., indices], -2, 0)
    replicates = np.asarray(statistic(samples), dtype=float).reshape(n_boot)
    replicates = replicates[np.isfinite(replicates)]
    if replicates.size == 0:
        return NAN, NAN
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(replicates, [tail, 100 - tail])
    return float(lo), float(hi)


def row_means(values: ArrayLike) -> Floats:
    """Means over the last axis of the finite values (NaN where a row has none), without warnings."""
    data = np.asarray(values, dtype=float)
    finite = np.isfinite(data)
    count = finite.sum(axis=-1)
    total = np.where(finite, data, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def nanmean(values: ArrayLike) -> float:
    """The mean of the finite values, NaN when there are none (without numpy's warning)."""
    return float(row_means(np.ravel(np.asarray(values, dtype=float))))


def mean_ci(values: ArrayLike, *, n_boot: int = N_BOOT, seed: int = BOOT_SEED, level: float = LEVEL) -> Estimate:
    """The mean of the finite values of a 1-D array with its bootstrap interval."""
    data = np.asarray(values, dtype=float)
    data = data[np.isfinite(data)]
    lo, hi = bootstrap_ci(data, row_means, n_boot=n_boot, seed=seed, level=level)
    return Estimate(nanmean(data), lo, hi, int(data.size))


def grand_mean(values: ArrayLike) -> Floats:
    """Mean over rows (architectures) of each row's mean over the last axis (seeds), ignoring NaN."""
    return row_means(row_means(values))


def mean_difference(a: ArrayLike, b: ArrayLike) -> Floats:
    """Mean over rows (architectures) of the per-row difference of means over the last axis (seeds);
    rows where either side has no finite value are left out. Works on stacks of replicates too."""
    return row_means(row_means(a) - row_means(b))


def paired_difference(
    a: ArrayLike, b: ArrayLike, *, n_boot: int = N_BOOT, seed: int = BOOT_SEED, level: float = LEVEL
) -> Estimate:
    """`mean_difference(a, b)` of two (architectures × seeds) arrays, with a bootstrap interval over
    seeds (one draw of seeds shared by both arrays and every architecture). `n` counts the
    architectures with a finite value on both sides."""
    left, right = np.atleast_2d(np.asarray(a, dtype=float)), np.atleast_2d(np.asarray(b, dtype=float))
    if left.shape != right.shape:
        raise ValueError(f"shapes differ: {left.shape} vs {right.shape}")
    both = np.isfinite(left).any(axis=1) & np.isfinite(right).any(axis=1)
    value = float(mean_difference(left, right))
    stacked = np.stack([left, right])
    lo, hi = bootstrap_ci(stacked, lambda s: mean_difference(s[:, 0], s[:, 1]), n_boot=n_boot, seed=seed, level=level)
    return Estimate(value, lo, hi, int(both.sum()))


def compare_intervals(a: tuple[float, float], b: tuple[float, float], higher_is_better: bool = True) -> str:
    """'win' when a's interval lies entirely on the better side of b's, 'loss' for the reverse, 'tie'
    when they overlap (touching counts as overlapping), '' when either is missing."""
    (a_lo, a_hi), (b_lo, b_hi) = a, b
    if not all(math.isfinite(v) for v in (a_lo, a_hi, b_lo, b_hi)):
        return ""
    if a_lo > b_hi:
        return "win" if higher_is_better else "loss"
    if a_hi < b_lo:
        return "loss" if higher_is_better else "win"
    return "tie"


# --- correlation and regression -----------------------------------------------------------------


def _fisher_interval(r: float, n: int, variance_factor: float, level: float) -> tuple[float, float]:
    if n < 4 or not math.isfinite(r) or abs(r) >= 1:
        return NAN, NAN
    from scipy import stats

    z, half = math.atanh(r), stats.norm.ppf(0.5 + level / 2) * math.sqrt(variance_factor / (n - 3))
    return math.tanh(z - half), math.tanh(z + half)


def pearson(x: ArrayLike, y: ArrayLike, level: float = LEVEL) -> Estimate:
    """Pearson r over the finite pairs, with the Fisher-z interval (n ≥ 4); NaN for n < 3 or a constant side."""
    from scipy import stats

    xs, ys = _finite_pairs(x, y)
    n = int(xs.size)
    if n < 3 or np.ptp(xs) == 0 or np.ptp(ys) == 0:
        return Estimate(NAN, NAN, NAN, n)
    r = float(stats.pearsonr(xs, ys).statistic)
    return Estimate(r, *_fisher_interval(r, n, 1.0, level), n)


def spearman(x: ArrayLike, y: ArrayLike, level: float = LEVEL) -> Estimate:
    """Spearman ρ over the finite pairs, with the Fisher-z interval using Fieller's variance 1.06/(n−3)."""
    from scipy import stats

    xs, ys = _finite_pairs(x, y)
    n = int(xs.size)
    if n < 3 or np.ptp(xs) == 0 or np.ptp(ys) == 0:
        return Estimate(NAN, NAN, NAN, n)
    rho = float(stats.spearmanr(xs, ys).statistic)
    return Estimate(rho, *_fisher_interval(rho, n, 1.06, level), n)


def kendall(x: ArrayLike, y: ArrayLike) -> Estimate:
    """Kendall τ-b over the finite pairs (no interval); NaN for n < 2 or a constant side."""
    from scipy import stats

    xs, ys = _finite_pairs(x, y)
    n = int(xs.size)
    if n < 2 or np.ptp(xs) == 0 or np.ptp(ys) == 0:
        return Estimate(NAN, NAN, NAN, n)
    return Estimate(float(stats.kendalltau(xs, ys).statistic), NAN, NAN, n)


class Slope(NamedTuple):
    """The least-squares slope of y on x with its t interval, the intercept and the number of points."""

    slope: float
    lo: float
    hi: float
    intercept: float
    n: int

    @property
    def estimate(self) -> Estimate:
        return Estimate(self.slope, self.lo, self.hi, self.n)


def slope(x: ArrayLike, y: ArrayLike, level: float = LEVEL) -> Slope:
    """Ordinary least squares of y on x over the finite pairs (`scipy.stats.linregress`); the interval
    is slope ± t(n−2)·stderr, NaN with fewer than 3 points (2 points give a slope, no interval)."""
    from scipy import stats

    xs, ys = _finite_pairs(x, y)
    n = int(xs.size)
    if n < 2 or np.ptp(xs) == 0:
        return Slope(NAN, NAN, NAN, NAN, n)
    fit = stats.linregress(xs, ys)
    if n < 3:
        return Slope(float(fit.slope), NAN, NAN, float(fit.intercept), n)
    half = float(stats.t.ppf(0.5 + level / 2, n - 2)) * float(fit.stderr)
    return Slope(float(fit.slope), float(fit.slope) - half, float(fit.slope) + half, float(fit.intercept), n)


def log_slope(x: ArrayLike, y: ArrayLike, level: float = LEVEL) -> Slope:
    """`slope` of log y on log x (natural logs; the exponent of a power law y ∝ x^slope); non-positive
    values are dropped."""
    xs, ys = _positive_logs(x, y)
    return slope(xs, ys, level)


def _positive_logs(x: ArrayLike, y: ArrayLike) -> tuple[Floats, Floats]:
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = (xs > 0) & (ys > 0) & np.isfinite(xs) & np.isfinite(ys)
    return np.log(xs[keep]), np.log(ys[keep])


def median_abs_log2_ratio(a: ArrayLike, b: ArrayLike) -> Estimate:
    """The median of |log2(a/b)| over positive finite pairs (1.0 = a factor of two apart)."""
    xs, ys = _positive_logs(a, b)
    if xs.size == 0:
        return Estimate(NAN, NAN, NAN, 0)
    return Estimate(float(np.median(np.abs(xs - ys) / math.log(2))), NAN, NAN, int(xs.size))


# --- rankings -----------------------------------------------------------------------------------


def ranks(scores: ArrayLike, higher_is_better: bool = True) -> Floats:
    """1 = best; ties share their average rank; NaN scores get NaN ranks."""
    from scipy import stats

    data = np.asarray(scores, dtype=float)
    out = np.full(data.shape, NAN)
    keep = np.isfinite(data)
    if keep.any():
        out[keep] = stats.rankdata(-data[keep] if higher_is_better else data[keep], method="average")
    return out


def top_indices(scores: ArrayLike, fraction: float, higher_is_better: bool = True) -> NDArray[np.intp]:
    """Indices of the best ⌈fraction·n⌉ finite scores (n = finite count), best first; ties at the
    cut are broken by position (stable sort), so the size is exact."""
    data = np.asarray(scores, dtype=float)
    finite = np.flatnonzero(np.isfinite(data))
    count = min(finite.size, math.ceil(round(fraction * finite.size, 9)))
    keys = -data[finite] if higher_is_better else data[finite]
    return finite[np.argsort(keys, kind="stable")[:count]]


class TopAgreement(NamedTuple):
    """Agreement of two rankings on the top `fraction` of architectures by the reference `b`."""

    fraction: float
    n: int
    kendall_tau: float
    spearman_rho: float
    overlap: float


def top_agreement(a: ArrayLike, b: ArrayLike, fraction: float, higher_is_better: bool = True) -> TopAgreement:
    """Kendall τ and Spearman ρ between scores `a` and `b` restricted to the top `fraction` of the
    architectures by `b` (the reference, as NAS-Bench-201's accuracy in the paper's Fig. 4), and the
    top-k overlap |top_k(a) ∩ top_k(b)| / k with k = that count. Only architectures with both scores
    count."""
    xs, ys = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    keep = np.isfinite(xs) & np.isfinite(ys)
    xs, ys = xs[keep], ys[keep]
    top_b = top_indices(ys, fraction, higher_is_better)
    k = int(top_b.size)
    if k == 0:
        return TopAgreement(fraction, 0, NAN, NAN, NAN)
    top_a = top_indices(xs, fraction, higher_is_better)
    overlap = len(set(top_a.tolist()) & set(top_b.tolist())) / k
    tau = kendall(xs[top_b], ys[top_b]).value
    rho = spearman(xs[top_b], ys[top_b]).value if k >= 3 else NAN
    return TopAgreement(fraction, k, tau, rho, overlap)


# --- search cost --------------------------------------------------------------------------------


def best_so_far(scores: ArrayLike, higher_is_better: bool = True) -> Floats:
    """Running best of a sequence; NaN entries (trials with no usable score) keep the previous best,
    and the running best is NaN until the first finite score."""
    data = np.asarray(scores, dtype=float)
    out = np.full(data.shape, NAN)
    best = NAN
    for i, value in enumerate(data):
        if math.isfinite(value) and (not math.isfinite(best) or (value > best if higher_is_better else value < best)):
            best = value
        out[i] = best
    return out


def cost_to_match(costs: ArrayLike, scores: ArrayLike, target: float, higher_is_better: bool = True) -> float:
    """The cumulative cost when the running best of `scores` first reaches `target` (≥ for
    higher-is-better), counting every trial up to and including that one; NaN if it never does.

    `costs` and `scores` are in the order the trials finished; a trial without a usable score (pruned,
    diverged, failed: NaN) still adds its cost.
    """
    if not math.isfinite(target):
        return NAN
    spent = np.cumsum(np.nan_to_num(np.asarray(costs, dtype=float), nan=0.0))
    running = best_so_far(scores, higher_is_better)
    with np.errstate(invalid="ignore"):
        reached = running >= target if higher_is_better else running <= target
    hits = np.flatnonzero(reached)
    return float(spent[hits[0]]) if hits.size else NAN


def argbest_lr(lrs: Sequence[float], scores: ArrayLike) -> float:
    """The LR with the lowest score (the paper's maximal LR: the largest among equally low); NaN when
    no score is finite."""
    data = np.asarray(scores, dtype=float)
    values = np.asarray(lrs, dtype=float)
    finite = np.isfinite(data)
    if not finite.any():
        return NAN
    best = data[finite].min()
    return float(values[finite & (data == best)].max())
