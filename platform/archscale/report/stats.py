"""Statistics on plain arrays: honest intervals, correlations, slopes, rank agreement, cost-to-match.

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
    """A value with its interval (`lo`, `hi`; NaN when there is none), the number of independent units
    the interval rests on (or of points, for correlations and slopes) and how it was computed
    (`method`: one of METHODS; NO_INTERVAL when n is too small)."""

    value: float
    lo: float
    hi: float
    n: int
    method: str


BOOTSTRAP = "bootstrap"
"""Percentile bootstrap over the units (seeds), n ≥ MIN_BOOTSTRAP."""
T = "t"
"""Student t on the per-unit values, n − 1 degrees of freedom, centred on the estimate (2 ≤ n < MIN_BOOTSTRAP)."""
TWO_LEVEL = "two-level bootstrap"
"""Bootstrap of search repeats, then of seeds within each repeat (repeats and seeds ≥ MIN_BOOTSTRAP)."""
REPEAT_BOOTSTRAP = "bootstrap over repeats"
"""Bootstrap of search repeats, each with all its seeds (repeats ≥ MIN_BOOTSTRAP, seeds fewer)."""
T_REPEATS = "t over repeats"
"""Student t on the per-repeat values (each a mean over its seeds), 2 ≤ repeats < MIN_BOOTSTRAP."""
FISHER = "fisher-z"
REGRESSION_T = "t (regression, n − 2 dof)"
NO_INTERVAL = "too few for an interval"
POINT = "point estimate"
"""A statistic reported without an interval (Kendall τ, medians, counts)."""
METHODS = (BOOTSTRAP, T, TWO_LEVEL, REPEAT_BOOTSTRAP, T_REPEATS, FISHER, REGRESSION_T, NO_INTERVAL, POINT)
MIN_BOOTSTRAP = 5
"""The fewest resampled units a bootstrap interval is computed from."""


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
    `values`, so rows measured on the same seeds stay paired. The draws are
    `numpy.random.default_rng(seed).integers(0, n, size=(n_boot, n))`: the same inputs and seed always
    give the same interval. Replicates whose statistic is NaN are dropped; with none left, or an empty
    last axis, the interval is (NaN, NaN). It applies no minimum n: `mean_estimate` does.
    """
    data = np.asarray(values, dtype=float)
    size = data.shape[-1] if data.ndim else 0
    if size == 0:
        return NAN, NAN
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, size, size=(n_boot, size))
    samples = np.moveaxis(data[..., indices], -2, 0)
    return _percentiles(statistic(samples), n_boot, level)


def _percentiles(replicates: ArrayLike, n_boot: int, level: float) -> tuple[float, float]:
    values = np.asarray(replicates, dtype=float).reshape(n_boot)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return NAN, NAN
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(values, [tail, 100 - tail])
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


def grand_mean(values: ArrayLike) -> Floats:
    """For (..., rows, repeats, seeds): the mean over rows (architectures) of each row's mean over its
    finite (repeat, seed) values; rows without one are left out. Vectorised over leading axes."""
    data = np.asarray(values, dtype=float)
    flat = data.reshape(*data.shape[:-2], data.shape[-2] * data.shape[-1])
    return row_means(row_means(flat))


def as_cube(values: ArrayLike) -> Floats:
    """1-D (seeds) → (1, 1, seeds); 2-D (rows, seeds) → (rows, 1, seeds); 3-D is kept."""
    data = np.asarray(values, dtype=float)
    if data.ndim == 1:
        return data[None, None, :]
    if data.ndim == 2:
        return data[:, None, :]
    if data.ndim != 3:
        raise ValueError(f"expected 1 to 3 axes (rows, repeats, seeds), got shape {data.shape}")
    return data


