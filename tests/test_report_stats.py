"""archscale.report.statistics.stats on hand-made arrays where every number is known (intervals checked against
scipy.stats.t and hand-computed values)."""

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from archscale.report.statistics import stats


def test_kendall_and_spearman_known_values():
    # One discordant pair of six: τ = (5 − 1)/6; Σd² = 2: ρ = 1 − 6·2/(4·15) = 0.8.
    x, y = [1, 2, 3, 4], [1, 3, 2, 4]
    assert stats.kendall(x, y).value == pytest.approx(2 / 3)
    assert stats.spearman(x, y).value == pytest.approx(0.8)
    assert stats.kendall(x, y).n == 4


def test_pearson_with_its_fisher_interval():
    x, y = [1, 2, 3, 4, 5], [2, 1, 4, 3, 5]
    e = stats.pearson(x, y)
    assert e.value == pytest.approx(0.8)
    half = 1.959963984540054 / math.sqrt(5 - 3)
    assert (e.lo, e.hi) == pytest.approx((math.tanh(math.atanh(0.8) - half), math.tanh(math.atanh(0.8) + half)))


def test_correlations_need_points_and_variation():
    assert math.isnan(stats.pearson([1, 2], [3, 4]).value)
    assert math.isnan(stats.spearman([1, 1, 1], [1, 2, 3]).value)
    assert stats.pearson([1, 2, np.nan, 4], [1, 2, 3, 4]).n == 3  # NaN pairs are dropped


def test_slope_with_its_t_interval():
    # x̄ = 1.5, ȳ = 1.25, Sxy = 4.5, Sxx = 5: slope 0.9, intercept −0.1; SSE = 0.7, se = sqrt(0.35/5);
    # t(0.975, 2) = 4.302653: the interval is 0.9 ± 4.302653·0.2645751 = 0.9 ± 1.1383749.
    fit = stats.slope([0, 1, 2, 3], [0, 1, 1, 3])
    assert fit.slope == pytest.approx(0.9)
    assert fit.intercept == pytest.approx(-0.1)
    assert (fit.lo, fit.hi) == pytest.approx((0.9 - 1.1383749, 0.9 + 1.1383749), abs=1e-6)
    assert fit.n == 4


def test_exact_line_has_a_zero_width_interval_and_two_points_none():
    fit = stats.slope([1, 2, 3], [3, 5, 7])
    assert (fit.slope, fit.lo, fit.hi) == pytest.approx((2.0, 2.0, 2.0))
    two = stats.slope([1, 2], [3, 5])
    assert two.slope == pytest.approx(2.0) and math.isnan(two.lo)


def test_log_slope_recovers_a_power_law():
    s = np.array([27.0, 64.0, 125.0, 216.0, 1000.0])
    assert stats.log_slope(s, 0.3 * s**-0.5).slope == pytest.approx(-0.5)
    assert stats.log_slope([1, 2, 0], [1, 0.5, 3]).n == 2  # non-positive values are dropped


def test_median_abs_log2_ratio():
    e = stats.median_abs_log2_ratio([2.0, 1.0, 8.0], [1.0, 1.0, 1.0])  # |log2| = 1, 0, 3
    assert (e.value, e.n) == (1.0, 3)


def test_ranks_best_first_with_ties_and_missing():
    r = stats.ranks([0.5, 0.9, 0.7, np.nan, 0.7])
    assert r[:3].tolist() == [4.0, 1.0, 2.5] and math.isnan(r[3]) and r[4] == 2.5
    assert stats.ranks([0.5, 0.9], higher_is_better=False).tolist() == [1.0, 2.0]


def test_top_indices_takes_the_ceiling_of_the_fraction():
    assert stats.top_indices([0.1, 0.9, 0.5, 0.7], 0.5).tolist() == [1, 3]
    assert stats.top_indices([0.1, 0.9, 0.5, 0.7], 0.1).tolist() == [1]
    assert stats.top_indices([0.1, 0.9, 0.5, 0.7], 0.5, higher_is_better=False).tolist() == [0, 2]


