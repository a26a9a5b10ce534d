"""Pure statistics against hand-computed values and independent NumPy/SciPy computations (t quantiles from tables: t(0.975, 1) = 12.706205,
t(0.975, 3) = 3.182446, t(0.975, 5) = 2.570582)."""

import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from audiences.statistics import (
    MeanDifference,
    effective_sample_size,
    estimate_at,
    grouped_estimates,
    item_summary,
    mean_difference,
    mean_estimate,
    normalise,
    top_box_volume,
    volume_rounded,
)
from offers.territory_paths import common_path


def test_normalise_maps_the_scale_onto_unit_interval():
    assert normalise(1, scale_min=1, scale_max=5) == 0.0
    assert normalise(4, scale_min=1, scale_max=5) == 0.75
    assert normalise(5, scale_min=1, scale_max=5) == 1.0
    assert normalise(7, scale_min=0, scale_max=10) == 0.7
    with pytest.raises(ValueError):
        normalise(1, scale_min=3, scale_max=3)


def test_mean_and_confidence_interval_inside_the_unit_interval():
    # mean 0.5; squared deviations .0625 + .0625 = .125; variance .125 / 5 = .025; sd = .158114
    # half-width = 2.570582 * .158114 / sqrt(6) = .406445 / 2.449490 = .165930
    estimate = mean_estimate([0.25, 0.5, 0.5, 0.75, 0.5, 0.5])
    assert estimate.count == 6
    assert estimate.mean == pytest.approx(0.5)
    assert estimate.ci_low == pytest.approx(0.334070, abs=1e-6)
    assert estimate.ci_high == pytest.approx(0.665930, abs=1e-6)


def test_confidence_interval_is_clipped_to_the_unit_interval():
    # mean .75; sd = sqrt(.125 / 3) = .204124; half-width = 3.182446 * .204124 / 2 = .324807 -> [.425193, 1.0]
    estimate = mean_estimate([0.5, 0.75, 0.75, 1.0])
    assert estimate.mean == pytest.approx(0.75)
    assert estimate.ci_low == pytest.approx(0.425193, abs=1e-6)
    assert estimate.ci_high == 1.0


def test_single_answer_has_no_interval_and_no_answer_no_estimate():
    estimate = mean_estimate([0.25])
    assert (estimate.mean, estimate.count, estimate.ci_low, estimate.ci_high) == (0.25, 1, None, None)
    assert mean_estimate([]) is None


def test_identical_answers_give_a_zero_width_interval():
    estimate = mean_estimate([0.75, 0.75, 0.75])
    assert (estimate.ci_low, estimate.ci_high) == (0.75, 0.75)


def test_top_two_box():
    assert top_box_volume([5, 4, 3, 2, 1, 5], scale_max=5) == 3
    assert top_box_volume([10, 9, 8], scale_max=10) == 2
    assert top_box_volume([], scale_max=5) == 0


def test_item_summary_of_raw_scores():
    # importance 5, 4, 2 on 1-5 -> 1, .75, .25: mean 2/3; top-2-box 2; satisfaction 2, 1 -> .25, 0: mean .125
    summary = item_summary(importance=[5, 4, 2], satisfaction=[2, 1], scale_min=1, scale_max=5)
    assert summary.importance.mean == pytest.approx(0.666667, abs=1e-6)
    assert summary.demand_volume == 2
    assert summary.satisfaction.mean == pytest.approx(0.125)
    assert summary.satisfaction.count == 2
    # sd(.25, 0) = .176777; half-width = 12.706205 * .176777 / sqrt(2) = 1.588276 -> clipped [0, 1]
    assert (summary.satisfaction.ci_low, summary.satisfaction.ci_high) == (0.0, 1.0)
    empty = item_summary(importance=[], satisfaction=[], scale_min=1, scale_max=5)
    assert (empty.importance, empty.satisfaction, empty.demand_volume) == (None, None, None)


