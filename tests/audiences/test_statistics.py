"""Pure statistics against hand-computed values (t quantiles from tables: t(0.975, 1) = 12.706205,
t(0.975, 3) = 3.182446, t(0.975, 5) = 2.570582)."""

import subprocess
import sys

import pytest

from audiences.statistics import item_summary, mean_estimate, normalise, top_box_volume
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
