"""archscale.report.stats on hand-made arrays where every number is known."""

import math

import numpy as np
import pytest

from archscale.report import stats


def test_bootstrap_of_a_constant_is_that_constant():
    assert stats.bootstrap_ci([0.7, 0.7, 0.7], stats.row_means) == pytest.approx((0.7, 0.7))


def test_bootstrap_matches_a_direct_computation_with_the_same_seed():
    values = np.array([0.1, 0.4, 0.35, 0.8])
    indices = np.random.default_rng(7).integers(0, 4, size=(500, 4))  # the documented draw
    means = [values[idx].mean() for idx in indices]
    expected = tuple(np.percentile(means, [2.5, 97.5]))
    got = stats.bootstrap_ci(values, stats.row_means, n_boot=500, seed=7)
    assert got == pytest.approx(expected, abs=1e-12)
    assert stats.mean_ci(values, n_boot=500, seed=7)[1:3] == got
    assert stats.bootstrap_ci(values, stats.row_means, n_boot=500, seed=7) == got  # reproducible
    assert stats.bootstrap_ci(values, stats.row_means, n_boot=500, seed=8) != got


def test_paired_bootstrap_matches_a_loop_over_replicates():
    a = np.array([[0.5, 0.7, 0.6], [0.2, np.nan, 0.4]])
    b = np.array([[0.4, 0.6, 0.65], [0.3, 0.1, np.nan]])
    indices = np.random.default_rng(0).integers(0, 3, size=(300, 3))
    replicates = []
    for idx in indices:
        per_arch = [
            np.nanmean(ra[idx]) - np.nanmean(rb[idx])
            for ra, rb in zip(a, b, strict=True)
            if np.isfinite(ra[idx]).any() and np.isfinite(rb[idx]).any()
        ]
        replicates.append(np.mean(per_arch))
    e = stats.paired_difference(a, b, n_boot=300)
    assert (e.lo, e.hi) == pytest.approx(tuple(np.percentile(replicates, [2.5, 97.5])), abs=1e-12)
    assert e.value == pytest.approx(np.mean([0.6 - 0.55, 0.3 - 0.2]))


def test_bootstrap_of_two_values_spans_them():
    # Resampled means of [0, 1] are 0, 0.5 or 1 with probabilities 1/4, 1/2, 1/4: the 95% interval is [0, 1].
    assert stats.bootstrap_ci([0.0, 1.0], stats.row_means) == (0.0, 1.0)


def test_bootstrap_of_nothing_is_nan():
    lo, hi = stats.bootstrap_ci([], stats.row_means)
    assert math.isnan(lo) and math.isnan(hi)


def test_mean_ci_counts_finite_values():
    e = stats.mean_ci([0.5, np.nan, 0.7])
    assert e.value == pytest.approx(0.6)
    assert e.n == 2
    assert 0.5 <= e.lo <= e.hi <= 0.7


def test_paired_difference_resamples_seeds_jointly():
    # Per seed, a − b is exactly 1 on the first architecture and 2 on the second: every bootstrap
    # replicate (same seeds on both sides) gives 1.5, so the interval collapses to the value.
    a = [[1.0, 2.0], [3.0, 4.0]]
    b = [[0.0, 1.0], [1.0, 2.0]]
    e = stats.paired_difference(a, b)
    assert (e.value, e.lo, e.hi, e.n) == (1.5, 1.5, 1.5, 2)


def test_paired_difference_skips_architectures_missing_on_one_side():
    a = [[0.6, 0.6], [0.9, 0.9]]
    b = [[0.5, 0.5], [np.nan, np.nan]]
    e = stats.paired_difference(a, b)
    assert e.value == pytest.approx(0.1)
    assert e.n == 1


@pytest.mark.parametrize(
    ("a", "b", "higher", "expected"),
    [
        ((0.6, 0.7), (0.4, 0.5), True, "win"),
        ((0.4, 0.5), (0.6, 0.7), True, "loss"),
        ((0.4, 0.6), (0.5, 0.7), True, "tie"),
        ((0.4, 0.5), (0.5, 0.7), True, "tie"),  # touching intervals overlap
        ((0.6, 0.7), (0.4, 0.5), False, "loss"),  # a loss metric: lower is better
        ((math.nan, math.nan), (0.4, 0.5), True, ""),
    ],
)
def test_compare_intervals(a, b, higher, expected):
    assert stats.compare_intervals(a, b, higher) == expected


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


def test_cost_to_match():
    costs, scores = [10.0, 20.0, 30.0, 40.0], [0.5, np.nan, 0.7, 0.9]  # the 2nd trial was pruned: no score
    assert stats.cost_to_match(costs, scores, 0.7) == 60.0  # its cost still counts
    assert stats.cost_to_match(costs, scores, 0.4) == 10.0
    assert math.isnan(stats.cost_to_match(costs, scores, 0.95))
    assert stats.cost_to_match(costs, [2.0, 1.5, 1.0, 0.5], 1.2, higher_is_better=False) == 60.0
    assert math.isnan(stats.cost_to_match(costs, scores, math.nan))


def test_argbest_lr_is_the_largest_of_the_lowest():
    assert stats.argbest_lr([0.1, 0.2, 0.4, 0.8], [2.0, 1.0, 1.0, np.nan]) == 0.4
    assert math.isnan(stats.argbest_lr([0.1, 0.2], [np.nan, np.nan]))