def test_common_path():
    assert common_path(["r75/d23/e1/c1/", "r75/d23/e2/c2/"]) == "r75/d23/"
    assert common_path(["r75/d23/e1/c1/", "r75/d23/e1/c2/"]) == "r75/d23/e1/"
    assert common_path(["r75/d23/e1/c1/"]) == "r75/d23/e1/c1/"
    assert common_path(["r75/d23/", "r84/d01/"]) is None
    assert common_path([]) is None


def test_statistics_module_does_not_import_django():
    code = "import sys, audiences.statistics; sys.exit('django' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# Weighted figures --------------------------------------------------------------------------------------------------
# The worked example of docs/surveys.md: importance 4, 3, 4, 2, 3, 5 on 1-5 -> .75, .5, .75, .25, .5, 1, weighted
# .5, 1.5, 1, 2, 1, 2. Σw = 8, Σwx = .375 + .75 + .75 + .5 + .5 + 2 = 4.875, mean = .609375; Σw² = 12.5,
# n_eff = 64 / 12.5 = 5.12; Σw(x - mean)² = .623047, / Σw = .077881, x n_eff / (n_eff - 1) = x 1.242718 -> s² =
# .096784, s = .311101; se = s / √5.12 = .137489; t(0.975, 4.12) = 2.744842 -> half-width .377384 ->
# [.231991, .986759]. Top-2-box (4 and 5): .5 + 1 + 2 = 3.5 weighted respondents -> demand volume 4.
EXAMPLE_SCORES = [4, 3, 4, 2, 3, 5]
EXAMPLE_WEIGHTS = [0.5, 1.5, 1.0, 2.0, 1.0, 2.0]


def test_weighted_mean_effective_size_and_interval_by_hand():
    summary = item_summary(
        importance=EXAMPLE_SCORES,
        satisfaction=[],
        scale_min=1,
        scale_max=5,
        importance_weights=EXAMPLE_WEIGHTS,
    )
    estimate = summary.importance
    assert estimate.count == 6
    assert estimate.weight_total == 8.0
    assert estimate.effective_count == pytest.approx(5.12)
    assert estimate.mean == pytest.approx(0.609375)
    assert estimate.sd == pytest.approx(0.311101, abs=1e-6)
    assert estimate.ci_low == pytest.approx(0.231991, abs=1e-6)
    assert estimate.ci_high == pytest.approx(0.986759, abs=1e-6)
    assert (summary.top_box_volume, summary.demand_volume) == (3.5, 4)
    assert summary.satisfaction is None


def test_the_same_file_unweighted_gives_the_classic_figures():
    # .75, .5, .75, .25, .5, 1: mean .625, sd .262202, half-width 2.570582 * .262202 / √6 = .275164; top-2 3.
    summary = item_summary(importance=EXAMPLE_SCORES, satisfaction=[], scale_min=1, scale_max=5)
    estimate = summary.importance
    assert (estimate.count, estimate.weight_total, estimate.effective_count) == (6, 6.0, 6.0)
    assert estimate.mean == pytest.approx(0.625)
    assert (estimate.ci_low, estimate.ci_high) == (pytest.approx(0.349836), pytest.approx(0.900164))
    assert (summary.top_box_volume, summary.demand_volume) == (3.0, 3)


def test_kish_effective_sample_size():
    assert effective_sample_size([1, 1, 1, 1]) == 4.0
    assert effective_sample_size([2, 2, 2]) == pytest.approx(3.0)
    # (1 + 3)² / (1 + 9) = 1.6: one heavy respondent counts for much less than two.
    assert effective_sample_size([1, 3]) == pytest.approx(1.6)
    assert effective_sample_size([]) == 0.0


def test_volume_rounding_is_half_up():
    assert [volume_rounded(value) for value in (0.4, 0.5, 1.5, 2.5, 2.49)] == [0, 1, 2, 3, 2]


