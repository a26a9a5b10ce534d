"""Survey statistics as pure functions (no Django): weighted means of normalised scores with intervals on the Kish
effective sample size, weighted top-2-box volumes, and the difference of two waves' means.

Every figure reduces to the classic unweighted one when every weight is 1 (mean, sample standard deviation,
Student-t interval on n - 1 degrees of freedom, count of top-2-box answers, Welch's test). The formulas, and why
these, are in docs/surveys.md. `grouped_estimates` computes many groups at once with NumPy (a survey of 20,000
respondents x 60 items aggregates in one pass); the one-group functions call it, so there is one implementation.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
PRECISION = 6  # decimals kept in stored figures, so recomputing the same responses never flips a float bit


def t_quantiles(degrees_of_freedom: np.ndarray) -> np.ndarray:
    """Two-sided Student t quantiles for CONFIDENCE, element-wise (degrees of freedom may be fractional)."""
    return stats.t.ppf(0.5 + CONFIDENCE / 2, degrees_of_freedom)


def t_quantile(degrees_of_freedom: float) -> float:
    return float(t_quantiles(np.asarray(degrees_of_freedom, dtype=float)))


def normalise(value, *, scale_min, scale_max):
    """Map a score (or an array of scores) of a scale onto [0, 1]: (x - min) / (max - min)."""
    if np.any(np.asarray(scale_max) <= np.asarray(scale_min)):
        raise ValueError("scale_max must be greater than scale_min")
    return (value - scale_min) / (scale_max - scale_min)


def effective_sample_size(weights: Sequence[float]) -> float:
    """Kish's effective sample size (Σw)² / Σw²: n when every weight is equal, smaller the more weights vary."""
    weights = np.asarray(weights, dtype=float)
    return float(weights.sum() ** 2 / np.square(weights).sum()) if weights.size else 0.0


@dataclass(frozen=True)
class GroupEstimates:
    """Per-group figures of `grouped_estimates`, arrays indexed by group (unrounded).

    `sd` is the weighted standard deviation (NaN below two answers); `ci_low`/`ci_high` the 95% interval of the
    mean, clipped to [0, 1] (NaN below two answers); `top_box` the weight total of the top-2-box answers (NaN
    unless asked).
    """

    count: np.ndarray
    weight_total: np.ndarray
    effective_count: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    top_box: np.ndarray


def grouped_estimates(
    *,
    groups: np.ndarray,
    values: np.ndarray,
    weights: np.ndarray,
    group_count: int,
    top_box: np.ndarray | None = None,
) -> GroupEstimates:
    """Weighted mean, Kish n_eff, weighted standard deviation and 95% interval of `values` (already on [0, 1]) per
    group (`groups[i]` in range(group_count) is the group of answer i); `top_box` (booleans) marks the answers in
    the top 2 points, whose weights are summed.

    mean = Σwx / Σw; n_eff = (Σw)² / Σw²; s² = Σw(x - mean)² / Σw × n_eff / (n_eff - 1);
    interval = mean ± t(0.975, n_eff - 1) × s / √n_eff. With every weight 1: the sample mean, n, the sample
    variance and the Student interval on n - 1 degrees of freedom.
    """
    groups = np.asarray(groups, dtype=np.int64)
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    count = np.bincount(groups, minlength=group_count)
    weight_total = np.bincount(groups, weights=weights, minlength=group_count)
    square_total = np.bincount(groups, weights=weights * weights, minlength=group_count)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.bincount(groups, weights=weights * values, minlength=group_count) / weight_total
        effective_count = weight_total * weight_total / square_total
        # Two passes (deviations from each group's mean), not Σwx² - (Σwx)²/Σw, which cancels catastrophically.
        deviations = np.bincount(groups, weights=weights * np.square(values - mean[groups]), minlength=group_count)
        variance = deviations / weight_total * effective_count / (effective_count - 1)
        sd = np.where(count >= 2, np.sqrt(variance), np.nan)
        half_width = t_quantiles(np.where(count >= 2, effective_count - 1, np.nan)) * sd / np.sqrt(effective_count)
    boxes = (
        np.bincount(groups, weights=weights * np.asarray(top_box, dtype=bool), minlength=group_count)
        if top_box is not None
        else np.full(group_count, np.nan)
    )
    return GroupEstimates(
        count=count,
        weight_total=weight_total,
        effective_count=effective_count,
        mean=mean,
        sd=sd,
        ci_low=np.clip(mean - half_width, 0.0, 1.0),
        ci_high=np.clip(mean + half_width, 0.0, 1.0),
        top_box=boxes,
    )


