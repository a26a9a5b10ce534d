"""The needs export and the survey wave comparison as XLSX sheets: each column's type, meaning and unit (headers
are the CSV's: `services.NEED_EXPORT_HEADER`, `wave_comparison.CSV_HEADER`)."""

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from api.spreadsheets import BOOLEAN, DATE, DATETIME, DECIMAL, INTEGER, SpreadsheetColumn

UNIT_SCALE = _("0 to 1")

NEED_SHEET_TITLE = _("Needs")

NEED_SHEET_COLUMNS = [
    SpreadsheetColumn("external_id", _("Stable identifier of the need in its source")),
    SpreadsheetColumn("audience", _("Audience code")),
    SpreadsheetColumn("domain", _("Domain code (taxonomy)")),
    SpreadsheetColumn("themes", _("Theme codes, separated by |")),
    SpreadsheetColumn("statement", _("The need, in the audience's words"), width=50),
    SpreadsheetColumn("territory", _("Qualified code of the territory concerned (empty: everywhere)")),
    SpreadsheetColumn("stage", _("Journey stage: attract, welcome or anchor")),
    SpreadsheetColumn("importance", _("Importance of the need"), UNIT_SCALE, DECIMAL, decimals=4),
    SpreadsheetColumn("satisfaction", _("Satisfaction with what exists"), UNIT_SCALE, DECIMAL, decimals=4),
    SpreadsheetColumn("demand_volume", _("How many people express the need"), _("people"), INTEGER),
    SpreadsheetColumn("source", _("Kind of source (survey, study...)")),
    SpreadsheetColumn("source_reference", _("Reference of the source")),
    SpreadsheetColumn("source_date", _("Date of the source"), kind=DATE),
    SpreadsheetColumn("id", _("Identifier of the need in Ancrage"), kind=INTEGER),
    SpreadsheetColumn("response_count", _("Survey answers behind the importance"), _("answers"), INTEGER),
    SpreadsheetColumn(
        "weighted_response_count", _("Sum of the respondents' weights behind the importance"), "", DECIMAL
    ),
    SpreadsheetColumn(
        "effective_response_count", _("Effective sample size of the importance (Kish)"), _("answers"), DECIMAL
    ),
    SpreadsheetColumn("importance_ci_low", _("Lower bound of the importance's 95% interval"), UNIT_SCALE, DECIMAL, 4),
    SpreadsheetColumn("importance_ci_high", _("Upper bound of the importance's 95% interval"), UNIT_SCALE, DECIMAL, 4),
    SpreadsheetColumn(
        "satisfaction_response_count", _("Survey answers behind the satisfaction"), _("answers"), INTEGER
    ),
    SpreadsheetColumn(
        "satisfaction_effective_response_count",
        _("Effective sample size of the satisfaction (Kish)"),
        _("answers"),
        DECIMAL,
    ),
    SpreadsheetColumn(
        "satisfaction_ci_low", _("Lower bound of the satisfaction's 95% interval"), UNIT_SCALE, DECIMAL, 4
    ),
    SpreadsheetColumn(
        "satisfaction_ci_high", _("Upper bound of the satisfaction's 95% interval"), UNIT_SCALE, DECIMAL, 4
    ),
    SpreadsheetColumn("updated_at", _("Last change"), _("date and time (Paris)"), DATETIME),
]

WAVE_COMPARISON_SHEET_TITLE = _("Wave comparison")

_MEASURE_LABELS = {"importance": _("importance"), "satisfaction": _("satisfaction")}
_MEASURE_FIELD_COLUMNS = {
    "before_mean": (_("Weighted mean of the {measure} in the earlier wave"), UNIT_SCALE, DECIMAL, 4),
    "before_ci_low": (_("Lower bound of its 95% interval (earlier wave)"), UNIT_SCALE, DECIMAL, 4),
    "before_ci_high": (_("Upper bound of its 95% interval (earlier wave)"), UNIT_SCALE, DECIMAL, 4),
    "before_response_count": (_("Answers about the {measure} in the earlier wave"), _("answers"), INTEGER, 0),
    "before_effective_response_count": (_("Effective sample size (Kish), earlier wave"), _("answers"), DECIMAL, 2),
    "after_mean": (_("Weighted mean of the {measure} in this wave"), UNIT_SCALE, DECIMAL, 4),
    "after_ci_low": (_("Lower bound of its 95% interval (this wave)"), UNIT_SCALE, DECIMAL, 4),
    "after_ci_high": (_("Upper bound of its 95% interval (this wave)"), UNIT_SCALE, DECIMAL, 4),
    "after_response_count": (_("Answers about the {measure} in this wave"), _("answers"), INTEGER, 0),
    "after_effective_response_count": (_("Effective sample size (Kish), this wave"), _("answers"), DECIMAL, 2),
    "difference": (_("Change of the {measure}: this wave minus the earlier one"), UNIT_SCALE, DECIMAL, 4),
    "difference_ci_low": (_("Lower bound of the change's 95% interval"), UNIT_SCALE, DECIMAL, 4),
    "difference_ci_high": (_("Upper bound of the change's 95% interval"), UNIT_SCALE, DECIMAL, 4),
    "p_value": (_("Welch's two-sided p-value of the change"), "", DECIMAL, 4),
    "significant": (_("Whether the change is significant (p < 0.05)"), "", BOOLEAN, 0),
}


def wave_comparison_sheet_columns(measures, measure_fields) -> list[SpreadsheetColumn]:
    """The columns of `wave_comparison.CSV_HEADER`: item, statement, audience, then each measure's figures."""
    columns = [
        SpreadsheetColumn("item", _("Code of the survey item")),
        SpreadsheetColumn("statement", _("Statement of the item"), width=50),
        SpreadsheetColumn("audience", _("Audience code (empty: every respondent together)")),
    ]
    for measure in measures:
        for field in measure_fields:
            description, unit, kind, decimals = _MEASURE_FIELD_COLUMNS[field]
            columns.append(
                SpreadsheetColumn(
                    f"{measure}_{field}",
                    format_lazy(description, measure=_MEASURE_LABELS[measure]),
                    unit,
                    kind,
                    decimals=decimals,
                )
            )
    return columns
