"""Statistics on plain arrays: honest intervals, correlations, slopes, rank agreement, cost-to-match.

Every function is pure, takes numpy arrays (or sequences), ignores nothing silently: missing values
(NaN) are dropped only where the docstring says so, and an estimate that cannot be computed (too
few points) is NaN rather than an exception. Intervals are two-sided at `level` (default 95%).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

LEVEL = 0.95
NAN = float("nan")

Floats = NDArray[np.float64]


SEED = "seed"
REPEAT = "repeat"
ARCHITECTURE = "architecture"
POPULATION = (SEED, REPEAT, ARCHITECTURE)
"""What an interval over final-run scores may resample: the final runs' seeds, the search repeats (the
luck of each search), the architectures. What it does not resample it holds fixed."""


class Estimate(NamedTuple):
    """A value with its interval (`lo`, `hi`; NaN when there is none), the number of independent units
    the interval rests on (or of points, for correlations and slopes), how it was computed (`method`:
    one of METHODS; NO_INTERVAL when n is too small), what it resamples (`varies`, from POPULATION; the
    rest is `fixed`) and, for a mean difference, the two-sided p-value of no difference."""

    value: float
    lo: float
    hi: float
    n: int
    method: str
    varies: tuple[str, ...] = ()
    p: float = float("nan")

    @property
    def fixed(self) -> tuple[str, ...]:
        """What the interval holds fixed (the population's other factors), for estimates over final runs."""
        return tuple(x for x in POPULATION if x not in self.varies) if self.varies else ()


T = "t"
"""Student t on the units' values (n − 1 degrees of freedom): each unit one seed, one search repeat (a mean
over its seeds) or one architecture (a mean over its repeats and seeds). Calibrated for 2 ≤ n ≤ 30 on normal
and on bounded, skewed accuracy-like data (tests/test_report_calibration.py, bench/RESULTS.md)."""
WELCH = "Welch t"
"""A difference between an arm whose searches repeat and one whose LR no search chose (it runs once):
the first arm's per-repeat means against the second's scores, whose seed noise is pooled within
architectures, with Welch's standard error and Satterthwaite's degrees of freedom, so that both arms'
noise is in the interval; never narrower than either side's own t interval (Satterthwaite's alone
covered 89–93% where one side's 2 degrees of freedom dominated, by simulation). At least
MIN_WELCH_REPEATS repeats."""
CROSSED = "t (architectures × repeats)"
"""Architectures and search repeats crossed (`crossed_estimate`): a repeat's search luck is shared by every
architecture, so the interval across architectures includes it once, not as if each architecture had
searched on its own."""
FISHER = "fisher-z"
REGRESSION_T = "t (regression, n − 2 dof)"
NO_INTERVAL = "too few for an interval"
POINT = "point estimate"
"""A statistic reported without an interval (Kendall τ, medians, counts)."""
METHODS = (T, WELCH, CROSSED, FISHER, REGRESSION_T, NO_INTERVAL, POINT)
ALPHA = 0.05
"""The family-wise error rate of the per-architecture calls (Holm)."""


def _finite_pairs(x: ArrayLike, y: ArrayLike) -> tuple[Floats, Floats]:
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(xs) & np.isfinite(ys)
    return xs[keep], ys[keep]


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


def t_quantile(q: float, dof: float) -> float:
    """Student t's q-quantile (`scipy.special.stdtrit`: scipy.stats.t.ppf without its overhead)."""
    from scipy import special

    return float(special.stdtrit(dof, q))


def t_two_sided_p(t: float, dof: float) -> float:
    """P(|T| ≥ |t|) for Student t with `dof` degrees of freedom."""
    from scipy import special

    return float(2 * special.stdtr(dof, -abs(t)))


def t_interval(units: ArrayLike, center: float | None = None, level: float = LEVEL) -> tuple[float, float]:
    """center ± t(level, n − 1) · sd(units) / √n over the finite unit values (center: their mean);
    NaN for n < 2."""
    data = np.asarray(units, dtype=float)
    data = data[np.isfinite(data)]
    n = int(data.size)
    if n < 2:
        return NAN, NAN
    mid = float(data.mean()) if center is None else center
    half = t_quantile(0.5 + level / 2, n - 1) * float(data.std(ddof=1)) / math.sqrt(n)
    return mid - half, mid + half


Bounds = tuple[float, float] | None
"""Where a quantity can lie (e.g. (0, 1) for an accuracy, (−1, 1) for a difference of two): intervals
are clipped to it; None: unbounded."""


def _clip(lo: float, hi: float, bounds: Bounds) -> tuple[float, float]:
    if bounds is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return lo, hi
    return max(lo, bounds[0]), min(hi, bounds[1])


def t_estimate(units: ArrayLike, varies: tuple[str, ...], bounds: Bounds = None, level: float = LEVEL) -> Estimate:
    """The mean of the finite `units` with its Student t interval (clipped to `bounds`) and the p-value
    of a zero mean; NO_INTERVAL below 2 units."""
    data = np.asarray(units, dtype=float)
    data = data[np.isfinite(data)]
    n = int(data.size)
    value = float(data.mean()) if n else NAN
    if n < 2:
        return Estimate(value, NAN, NAN, n, NO_INTERVAL, varies)
    se = float(data.std(ddof=1)) / math.sqrt(n)
    lo, hi = _clip(*t_interval(data, value, level), bounds)
    p = t_two_sided_p(value / se, n - 1) if se > 0 else (1.0 if value == 0 else 0.0)
    return Estimate(value, lo, hi, n, T, varies, p)


MIN_WELCH_REPEATS = 3
"""The fewest search repeats a Welch interval is computed from: with 2, its coverage fell to 90% by
simulation (one repeat's variance, 1 degree of freedom, decides the degrees of freedom)."""


def welch_estimate(
    first: ArrayLike, second: ArrayLike, varies: tuple[str, ...], bounds: Bounds = None, level: float = LEVEL
) -> Estimate:
    """mean(first) − grand mean(second): `first` holds one arm's unit means (its search repeats),
    `second` the (rows, seeds) scores of an arm that ran once, whose seed noise is pooled within rows
    (architectures), so its variance rests on rows × (seeds − 1) degrees of freedom. Welch's interval
    as `WELCH` says, clipped to `bounds`, with the p-value of its own rule (the 95% interval excludes 0
    exactly when p < 0.05); NO_INTERVAL with fewer than MIN_WELCH_REPEATS units in `first` or no seed
    variance in `second`. n is first's units."""
    a = np.asarray(first, dtype=float)
    a = a[np.isfinite(a)]
    rows = [r[np.isfinite(r)] for r in np.atleast_2d(np.asarray(second, dtype=float))]
    rows = [r for r in rows if r.size]
    value = float(a.mean() - np.mean([r.mean() for r in rows])) if a.size and rows else NAN
    n = int(a.size)
    dof_b = sum(r.size - 1 for r in rows)
    if n < MIN_WELCH_REPEATS or dof_b < 1:
        return Estimate(value, NAN, NAN, n, NO_INTERVAL, varies)
    pooled = sum(float(((r - r.mean()) ** 2).sum()) for r in rows) / dof_b
    va = float(a.var(ddof=1)) / n
    vb = pooled * sum(1.0 / r.size for r in rows) / len(rows) ** 2
    se = math.sqrt(va + vb)
    if se == 0:
        return Estimate(value, value, value, n, WELCH, varies, 1.0 if value == 0 else 0.0)
    q = 0.5 + level / 2
    rules = [  # (scale, degrees of freedom): Welch–Satterthwaite, and each side alone as a floor
        (se, (va + vb) ** 2 / (va**2 / (n - 1) + vb**2 / dof_b)),
        (math.sqrt(va), n - 1),
        (math.sqrt(vb), dof_b),
    ]
    scale, dof = max(rules, key=lambda rule: t_quantile(q, rule[1]) * rule[0])
    half = t_quantile(q, dof) * scale
    lo, hi = _clip(value - half, value + half, bounds)
    return Estimate(value, lo, hi, n, WELCH, varies, t_two_sided_p(value / scale, dof) if scale > 0 else 1.0)


def mean_estimate(values: ArrayLike, bounds: Bounds = None, level: float = LEVEL) -> Estimate:
    """`grand_mean` of a (rows, repeats, seeds) array (1-D: seeds; 2-D: rows × seeds) with its t interval:
    over the search repeats (each a mean over its seeds and rows) when there are several, else over the
    seeds (each a mean over its rows); the rows (architectures) are held fixed. Clipped to `bounds`."""
    data = as_cube(values)
    value = float(grand_mean(data))
    if data.shape[1] > 1:
        units = [grand_mean(data[:, [r], :]) for r in range(data.shape[1])]
        e = t_estimate(units, (REPEAT, SEED), bounds, level)
    else:
        units = [grand_mean(data[:, :, [s]]) for s in range(data.shape[2])]
        e = t_estimate(units, (SEED,), bounds, level)
    return e._replace(value=value)


SEEDS_LEVEL = "seeds"
REPEATS_LEVEL = "repeats"
ARCHITECTURES_LEVEL = "architectures"
LEVELS = (SEEDS_LEVEL, REPEATS_LEVEL, ARCHITECTURES_LEVEL)
"""The populations of a paired difference, narrowest first: the final seeds at these searched LRs; the
search repeats and seeds (the effect of the LR rule, search luck included); the architectures (each one
unit, its mean difference over repeats and seeds: a claim about architectures like these)."""


def difference_estimates(
    a: ArrayLike, b: ArrayLike, bounds: Bounds = None, level: float = LEVEL
) -> dict[str, Estimate]:
    """The paired difference a − b of two (rows, repeats, seeds) score arrays at every level the data allow
    (`LEVELS`; a level without an interval is left out unless it is the only one). An arm with one repeat
    against one with several (an LR no search chose: it ran once) is broadcast for the point estimate;
    its own seed noise enters the repeats and architectures levels through Welch's interval (repeats) and
    the per-architecture units (architectures)."""
    x, y = as_cube(a), as_cube(b)
    left, right = np.broadcast_arrays(x, y)
    diff = left - right
    value = float(grand_mean(diff))
    out: dict[str, Estimate] = {}
    seeds = [grand_mean(diff[:, :, [s]]) for s in range(diff.shape[2])]
    out[SEEDS_LEVEL] = t_estimate(seeds, (SEED,), bounds, level)._replace(value=value)
    repeats = diff.shape[1]
    if repeats > 1:
        if x.shape[1] == y.shape[1]:
            units = [grand_mean(diff[:, [r], :]) for r in range(repeats)]
            e = t_estimate(units, (REPEAT, SEED), bounds, level)
        else:
            many, once, sign = (x, y, 1.0) if x.shape[1] > 1 else (y, x, -1.0)
            per_repeat = [grand_mean(many[:, [r], :]) for r in range(many.shape[1])]
            e = welch_estimate(per_repeat, once[:, 0, :], (REPEAT, SEED), bounds, level)
            if sign < 0:
                e = e._replace(value=-e.value, lo=-e.hi, hi=-e.lo)
        out[REPEATS_LEVEL] = e._replace(value=value)
    rows = diff.shape[0]
    if rows > 1:
        if repeats > 1:
            cells = row_means(diff)  # (architectures, repeats): each a mean over its seeds
            e = crossed_estimate(cells, (ARCHITECTURE, REPEAT, SEED), bounds, level)
        else:
            units = [float(row_means(row)) for row in diff.reshape(rows, -1)]
            e = t_estimate(units, (ARCHITECTURE, SEED), bounds, level)
        out[ARCHITECTURES_LEVEL] = e._replace(value=value)
    return out


MIN_CROSSED_ARCHITECTURES = 4
"""The fewest architectures an interval across architectures and repeats is computed from: with 2–3 its
coverage exceeded 98% by simulation (too few degrees of freedom on either side)."""


def crossed_estimate(
    cells: ArrayLike, varies: tuple[str, ...], bounds: Bounds = None, level: float = LEVEL
) -> Estimate:
    """The grand mean of (architectures × repeats) cell means with an interval for architectures and search
    repeats **crossed**: a repeat's search luck is shared by every architecture (all principled LRs of a
    repeat come from one base search), so architectures are not independent units. Two-way random effects
    without replication: Var(mean) = (MS_arch + MS_repeat − MS_residual) / (A·R) with Satterthwaite's degrees
    of freedom, never narrower than the t interval of the architectures' or of the repeats' means alone;
    architectures with a missing cell are dropped; NO_INTERVAL below MIN_CROSSED_ARCHITECTURES. n is the
    architectures used."""
    data = np.asarray(cells, dtype=float)
    data = data[np.isfinite(data).all(axis=1)]
    a, r = data.shape if data.ndim == 2 else (0, 0)
    value = float(data.mean()) if data.size else NAN
    if a < MIN_CROSSED_ARCHITECTURES or r < 2:
        return Estimate(value, NAN, NAN, a, NO_INTERVAL, varies)
    arch_means, repeat_means = data.mean(axis=1), data.mean(axis=0)
    ms_arch = r * float(((arch_means - value) ** 2).sum()) / (a - 1)
    ms_repeat = a * float(((repeat_means - value) ** 2).sum()) / (r - 1)
    residual = data - arch_means[:, None] - repeat_means[None, :] + value
    ms_residual = float((residual**2).sum()) / ((a - 1) * (r - 1))
    terms = [(ms_arch, a - 1), (ms_repeat, r - 1), (-ms_residual, (a - 1) * (r - 1))]
    combined = max(sum(ms for ms, _ in terms), ms_arch, ms_repeat)
    q = 0.5 + level / 2
    rules = [  # (scale, degrees of freedom): the combination, and the architectures or the repeats alone
        (math.sqrt(combined / (a * r)), combined**2 / sum(ms**2 / df for ms, df in terms if ms) if combined else 1),
        (math.sqrt(ms_arch / (a * r)), a - 1),
        (math.sqrt(ms_repeat / (a * r)), r - 1),
    ]
    scale, dof = max(rules, key=lambda rule: t_quantile(q, rule[1]) * rule[0])
    if scale == 0:
        return Estimate(value, value, value, a, CROSSED, varies, 1.0 if value == 0 else 0.0)
    half = t_quantile(q, dof) * scale
    lo, hi = _clip(value - half, value + half, bounds)
    return Estimate(value, lo, hi, a, CROSSED, varies, t_two_sided_p(value / scale, dof))


def broadest(estimates: dict[str, Estimate]) -> tuple[str, Estimate]:
    """The broadest level with an interval (else the narrowest): the headline of a pair."""
    for level in reversed(LEVELS):
        e = estimates.get(level)
        if e is not None and math.isfinite(e.lo):
            return level, e
    return SEEDS_LEVEL, estimates[SEEDS_LEVEL]


def per_row_level(estimates: dict[str, Estimate]) -> Estimate:
    """A single architecture's difference: over repeats and seeds where searches repeat and that level has
    an interval, else over seeds (its `varies` says which)."""
    repeats = estimates.get(REPEATS_LEVEL)
    return repeats if repeats is not None and math.isfinite(repeats.lo) else estimates[SEEDS_LEVEL]


def holm(pvalues: Sequence[float], alpha: float = ALPHA) -> list[bool]:
    """Holm's step-down rejections at family-wise error `alpha` (NaN p-values are never rejected and do
    not count in m)."""
    indexed = sorted((p, i) for i, p in enumerate(pvalues) if math.isfinite(p))
    m = len(indexed)
    rejected = [False] * len(pvalues)
    for rank, (p, i) in enumerate(indexed):
        if p > alpha / (m - rank):
            break
        rejected[i] = True
    return rejected


WIN, LOSS, INCONCLUSIVE = "win", "loss", "inconclusive"


def _side(e: Estimate) -> int:
    """1 when the interval lies above 0, −1 below, 0 when it contains 0."""
    return 1 if e.lo > 0 else -1 if e.hi < 0 else 0


def outcome(e: Estimate, higher_is_better: bool = True, rejected: bool | None = None) -> str:
    """The call for a of a paired difference a − b: 'win' or 'loss' when the difference is significant
    (`rejected`, e.g. by Holm across a study's calls; None: its own interval excludes 0) and lies on the
    better or worse side of 0, 'inconclusive' otherwise, '' when there is no interval (too few units)."""
    if not (math.isfinite(e.lo) and math.isfinite(e.hi)):
        return ""
    side = _side(e) if rejected is None else int(np.sign(e.value)) * rejected
    if side == 0:
        return INCONCLUSIVE
    return WIN if (side > 0) == higher_is_better else LOSS


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


def power_law_scale(x: ArrayLike, y: ArrayLike, exponent: float) -> float:
    """The least-squares scale c of y = c · x^exponent at a given exponent, fitted in logs:
    exp(mean(log y − exponent · log x)); x and y positive."""
    return float(np.exp(np.mean(np.log(y) - exponent * np.log(x))))


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