def measure_estimates(
    *,
    item_ids: np.ndarray,
    scores: np.ndarray,
    weights: np.ndarray,
    groups: np.ndarray,
    group_count: int,
    scales: Mapping[int, tuple[int, int]],
) -> GroupEstimates:
    """`grouped_estimates` of raw scores (NaN = no answer) of several items, each normalised on its item's
    (min, max) scale in `scales`, with the top-2-box of that scale."""
    known = np.array(sorted(scales), dtype=np.int64)
    positions = np.searchsorted(known, item_ids)
    scale_min = np.array([scales[item_id][0] for item_id in known.tolist()], dtype=float)[positions]
    scale_max = np.array([scales[item_id][1] for item_id in known.tolist()], dtype=float)[positions]
    answered = ~np.isnan(scores)
    return grouped_estimates(
        groups=groups[answered],
        values=normalise(scores[answered], scale_min=scale_min[answered], scale_max=scale_max[answered]),
        weights=weights[answered],
        group_count=group_count,
        top_box=top_box_mask(scores[answered], scale_max=scale_max[answered]),
    )


def _rounded(value: float) -> float | None:
    return None if math.isnan(value) else round(float(value), PRECISION)


@dataclass(frozen=True)
class MeanEstimate:
    """Weighted mean of normalised scores with its 95% confidence interval, as stored on a need.

    `count` is the number of answers, `weight_total` their weights' sum, `effective_count` Kish's n_eff (all three
    equal when the survey has no weights). `ci_low`/`ci_high` are None for a single answer: one score says nothing
    about the spread, and a made-up [0, 1] interval would look like information. Intervals are clipped to [0, 1].
    """

    mean: float
    count: int
    ci_low: float | None
    ci_high: float | None
    weight_total: float
    effective_count: float
    sd: float | None


def estimate_at(estimates: GroupEstimates, group: int) -> MeanEstimate | None:
    """The rounded figures of one group of `grouped_estimates`; None for a group without answers."""
    count = int(estimates.count[group])
    if count == 0:
        return None
    return MeanEstimate(
        mean=_rounded(estimates.mean[group]),
        count=count,
        ci_low=_rounded(estimates.ci_low[group]),
        ci_high=_rounded(estimates.ci_high[group]),
        weight_total=_rounded(estimates.weight_total[group]),
        effective_count=_rounded(estimates.effective_count[group]),
        sd=_rounded(estimates.sd[group]),
    )


def mean_estimate(values: Sequence[float], weights: Sequence[float] | None = None) -> MeanEstimate | None:
    """Weighted mean and 95% interval of values already on [0, 1] (weights default to 1); None if empty."""
    values = np.asarray(values, dtype=float)
    weights = np.ones_like(values) if weights is None else np.asarray(weights, dtype=float)
    if values.shape != weights.shape:
        raise ValueError("values and weights differ in length")
    estimates = grouped_estimates(
        groups=np.zeros(values.size, dtype=np.int64), values=values, weights=weights, group_count=1
    )
    return estimate_at(estimates, 0)


def top_box_mask(values, *, scale_max, boxes: int = 2):
    """Which raw scores are among the `boxes` highest points of their scale (top-2-box: 4 and 5 on 1-5)."""
    return np.asarray(values) >= np.asarray(scale_max) - boxes + 1