def t_interval(units: ArrayLike, center: float | None = None, level: float = LEVEL) -> tuple[float, float]:
    """center ± t(level, n − 1) · sd(units) / √n over the finite unit values (center: their mean);
    NaN for n < 2."""
    from scipy import stats

    data = np.asarray(units, dtype=float)
    data = data[np.isfinite(data)]
    n = int(data.size)
    if n < 2:
        return NAN, NAN
    mid = float(data.mean()) if center is None else center
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * float(data.std(ddof=1)) / math.sqrt(n)
    return mid - half, mid + half


def mean_estimate(values: ArrayLike, *, n_boot: int = N_BOOT, seed: int = BOOT_SEED, level: float = LEVEL) -> Estimate:
    """`grand_mean` of a (rows, repeats, seeds) array (1-D: seeds; 2-D: rows × seeds) with its interval.

    For a paired difference pass a − b: the pairing on (row, repeat, seed) is then exact. The units are
    the seeds with one repeat, else the repeats (each keeping its seeds); a unit counts when it has a
    finite value. With n units: n ≥ MIN_BOOTSTRAP → a percentile bootstrap (one repeat: over seeds,
    shared by every row; several: TWO_LEVEL, or REPEAT_BOOTSTRAP with fewer seeds than MIN_BOOTSTRAP);
    2 ≤ n < MIN_BOOTSTRAP → a Student t interval on the per-unit grand means (T or T_REPEATS), centred
    on the estimate; n < 2 → NO_INTERVAL (lo = hi = NaN). Deterministic for a given `seed`.
    """
    data = as_cube(values)
    value = float(grand_mean(data))
    repeats, seeds = data.shape[1], data.shape[2]
    axis = 2 if repeats == 1 else 1
    units = np.asarray([grand_mean(np.take(data, [i], axis=axis)) for i in range(data.shape[axis])], dtype=float)
    keep = np.isfinite(units)
    n = int(keep.sum())
    if n < 2:
        return Estimate(value, NAN, NAN, n, NO_INTERVAL)
    if n < MIN_BOOTSTRAP:
        lo, hi = t_interval(units, value, level)
        return Estimate(value, lo, hi, n, T if axis == 2 else T_REPEATS)
    data = np.compress(keep, data, axis=axis)
    rng = np.random.default_rng(seed)
    if axis == 2:
        lo, hi = bootstrap_ci(data, grand_mean, n_boot=n_boot, seed=seed, level=level)
        return Estimate(value, lo, hi, n, BOOTSTRAP)
    pick_repeats = rng.integers(0, n, size=(n_boot, n))
    if seeds >= MIN_BOOTSTRAP:
        pick_seeds = rng.integers(0, seeds, size=(n_boot, n, seeds))
        samples = data[:, pick_repeats[..., None], pick_seeds]  # (rows, n_boot, n, seeds)
        method = TWO_LEVEL
    else:
        samples = data[:, pick_repeats, :]
        method = REPEAT_BOOTSTRAP
    lo, hi = _percentiles(grand_mean(np.moveaxis(samples, 1, 0)), n_boot, level)
    return Estimate(value, lo, hi, n, method)


def outcome(e: Estimate, higher_is_better: bool = True) -> str:
    """The outcome for a of a paired difference a − b: 'win' when its interval lies entirely on the
    better side of 0, 'loss' on the worse side, 'tie' when it contains 0 (an end at 0 counts), '' when
    there is no interval (too few units)."""
    if not (math.isfinite(e.lo) and math.isfinite(e.hi)):
        return ""
    if e.lo > 0:
        return "win" if higher_is_better else "loss"
    if e.hi < 0:
        return "loss" if higher_is_better else "win"
    return "tie"


# --- correlation and regression -----------------------------------------------------------------


def _fisher_interval(r: float, n: int, variance_factor: float, level: float) -> tuple[float, float]:
    if n < 4 or not math.isfinite(r) or abs(r) >= 1:
        return NAN, NAN
    from scipy import stats

    z, half = math.atanh(r), stats.norm.ppf(0.5 + level / 2) * math.sqrt(variance_factor / (n - 3))
    return math.tanh(z - half), math.tanh(z + half)