def test_top_agreement_restricted_to_the_reference_top():
    b = np.arange(10, 0, -1, dtype=float)  # the reference ranking: 0 best, 9 worst
    a = np.array([9, 10, 8, 7, 6, 5, 4, 3, 1, 2], dtype=float)  # swaps (0, 1) and (8, 9)
    full = stats.top_agreement(a, b, 1.0)
    assert (full.n, full.kendall_tau, full.overlap) == (10, pytest.approx(41 / 45), 1.0)
    half = stats.top_agreement(a, b, 0.5)  # indices 0..4: one discordant pair of 10
    assert (half.n, half.kendall_tau, half.overlap) == (5, pytest.approx(0.8), 1.0)
    tenth = stats.top_agreement(a, b, 0.1)  # one architecture: no τ; a's best (1) is not b's (0)
    assert tenth.n == 1 and math.isnan(tenth.kendall_tau) and tenth.overlap == 0.0


def test_best_so_far_keeps_the_best_through_missing_scores():
    got = stats.best_so_far([np.nan, 0.2, np.nan, 0.1, 0.5])
    assert math.isnan(got[0]) and got[1:].tolist() == [0.2, 0.2, 0.2, 0.5]
    assert stats.best_so_far([3.0, 2.0, 4.0], higher_is_better=False).tolist() == [3.0, 2.0, 2.0]


# --- honest intervals ----------------------------------------------------------------------------


def test_two_seeds_get_a_t_interval_never_a_bootstrap():
    # d = 0.10, 0.30: mean 0.2, sd = 0.1414, se = 0.1, t(0.975, 1) = 12.7062: 0.2 ± 1.27062.
    e = stats.mean_estimate([0.10, 0.30])
    assert (e.method, e.n) == (stats.T, 2)
    assert (e.lo, e.hi) == pytest.approx((0.2 - 1.2706205, 0.2 + 1.2706205), abs=1e-6)
    assert stats.mean_estimate([[0.7, 0.9], [0.1, 0.3]]).method == stats.T  # rows share the two seeds


def test_a_paired_difference_with_known_values_gets_the_t_interval():
    a = np.array([0.61, 0.72, 0.55, 0.68])
    b = np.array([0.60, 0.69, 0.52, 0.69])  # a − b = 0.01, 0.03, 0.03, −0.01
    d = a - b
    e = stats.mean_estimate(d)
    half = scipy_stats.t.ppf(0.975, 3) * d.std(ddof=1) / math.sqrt(4)
    assert e.value == pytest.approx(0.015)
    assert (e.lo, e.hi) == pytest.approx((0.015 - half, 0.015 + half))
    assert (e.method, e.n) == (stats.T, 4)
    assert (e.lo, e.hi) == pytest.approx(scipy_stats.t.interval(0.95, 3, loc=d.mean(), scale=scipy_stats.sem(d)))


def test_one_unit_has_no_interval():
    e = stats.mean_estimate([0.4, np.nan])
    assert (e.value, e.n, e.method) == (0.4, 1, stats.NO_INTERVAL)
    assert math.isnan(e.lo) and math.isnan(e.hi)


def test_five_seeds_get_a_t_interval_too_and_name_what_they_resample():
    values = np.array([0.1, 0.4, 0.35, 0.8, 0.5])
    e = stats.mean_estimate(values)
    assert (e.method, e.n, e.varies, e.fixed) == (stats.T, 5, (stats.SEED,), (stats.REPEAT, stats.ARCHITECTURE))
    reference = scipy_stats.t.interval(0.95, 4, loc=values.mean(), scale=scipy_stats.sem(values))
    assert (e.lo, e.hi) == pytest.approx(reference)


def test_intervals_of_bounded_quantities_stay_in_their_bounds():
    e = stats.mean_estimate([0.99, 0.2, 1.0], bounds=(0.0, 1.0))
    assert e.lo >= 0.0 and e.hi == 1.0
    d = stats.difference_estimates([[0.9, 0.1]], [[0.0, 1.0]], bounds=(-1.0, 1.0))["seeds"]
    assert d.lo >= -1.0 and d.hi <= 1.0


def test_missing_seeds_do_not_count_as_units():
    e = stats.mean_estimate([[0.5, np.nan, 0.7, np.nan, np.nan, 0.6]])
    assert (e.n, e.method, e.value) == (3, stats.T, pytest.approx(0.6))