def test_each_measure_on_its_own_scale():
    # importance 3 on 1-4 -> 2/3; satisfaction 7 on 0-10 -> .7; top-2-box of 1-4 is 3 and 4.
    summary = item_summary(importance=[3], satisfaction=[7], scale_min=1, scale_max=4, satisfaction_scale=(0, 10))
    assert summary.importance.mean == pytest.approx(0.666667)
    assert summary.satisfaction.mean == pytest.approx(0.7)
    assert summary.demand_volume == 1


def _numpy_reference(values, weights):
    """The weighted figures computed independently: numpy's reliability-weighted variance (np.cov with aweights
    and ddof=1 divides by Σw - Σw²/Σw, which is the Kish-corrected variance) and scipy's t quantile."""
    values, weights = np.asarray(values, dtype=float), np.asarray(weights, dtype=float)
    mean = np.average(values, weights=weights)
    n_eff = weights.sum() ** 2 / np.square(weights).sum()
    sd = math.sqrt(np.cov(values, aweights=weights, ddof=1))
    half_width = stats.t.ppf(0.975, n_eff - 1) * sd / math.sqrt(n_eff)
    return mean, n_eff, max(0.0, mean - half_width), min(1.0, mean + half_width)


scores_and_weights = st.integers(min_value=2, max_value=40).flatmap(
    lambda size: st.tuples(
        st.lists(st.integers(min_value=1, max_value=5), min_size=size, max_size=size),
        st.lists(st.floats(min_value=0.05, max_value=20.0), min_size=size, max_size=size),
    )
)


@given(scores_and_weights)
def test_weighted_estimate_matches_numpy(data):
    scores, weights = data
    values = [(score - 1) / 4 for score in scores]
    estimate = mean_estimate(values, weights)
    mean, n_eff, low, high = _numpy_reference(values, weights)
    assert estimate.mean == pytest.approx(mean, abs=1e-6)
    assert estimate.effective_count == pytest.approx(n_eff, abs=1e-6)
    assert estimate.ci_low == pytest.approx(low, abs=2e-6)
    assert estimate.ci_high == pytest.approx(high, abs=2e-6)


@given(scores_and_weights)
def test_unit_weights_give_the_unweighted_figures(data):
    """Every weight 1: sample mean, n, sample standard deviation and the Student interval on n - 1 degrees of
    freedom, and the top-2-box count, as before weights existed."""
    scores, _ = data
    values = np.array([(score - 1) / 4 for score in scores])
    count = len(values)
    estimate = mean_estimate(values.tolist(), [1.0] * count)
    half_width = stats.t.ppf(0.975, count - 1) * values.std(ddof=1) / math.sqrt(count)
    assert (estimate.count, estimate.weight_total, estimate.effective_count) == (count, count, count)
    assert estimate.mean == pytest.approx(values.mean(), abs=1e-6)
    assert estimate.ci_low == pytest.approx(max(0.0, values.mean() - half_width), abs=1e-6)
    assert estimate.ci_high == pytest.approx(min(1.0, values.mean() + half_width), abs=1e-6)
    assert estimate == mean_estimate(values.tolist())
    assert top_box_volume(scores, scale_max=5, weights=[1.0] * count) == sum(score >= 4 for score in scores)


@given(scores_and_weights, st.floats(min_value=0.01, max_value=100.0))
def test_scaling_every_weight_changes_no_figure_but_the_totals(data, factor):
    scores, weights = data
    values = [(score - 1) / 4 for score in scores]
    plain, scaled = mean_estimate(values, weights), mean_estimate(values, [w * factor for w in weights])
    for name in ("mean", "effective_count", "ci_low", "ci_high"):
        assert getattr(scaled, name) == pytest.approx(getattr(plain, name), abs=2e-6)
    assert scaled.weight_total == pytest.approx(plain.weight_total * factor, rel=1e-6)


