"""How two waves of one survey compare: per item code x audience (and for every respondent together), importance
and satisfaction of both waves and their difference with its interval and significance; items added and dropped.

Reads through `selectors`, figures from `statistics` (pure): the same weighted means as the needs of each wave.
"""

from collections.abc import Iterable

import numpy as np
from django.db.models import QuerySet
from django.utils.translation import gettext

from api.exceptions import ErrorItem, InvalidInput
from audiences import selectors, statistics
from audiences.models import Survey, SurveyItem

MEASURES = ("importance", "satisfaction")
# The figures of one measure in the comparison, in the JSON object and (prefixed by the measure) in the CSV.
MEASURE_FIELDS = (
    "before_mean",
    "before_ci_low",
    "before_ci_high",
    "before_response_count",
    "before_effective_response_count",
    "after_mean",
    "after_ci_low",
    "after_ci_high",
    "after_response_count",
    "after_effective_response_count",
    "difference",
    "difference_ci_low",
    "difference_ci_high",
    "p_value",
    "significant",
)
CSV_HEADER = ["item", "statement", "audience", *(f"{m}_{field}" for m in MEASURES for field in MEASURE_FIELDS)]

Figures = dict[tuple[str, str | None], dict[str, statistics.MeanEstimate | None]]


def survey_wave_baseline(
    *, survey: Survey, baseline_id: int | None, visible: QuerySet[Survey] | None = None
) -> Survey:
    """The wave to compare `survey` with: `baseline_id` when it is an earlier wave of the same chain, else the
    previous wave; a 400 naming `with` otherwise. With `visible` (the caller's surveys), only those count."""
    earlier = selectors.survey_earlier_waves(survey=survey)
    if visible is not None and earlier:
        shown = set(visible.filter(pk__in=[wave.pk for wave in earlier]).values_list("pk", flat=True))
        earlier = [wave for wave in earlier if wave.pk in shown]
    if baseline_id is None:
        if not earlier:
            raise InvalidInput(
                [
                    ErrorItem(
                        field="with", code="no_previous_wave", message=gettext("This survey has no previous wave.")
                    )
                ]
            )
        return earlier[0]
    for wave in earlier:
        if wave.pk == baseline_id:
            return wave
    known = ", ".join(str(wave.pk) for wave in earlier) or gettext("none")
    raise InvalidInput(
        [
            ErrorItem(
                field="with",
                code="not_an_earlier_wave",
                message=gettext(
                    "Survey %(baseline)s is not an earlier wave of survey %(survey)s (earlier waves: %(known)s)."
                )
                % {"baseline": baseline_id, "survey": survey.pk, "known": known},
            )
        ]
    )


def _wave_figures(survey: Survey) -> tuple[dict[str, SurveyItem], Figures]:
    """A wave's items by code, and the weighted estimates of each measure per (item code, audience code), with
    audience None for every respondent together."""
    items = {item.pk: item for item in survey.items.all()}
    columns = selectors.survey_response_columns(survey=survey)
    columns = {name: array[columns["audience_id"] >= 0] for name, array in columns.items()}
    count = len(columns["item_id"])
    audience_ids, audience_positions = np.unique(columns["audience_id"], return_inverse=True)
    item_ids, item_positions = np.unique(columns["item_id"], return_inverse=True)
    slots = len(audience_ids) + 1  # the last slot is every audience together
    answers = np.concatenate([np.arange(count), np.arange(count)])
    audience_slots = np.concatenate([audience_positions.reshape(-1), np.full(count, slots - 1)])
    keys, groups = np.unique(item_positions.reshape(-1)[answers] * slots + audience_slots, return_inverse=True)
    estimates = {
        measure: statistics.measure_estimates(
            item_ids=columns["item_id"][answers],
            scores=columns[measure][answers],
            weights=columns["weight"][answers],
            groups=groups.reshape(-1),
            group_count=len(keys),
            scales={item_id: item.scale(measure) for item_id, item in items.items()},
        )
        for measure in MEASURES
    }
    codes = selectors.audience_codes(ids=audience_ids.tolist())
    figures: Figures = {}
    for group, key in enumerate(keys.tolist()):
        slot = key % slots
        audience = None if slot == slots - 1 else codes[int(audience_ids[slot])]
        item = items[int(item_ids[key // slots])]
        figures[(item.code, audience)] = {
            measure: statistics.estimate_at(estimates[measure], group) for measure in MEASURES
        }
    return {item.code: item for item in items.values()}, figures


def _measure_comparison(before: statistics.MeanEstimate | None, after: statistics.MeanEstimate | None) -> dict | None:
    if before is None and after is None:
        return None
    change = statistics.mean_difference(before, after) if before and after else None
    figures = {}
    for side, estimate in (("before", before), ("after", after)):
        figures |= {
            f"{side}_mean": estimate.mean if estimate else None,
            f"{side}_ci_low": estimate.ci_low if estimate else None,
            f"{side}_ci_high": estimate.ci_high if estimate else None,
            f"{side}_response_count": estimate.count if estimate else 0,
            f"{side}_effective_response_count": estimate.effective_count if estimate else None,
        }
    return {
        **figures,
        "difference": change.difference if change else None,
        "difference_ci_low": change.ci_low if change else None,
        "difference_ci_high": change.ci_high if change else None,
        "p_value": change.p_value if change else None,
        "significant": change.significant if change else None,
    }


def _wave(survey: Survey) -> dict:
    return {"id": survey.pk, "title": survey.title, "reference": survey.reference, "date": survey.date.isoformat()}


def _items(items: Iterable[SurveyItem]) -> list[dict]:
    return [{"code": item.code, "statement": item.statement} for item in sorted(items, key=lambda item: item.code)]


def survey_waves_compare(*, survey: Survey, baseline: Survey) -> dict:
    """The comparison of `survey` with an earlier wave `baseline`: rows for the item codes both waves ask, per
    audience and for every respondent together (`audience` null), and the items added and dropped."""
    before_items, before = _wave_figures(baseline)
    after_items, after = _wave_figures(survey)
    rows = []
    keys = sorted(set(before) | set(after), key=lambda key: (key[0], key[1] is not None, key[1] or ""))
    for key in keys:
        code, audience = key
        if code not in before_items or code not in after_items:
            continue
        rows.append(
            {
                "item": code,
                "statement": after_items[code].statement,
                "audience": audience,
                **{
                    measure: _measure_comparison(before.get(key, {}).get(measure), after.get(key, {}).get(measure))
                    for measure in MEASURES
                },
            }
        )
    return {
        "survey": _wave(survey),
        "baseline": _wave(baseline),
        "items_added": _items(item for code, item in after_items.items() if code not in before_items),
        "items_dropped": _items(item for code, item in before_items.items() if code not in after_items),
        "rows": rows,
    }


def comparison_csv_rows(comparison: dict) -> Iterable[list]:
    """One CSV line per row of `survey_waves_compare`, in CSV_HEADER order (a measure not asked: empty cells)."""
    for row in comparison["rows"]:
        cells = [row["item"], row["statement"], row["audience"] or ""]
        for measure in MEASURES:
            figures = row[measure] or {}
            cells.extend(figures.get(field) for field in MEASURE_FIELDS)
        yield cells
