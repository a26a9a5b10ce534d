"""Survey statistics as pure functions (no Django): normalised means, top-2-box counts, Student confidence intervals.

Everything here takes plain numbers so it is unit-tested against hand-computed values.
"""

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from scipy import stats

CONFIDENCE = 0.95
PRECISION = 6  # decimals kept in stored figures, so recomputing the same responses never flips a float bit


@dataclass(frozen=True)
class MeanEstimate:
    """Mean of normalised scores with its 95% confidence interval.

    `ci_low`/`ci_high` are None for a single answer: one score says nothing about the spread, and a
    made-up [0, 1] interval would look like information. Intervals are clipped to [0, 1].
    """

    mean: float
    count: int
    ci_low: float | None
    ci_high: float | None


@functools.lru_cache(maxsize=1024)
def t_quantile(degrees_of_freedom: int) -> float:
    """Two-sided Student t quantile for CONFIDENCE (cached: a survey recomputes thousands of groups)."""
    return float(stats.t.ppf(0.5 + CONFIDENCE / 2, degrees_of_freedom))


def normalise(value: int, *, scale_min: int, scale_max: int) -> float:
    """Map a score of the survey scale onto [0, 1]: (x - min) / (max - min)."""
    if scale_max <= scale_min:
        raise ValueError("scale_max must be greater than scale_min")
    return (value - scale_min) / (scale_max - scale_min)


def mean_estimate(values: Sequence[float]) -> MeanEstimate | None:
    """Mean and 95% Student-t interval (sample standard deviation) of values already on [0, 1]; None if empty."""
    count = len(values)
    if count == 0:
        return None
    mean = math.fsum(values) / count
    if count == 1:
        return MeanEstimate(round(mean, PRECISION), 1, None, None)
    variance = math.fsum((value - mean) ** 2 for value in values) / (count - 1)
    half_width = t_quantile(count - 1) * math.sqrt(variance) / math.sqrt(count)
    return MeanEstimate(
        mean=round(mean, PRECISION),
        count=count,
        ci_low=round(max(0.0, mean - half_width), PRECISION),
        ci_high=round(min(1.0, mean + half_width), PRECISION),
    )


def top_box_count(values: Iterable[int], *, scale_max: int, boxes: int = 2) -> int:
    """Number of raw scores among the `boxes` highest points of the scale (top-2-box: 4 and 5 on 1-5)."""
    threshold = scale_max - boxes + 1
    return sum(1 for value in values if value >= threshold)


@dataclass(frozen=True)
class ItemSummary:
    """What a group of respondents said about one survey item."""

    importance: MeanEstimate | None
    satisfaction: MeanEstimate | None
    demand_volume: int | None


def item_summary(
    *,
    importance: Sequence[int],
    satisfaction: Sequence[int],
    scale_min: int,
    scale_max: int,
) -> ItemSummary:
    """Summarise raw scores (answers only, no blanks) of one group: normalised means, CIs and top-2-box volume."""

    def scaled(values: Sequence[int]) -> list[float]:
        return [normalise(value, scale_min=scale_min, scale_max=scale_max) for value in values]

    return ItemSummary(
        importance=mean_estimate(scaled(importance)),
        satisfaction=mean_estimate(scaled(satisfaction)),
        demand_volume=top_box_count(importance, scale_max=scale_max) if importance else None,
    )