def test_repeats_are_the_units_when_searches_repeat():
    # (1 architecture, 2 repeats, 2 seeds): per-repeat means 0.2 and 0.4 → t over repeats on them.
    cube = np.array([[[0.1, 0.3], [0.4, 0.4]]])
    e = stats.mean_estimate(cube)
    lo, hi = stats.t_interval([0.2, 0.4], 0.3)
    assert (e.value, e.lo, e.hi, e.n, e.method) == (pytest.approx(0.3), lo, hi, 2, stats.T)
    assert e.varies == (stats.REPEAT, stats.SEED) and e.fixed == (stats.ARCHITECTURE,)


def test_a_paired_difference_at_every_level_the_data_allow():
    rng = np.random.default_rng(1)
    a = rng.normal(0.6, 0.02, size=(4, 3, 5))  # 4 architectures × 3 repeats × 5 seeds
    b = rng.normal(0.5, 0.02, size=(4, 3, 5))
    levels = stats.difference_estimates(a, b)
    assert list(levels) == [stats.SEEDS_LEVEL, stats.REPEATS_LEVEL, stats.ARCHITECTURES_LEVEL]
    d = a - b
    seeds, repeats, archs = levels.values()
    assert [e.value for e in levels.values()] == pytest.approx([d.mean()] * 3)
    assert (seeds.n, seeds.varies) == (5, (stats.SEED,))
    assert (seeds.lo, seeds.hi) == pytest.approx(stats.t_interval(d.mean(axis=(0, 1))))
    assert (repeats.n, repeats.varies, repeats.fixed) == (3, (stats.REPEAT, stats.SEED), (stats.ARCHITECTURE,))
    assert (repeats.lo, repeats.hi) == pytest.approx(stats.t_interval(d.mean(axis=(0, 2))))
    assert (archs.n, archs.varies, archs.fixed) == (4, (stats.ARCHITECTURE, stats.REPEAT, stats.SEED), ())
    assert archs.method == stats.CROSSED  # architectures and repeats crossed: a repeat's luck is shared
    t_lo, t_hi = stats.t_interval(d.mean(axis=(1, 2)))
    assert archs.lo <= t_lo and archs.hi >= t_hi
    assert stats.broadest(levels) == (stats.ARCHITECTURES_LEVEL, archs)
    one = stats.difference_estimates(a[:1, :1], b[:1, :1])  # one architecture, one repeat: seeds only
    assert list(one) == [stats.SEEDS_LEVEL] and stats.broadest(one)[0] == stats.SEEDS_LEVEL


def test_the_crossed_interval_is_the_two_way_anova_variance_of_the_mean():
    """Hand-computed mean squares of an (architectures × repeats) table whose repeat effect is shared."""
    cells = np.array([[0.10, 0.30, 0.20], [0.15, 0.32, 0.20], [0.05, 0.28, 0.21], [0.12, 0.35, 0.18]])
    a, r = cells.shape
    grand = cells.mean()
    ms_a = r * ((cells.mean(1) - grand) ** 2).sum() / (a - 1)
    ms_r = a * ((cells.mean(0) - grand) ** 2).sum() / (r - 1)
    resid = cells - cells.mean(1, keepdims=True) - cells.mean(0, keepdims=True) + grand
    ms_e = (resid**2).sum() / ((a - 1) * (r - 1))
    var = (ms_a + ms_r - ms_e) / (a * r)
    dof = (ms_a + ms_r - ms_e) ** 2 / (ms_a**2 / (a - 1) + ms_r**2 / (r - 1) + ms_e**2 / ((a - 1) * (r - 1)))
    half = max(  # never narrower than the architectures' or the repeats' means alone
        scipy_stats.t.ppf(0.975, dof) * math.sqrt(var),
        scipy_stats.t.ppf(0.975, a - 1) * math.sqrt(ms_a / (a * r)),
        scipy_stats.t.ppf(0.975, r - 1) * math.sqrt(ms_r / (a * r)),
    )
    e = stats.crossed_estimate(cells, (stats.ARCHITECTURE, stats.REPEAT))
    assert (e.value, e.lo, e.hi, e.n) == pytest.approx((grand, grand - half, grand + half, 4))
    # treating the 4 architectures as independent would ignore the shared repeat effect: far narrower
    t_lo, t_hi = stats.t_interval(cells.mean(1))
    assert t_hi - t_lo < (e.hi - e.lo) / 5