def test_grouped_estimates_equal_each_group_alone():
    groups = np.array([0, 1, 0, 1, 1, 2])
    values = np.array([0.25, 1.0, 0.75, 0.5, 0.5, 0.0])
    weights = np.array([1.0, 2.0, 3.0, 0.5, 1.5, 4.0])
    estimates = grouped_estimates(groups=groups, values=values, weights=weights, group_count=4)
    for group in range(3):
        alone = mean_estimate(values[groups == group].tolist(), weights[groups == group].tolist())
        assert estimate_at(estimates, group) == alone
    assert estimate_at(estimates, 3) is None  # no answer in group 3
    single = estimate_at(estimates, 2)
    assert (single.count, single.ci_low, single.ci_high, single.sd) == (1, None, None, None)


# Wave differences --------------------------------------------------------------------------------------------------


@given(scores_and_weights, scores_and_weights)
def test_unit_weight_difference_is_welchs_test(before_data, after_data):
    before_values = np.array([(score - 1) / 4 for score in before_data[0]])
    after_values = np.array([(score - 1) / 4 for score in after_data[0]])
    before, after = mean_estimate(before_values.tolist()), mean_estimate(after_values.tolist())
    difference = mean_difference(before, after)
    assert difference.difference == pytest.approx(after_values.mean() - before_values.mean(), abs=2e-6)
    if before_values.std() == 0 and after_values.std() == 0:
        assert difference.significant == (difference.difference != 0)
        return
    with warnings.catch_warnings():  # scipy warns when one wave answered as one; its figures are still right
        warnings.simplefilter("ignore", RuntimeWarning)
        welch = stats.ttest_ind(after_values, before_values, equal_var=False)
    assert difference.p_value == pytest.approx(welch.pvalue, abs=1e-4)
    interval = welch.confidence_interval(0.95)
    assert difference.ci_low == pytest.approx(interval.low, abs=1e-4)
    assert difference.ci_high == pytest.approx(interval.high, abs=1e-4)
    assert difference.significant == (welch.pvalue < 0.05)


def test_weighted_difference_by_hand():
    # Before: the worked example (mean .609375, s .311101, n_eff 5.12). After: .75 x 4 and 1 x 4, weights 1:
    # mean .875, s = √(4 x .015625 x 2 / 7) = .133631, n_eff 8. se² = .311101² / 5.12 + .133631² / 8
    # = .018903 + .002232 = .021135, se = .145379; df = .021135² / (.018903² / 4.12 + .002232² / 7) = 5.109;
    # difference .265625, t = 1.827 -> p = .125: not significant.
    before = mean_estimate([(score - 1) / 4 for score in EXAMPLE_SCORES], EXAMPLE_WEIGHTS)
    after = mean_estimate([0.75] * 4 + [1.0] * 4)
    difference = mean_difference(before, after)
    assert difference.difference == pytest.approx(0.265625)
    se = math.sqrt(0.311101**2 / 5.12 + 0.133631**2 / 8)
    freedom = se**4 / ((0.311101**2 / 5.12) ** 2 / 4.12 + (0.133631**2 / 8) ** 2 / 7)
    assert se == pytest.approx(0.145379, abs=1e-5)
    assert freedom == pytest.approx(5.109, abs=1e-3)
    half_width = stats.t.ppf(0.975, freedom) * se
    assert difference.ci_low == pytest.approx(0.265625 - half_width, abs=1e-5)
    assert difference.ci_high == pytest.approx(0.265625 + half_width, abs=1e-5)
    assert difference.p_value == pytest.approx(2 * stats.t.sf(0.265625 / se, freedom), abs=1e-5)
    assert difference.significant is False


def test_difference_without_spread():
    one = mean_estimate([0.5])
    assert mean_difference(one, mean_estimate([0.75, 1.0])) == MeanDifference(0.375, None, None, None, None)
    constant = mean_difference(mean_estimate([0.5, 0.5]), mean_estimate([0.75, 0.75]))
    assert (constant.difference, constant.ci_low, constant.ci_high, constant.significant) == (0.25, 0.25, 0.25, True)