def top_box_volume(values: Sequence[int], *, scale_max: int, weights: Sequence[float] | None = None) -> float:
    """Weighted respondents in the top-2 box: the sum of the weights of those answers (their count unweighted)."""
    values = np.asarray(values)
    weights = np.ones(values.shape) if weights is None else np.asarray(weights, dtype=float)
    return float(weights[top_box_mask(values, scale_max=scale_max)].sum())


def volume_rounded(volume: float) -> int:
    """A weighted volume as a whole number of respondents, halves rounded up (never banker's rounding)."""
    return math.floor(volume + 0.5)


@dataclass(frozen=True)
class ItemSummary:
    """What a group of respondents said about one survey item."""

    importance: MeanEstimate | None
    satisfaction: MeanEstimate | None
    demand_volume: int | None
    top_box_volume: float | None


def item_summary(
    *,
    importance: Sequence[int],
    satisfaction: Sequence[int],
    scale_min: int,
    scale_max: int,
    importance_weights: Sequence[float] | None = None,
    satisfaction_weights: Sequence[float] | None = None,
    satisfaction_scale: tuple[int, int] | None = None,
) -> ItemSummary:
    """Summarise raw scores (answers only, no blanks) of one group: weighted normalised means, intervals and the
    top-2-box volume of importance. Importance is on scale_min-scale_max; satisfaction on `satisfaction_scale`
    when given (an item may ask each measure on its own scale), else the same."""
    satisfaction_min, satisfaction_max = satisfaction_scale or (scale_min, scale_max)
    volume = top_box_volume(importance, scale_max=scale_max, weights=importance_weights) if len(importance) else None
    return ItemSummary(
        importance=mean_estimate(
            normalise(np.asarray(importance, dtype=float), scale_min=scale_min, scale_max=scale_max),
            importance_weights,
        ),
        satisfaction=mean_estimate(
            normalise(np.asarray(satisfaction, dtype=float), scale_min=satisfaction_min, scale_max=satisfaction_max),
            satisfaction_weights,
        ),
        demand_volume=volume_rounded(volume) if volume is not None else None,
        top_box_volume=_rounded(volume) if volume is not None else None,
    )


@dataclass(frozen=True)
class MeanDifference:
    """The change of a weighted mean between two waves: after - before, its 95% interval and two-sided p-value.

    None figures when either wave has fewer than two answers (no spread to test against).
    """

    difference: float
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    significant: bool | None


def mean_difference(before: MeanEstimate, after: MeanEstimate) -> MeanDifference:
    """Welch's test on the Kish effective sample sizes: se² = s₁²/n_eff₁ + s₂²/n_eff₂, Welch-Satterthwaite degrees of
    freedom se⁴ / Σ (sᵢ²/n_effᵢ)² / (n_effᵢ - 1); significant when the interval excludes 0 (p < 0.05). With every
    weight 1 this is Welch's unequal-variance t-test."""
    difference = after.mean - before.mean
    if before.sd is None or after.sd is None or min(before.effective_count, after.effective_count) <= 1:
        return MeanDifference(round(difference, PRECISION), None, None, None, None)
    parts = [estimate.sd**2 / estimate.effective_count for estimate in (before, after)]
    se = math.sqrt(sum(parts))
    if se == 0.0:
        # Both waves answered as one: any difference is exact, none is noise.
        exact = round(difference, PRECISION)
        return MeanDifference(exact, exact, exact, float(exact == 0), exact != 0)
    freedom = se**4 / sum(
        part**2 / (estimate.effective_count - 1) for part, estimate in zip(parts, (before, after), strict=True)
    )
    half_width = t_quantile(freedom) * se
    p_value = float(2 * stats.t.sf(abs(difference) / se, freedom))
    return MeanDifference(
        difference=round(difference, PRECISION),
        ci_low=round(difference - half_width, PRECISION),
        ci_high=round(difference + half_width, PRECISION),
        p_value=round(p_value, PRECISION),
        significant=p_value < 1 - CONFIDENCE,
    )