def _correlation(r: float, n: int, variance_factor: float, level: float) -> Estimate:
    lo, hi = _fisher_interval(r, n, variance_factor, level)
    return Estimate(r, lo, hi, n, FISHER if math.isfinite(lo) else NO_INTERVAL)


def pearson(x: ArrayLike, y: ArrayLike, level: float = LEVEL) -> Estimate:
    """Pearson r over the finite pairs, with the Fisher-z interval (n ≥ 4); NaN for n < 3 or a constant side."""
    from scipy import stats

    xs, ys = _finite_pairs(x, y)
    n = int(xs.size)
    if n < 3 or np.ptp(xs) == 0 or np.ptp(ys) == 0:
        return Estimate(NAN, NAN, NAN, n, NO_INTERVAL)
    r = float(stats.pearsonr(xs, ys).statistic)
    return _correlation(r, n, 1.0, level)


def spearman(x: ArrayLike, y: ArrayLike, level: float = LEVEL) -> Estimate:
    """Spearman ρ over the finite pairs, with the Fisher-z interval using Fieller's variance 1.06/(n−3)."""
    from scipy import stats

    xs, ys = _finite_pairs(x, y)
    n = int(xs.size)
    if n < 3 or np.ptp(xs) == 0 or np.ptp(ys) == 0:
        return Estimate(NAN, NAN, NAN, n, NO_INTERVAL)
    rho = float(stats.spearmanr(xs, ys).statistic)
    return _correlation(rho, n, 1.06, level)


def kendall(x: ArrayLike, y: ArrayLike) -> Estimate:
    """Kendall τ-b over the finite pairs (no interval); NaN for n < 2 or a constant side."""
    from scipy import stats

    xs, ys = _finite_pairs(x, y)
    n = int(xs.size)
    if n < 2 or np.ptp(xs) == 0 or np.ptp(ys) == 0:
        return Estimate(NAN, NAN, NAN, n, NO_INTERVAL)
    return Estimate(float(stats.kendalltau(xs, ys).statistic), NAN, NAN, n, POINT)


class Slope(NamedTuple):
    """The least-squares slope of y on x with its t interval, the intercept and the number of points."""

    slope: float
    lo: float
    hi: float
    intercept: float
    n: int

    @property
    def estimate(self) -> Estimate:
        method = REGRESSION_T if math.isfinite(self.lo) else NO_INTERVAL
        return Estimate(self.slope, self.lo, self.hi, self.n, method)


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
        return Estimate(NAN, NAN, NAN, 0, NO_INTERVAL)
    return Estimate(float(np.median(np.abs(xs - ys) / math.log(2))), NAN, NAN, int(xs.size), POINT)


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


def picked_so_far(selection: ArrayLike, reported: ArrayLike, lrs: ArrayLike) -> Floats:
    """After each of a search's trials (in order): the `reported` value of the trial a search stopped
    there would pick: the highest finite `selection` so far, ties to the smaller LR. NaN until a trial
    has a finite selection score (pruned, diverged and failed trials have none)."""
    select, report, lr = (np.asarray(v, dtype=float) for v in (selection, reported, lrs))
    out = np.full(select.shape, NAN)
    best: tuple[float, float] | None = None
    picked = NAN
    for i, (value, shown, rate) in enumerate(zip(select, report, lr, strict=True)):
        if math.isfinite(value) and (best is None or value > best[0] or (value == best[0] and rate < best[1])):
            best, picked = (value, rate), shown
        out[i] = picked
    return out


def first_reaching(curve: ArrayLike, target: float, higher_is_better: bool = True) -> float:
    """The 1-based position where `curve` first reaches `target` (≥, or ≤ for lower-is-better); NaN if
    it never does or the target is NaN."""
    data = np.asarray(curve, dtype=float)
    if not math.isfinite(target):
        return NAN
    with np.errstate(invalid="ignore"):
        reached = data >= target if higher_is_better else data <= target
    hits = np.flatnonzero(reached & np.isfinite(data))
    return float(hits[0] + 1) if hits.size else NAN


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