def test_an_unsearched_arms_seed_noise_widens_the_interval_over_repeats():
    """An arm whose LR no search chose runs once (one repeat); against a searched arm, its seed noise
    must not drop out of the interval over repeats (broadcast, it would be the same in every repeat)."""
    rng = np.random.default_rng(2)
    searched = rng.normal(0.7, 0.01, size=(3, 4, 5))  # 3 architectures × 4 repeats × 5 seeds
    base = rng.normal(0.0, 1.0, size=(3, 1, 5))
    widths = []
    for sd in (0.001, 0.01, 0.05, 0.2):
        once = 0.65 + sd * base
        e = stats.difference_estimates(searched, once)[stats.REPEATS_LEVEL]
        assert e.method == stats.WELCH and e.varies == (stats.REPEAT, stats.SEED)
        widths.append(e.hi - e.lo)
    assert widths == sorted(widths) and widths[-1] > 20 * widths[0]
    reverse = stats.difference_estimates(0.65 + 0.05 * base, searched)[stats.REPEATS_LEVEL]
    forward = stats.difference_estimates(searched, 0.65 + 0.05 * base)[stats.REPEATS_LEVEL]
    assert (reverse.value, reverse.lo, reverse.hi) == pytest.approx((-forward.value, -forward.hi, -forward.lo))


def test_holm_adjusts_the_calls_of_a_family():
    # m = 4: p sorted 0.001 ≤ 0.05/4, 0.013 ≤ 0.05/3, 0.03 > 0.05/2 stops; unadjusted all but the last pass.
    assert stats.holm([0.03, 0.001, 0.013, 0.2]) == [False, True, True, False]
    assert stats.holm([0.04, float("nan")]) == [True, False]  # NaN neither counts nor is rejected


@pytest.mark.parametrize(
    ("lo", "hi", "higher", "expected"),
    [
        (0.01, 0.05, True, "win"),
        (-0.05, -0.01, True, "loss"),
        (-0.01, 0.05, True, "inconclusive"),
        (0.0, 0.05, True, "inconclusive"),  # an end at 0: the interval contains 0
        (0.01, 0.05, False, "loss"),  # a loss metric: a higher loss is worse
        (math.nan, math.nan, True, ""),
    ],
)
def test_outcome_follows_the_paired_interval(lo, hi, higher, expected):
    assert stats.outcome(stats.Estimate(0.02, lo, hi, 3, stats.T), higher) == expected


def test_an_adjusted_call_overrides_the_unadjusted_interval():
    e = stats.Estimate(0.02, 0.01, 0.05, 3, stats.T, (stats.SEED,), 0.03)
    assert stats.outcome(e, True, rejected=False) == "inconclusive"
    assert stats.outcome(e, True, rejected=True) == "win"


def test_picked_so_far_is_what_the_search_would_choose():
    selection = [0.5, np.nan, 0.7, 0.7, 0.6]  # the second trial was pruned
    reported = [0.55, 0.99, 0.68, 0.71, 0.9]
    lrs = [0.1, 0.2, 0.3, 0.05, 0.4]
    picked = stats.picked_so_far(selection, reported, lrs)
    assert picked.tolist() == [0.55, 0.55, 0.68, 0.71, 0.71]  # a tie goes to the smaller LR
    assert math.isnan(stats.picked_so_far([np.nan], [0.9], [0.1])[0])


def test_first_reaching():
    assert stats.first_reaching([0.5, 0.5, 0.7], 0.6) == 3.0
    assert stats.first_reaching([0.5, 0.7], 0.5) == 1.0
    assert math.isnan(stats.first_reaching([0.5, 0.55], 0.6))
    assert stats.first_reaching([2.0, 1.0], 1.5, higher_is_better=False) == 2.0
    assert math.isnan(stats.first_reaching([0.5], math.nan))
