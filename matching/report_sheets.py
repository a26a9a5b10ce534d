"""The report, comparison and IPA answers as XLSX workbooks (`format=xlsx`): one sheet per table, typed cells.

The per-group and per-need sheets carry the CSV's French headers (`matching.reports` *_CSV_HEADER) and its cells;
`COLUMN_SPECS` gives each header its meaning, unit and cell type. The report's top gaps, the recommendation counts,
the comparison's totals and the IPA quadrants, joined in one CSV cell or absent from the CSV, get their own sheets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from django.utils.translation import gettext_lazy as _

from api.spreadsheets import DECIMAL, INTEGER, PERCENT, TEXT, SpreadsheetColumn, SpreadsheetTable
from matching import reports
from matching.reasons import RECOMMENDATION_LABELS, RECOMMENDATIONS

UNIT_SCALE = _("0 to 1")
WEIGHTED_GAP = _("weighted gap (importance × (1 − coverage))")

# CSV header -> (meaning, unit, kind, decimals shown).
COLUMN_SPECS: dict[str, tuple] = {
    "Dimension 1": (_("First grouping dimension"), "", TEXT, 0),
    "Code 1": (_("Code of the group in the first dimension"), "", TEXT, 0),
    "Libellé 1": (_("Label of the group in the first dimension"), "", TEXT, 0),
    "Dimension 2": (_("Second grouping dimension (empty with one dimension)"), "", TEXT, 0),
    "Code 2": (_("Code of the group in the second dimension"), "", TEXT, 0),
    "Libellé 2": (_("Label of the group in the second dimension"), "", TEXT, 0),
    "Besoins": (_("Number of needs"), _("needs"), INTEGER, 0),
    "Importance cumulée": (_("Sum of the needs' importance"), _("sum of 0-1 scores"), DECIMAL, 2),
    "Volume de demande": (_("Sum of the demand volumes, where known"), _("people"), INTEGER, 0),
    "Besoins avec volume": (_("Needs whose demand volume is known"), _("needs"), INTEGER, 0),
    "Couverture moyenne": (_("Mean share of the need covered by the offers"), _("share"), PERCENT, 1),
    "Écart total": (_("Sum of the needs' weighted gaps"), WEIGHTED_GAP, DECIMAL, 2),
    "Écart moyen": (_("Mean weighted gap of a need"), WEIGHTED_GAP, DECIMAL, 3),
    "Satisfaction moyenne": (_("Mean satisfaction of the needs that measured it"), UNIT_SCALE, DECIMAL, 3),
    **{
        f"Reco. {label}": (_("Needs whose recommendation is this one"), _("needs"), INTEGER, 0)
        for label in RECOMMENDATION_LABELS.values()
    },
    "Population": (_("Population of the group's territory, where known"), _("inhabitants"), INTEGER, 0),
    "Offres situées": (_("Published offers located in the group's territory"), _("offers"), INTEGER, 0),
    "Volume de demande pour 1 000 habitants": (
        _("Demand volume per 1,000 inhabitants"),
        _("people per 1,000 inhabitants"),
        DECIMAL,
        1,
    ),
    "Écart pour 1 000 habitants": (_("Total weighted gap per 1,000 inhabitants"), WEIGHTED_GAP, DECIMAL, 3),
    "Offres pour 10 000 habitants": (
        _("Published offers per 10,000 inhabitants"),
        _("offers per 10,000 inhabitants"),
        DECIMAL,
        1,
    ),
    "Identifiant du besoin": (_("Identifier of the need in Ancrage"), "", INTEGER, 0),
    "Besoin": (_("The need, in the audience's words"), "", TEXT, 0),
    "Domaine": (_("Domain of the need"), "", TEXT, 0),
    "Public cible": (_("Audience of the need"), "", TEXT, 0),
    "Statut": (_("How the need's gap evolved (code)"), "", TEXT, 0),
    "Libellé du statut": (_("How the need's gap evolved"), "", TEXT, 0),
    "Écart avant": (_("Weighted gap in the baseline run"), WEIGHTED_GAP, DECIMAL, 3),
    "Écart après": (_("Weighted gap in this run"), WEIGHTED_GAP, DECIMAL, 3),
    "Variation de l'écart": (_("Gap in this run minus gap in the baseline"), WEIGHTED_GAP, DECIMAL, 3),
    "Identifiant du besoin de référence": (_("The matching need of the baseline run"), "", INTEGER, 0),
    "Importance avant": (_("Importance in the baseline run"), UNIT_SCALE, DECIMAL, 3),
    "Importance après": (_("Importance in this run"), UNIT_SCALE, DECIMAL, 3),
    "Satisfaction avant": (_("Satisfaction in the baseline run"), UNIT_SCALE, DECIMAL, 3),
    "Satisfaction après": (_("Satisfaction in this run"), UNIT_SCALE, DECIMAL, 3),
    "Couverture avant": (_("Share of the need covered in the baseline run"), _("share"), PERCENT, 1),
    "Couverture après": (_("Share of the need covered in this run"), _("share"), PERCENT, 1),
    "Recommandation avant": (_("Recommendation in the baseline run"), "", TEXT, 0),
    "Recommandation après": (_("Recommendation in this run"), "", TEXT, 0),
    "Importance": (_("Importance of the need"), UNIT_SCALE, DECIMAL, 3),
    "Satisfaction": (_("Satisfaction with what exists"), UNIT_SCALE, DECIMAL, 3),
    "Quadrant": (_("IPA quadrant (code; empty: not classified)"), "", TEXT, 0),
    "Libellé du quadrant": (_("IPA quadrant"), "", TEXT, 0),
    "Écart importance − satisfaction": (_("Importance minus satisfaction"), UNIT_SCALE, DECIMAL, 3),
}


def _column(header, spec: tuple | None = None) -> SpreadsheetColumn:
    description, unit, kind, decimals = spec or COLUMN_SPECS[header]
    return SpreadsheetColumn(header, description, unit, kind, decimals=decimals)


def columns(headers: Sequence[str]) -> list[SpreadsheetColumn]:
    """The typed columns of CSV `headers` (every header has its entry in COLUMN_SPECS)."""
    return [_column(header) for header in headers]


_GROUP_LABELS = ("Libellé 1", "Libellé 2")
_RECOMMENDATION_COLUMNS = [
    _column(_("Recommendation"), (_("Recommendation (code)"), "", TEXT, 0)),
    _column(_("Label"), (_("Recommendation"), "", TEXT, 0)),
    _column("Besoins"),
    _column(_("Share of the needs"), (_("Share of all the needs"), _("share"), PERCENT, 1)),
]


def _group_labels(group: Mapping) -> list[str]:
    labels = [value["label"] for value in group["dimensions"]]
    return labels + [""] * (2 - len(labels))


def _count_rows(counts: Mapping[str, int], labels: Mapping[str, str]) -> Iterable[list]:
    total = sum(counts.values())
    for code, label in labels.items():
        count = counts.get(code, 0)
        yield [code, label, count, count / total if total else None]


def report_tables(report: Mapping) -> list[SpreadsheetTable]:
    """Groups (the CSV's lines without the joined top gaps), top gaps (one line each), recommendation counts."""
    group_headers = reports.REPORT_CSV_HEADER[:-1]
    group_rows = (row[:-1] for row in reports.report_csv_rows(report))
    top_columns = [
        *columns(_GROUP_LABELS),
        _column(_("Rank"), (_("Rank of the gap in its group, largest first"), "", INTEGER, 0)),
        *columns(["Identifiant du besoin", "Besoin", "Public cible"]),
        _column(_("Territory"), (_("Territory of the need"), "", TEXT, 0)),
        _column(_("Gap"), (_("Weighted gap of the need"), WEIGHTED_GAP, DECIMAL, 3)),
        _column("Couverture après", (_("Share of the need covered"), _("share"), PERCENT, 1)),
        _column("Importance"),
        _column(_("Recommendation"), (_("Recommendation"), "", TEXT, 0)),
    ]
    top_rows = (
        [
            *_group_labels(group),
            rank,
            top["need_id"],
            top["statement"],
            top["audience_label"],
            top["territory_label"],
            top["gap"],
            top["coverage"],
            top["importance"],
            top["recommendation_label"],
        ]
        for group in report["groups"]
        for rank, top in enumerate(group["top_gaps"], start=1)
    )
    recommendation_rows = _count_rows(
        report["totals"]["recommendations"], {code: RECOMMENDATION_LABELS[code] for code in RECOMMENDATIONS}
    )
    return [
        SpreadsheetTable(_("Groups"), columns(group_headers), group_rows),
        SpreadsheetTable(_("Top gaps"), top_columns, top_rows),
        SpreadsheetTable(_("Recommendations"), _RECOMMENDATION_COLUMNS, recommendation_rows),
    ]


def comparison_tables(comparison: Mapping, labels: reports.ReportLabels) -> list[SpreadsheetTable]:
    """Needs (the CSV's lines: opened, closed, grew, shrank...), status counts with the gap totals, and groups."""
    summary = comparison["summary"]
    status_columns = [
        _column("Statut"),
        _column("Libellé du statut"),
        _column("Besoins"),
        _column(_("Share of the needs"), (_("Share of all the needs compared"), _("share"), PERCENT, 1)),
    ]
    totals_columns = [
        _column(_("Total gap before"), (_("Sum of the weighted gaps, baseline run"), WEIGHTED_GAP, DECIMAL, 2)),
        _column(_("Total gap after"), (_("Sum of the weighted gaps, this run"), WEIGHTED_GAP, DECIMAL, 2)),
        _column(_("Change of the total gap"), (_("After minus before"), WEIGHTED_GAP, DECIMAL, 2)),
    ]
    statuses = reports.COMPARE_STATUSES
    group_columns = [
        *columns(_GROUP_LABELS),
        _column("Besoins"),
        _column("Écart avant", (_("Sum of the weighted gaps, baseline run"), WEIGHTED_GAP, DECIMAL, 2)),
        _column("Écart après", (_("Sum of the weighted gaps, this run"), WEIGHTED_GAP, DECIMAL, 2)),
        _column("Variation de l'écart", (_("After minus before"), WEIGHTED_GAP, DECIMAL, 2)),
        *(
            _column(reports.COMPARE_STATUS_LABELS[status], (_("Needs with this status"), _("needs"), INTEGER, 0))
            for status in statuses
        ),
    ]
    group_rows = (
        [
            *_group_labels(group),
            group["need_count"],
            group["gap_before_total"],
            group["gap_after_total"],
            group["gap_delta"],
            *(group["statuses"][status] for status in statuses),
        ]
        for group in comparison["groups"]
    )
    totals = [[summary["gap_before_total"], summary["gap_after_total"], summary["gap_delta"]]]
    return [
        SpreadsheetTable(
            _("Needs"), columns(reports.COMPARE_CSV_HEADER), reports.compare_csv_rows(comparison, labels)
        ),
        SpreadsheetTable(_("Statuses"), status_columns, _count_rows(summary["statuses"], summary["status_labels"])),
        SpreadsheetTable(_("Totals"), totals_columns, totals),
        SpreadsheetTable(_("Groups"), group_columns, group_rows),
    ]


def ipa_tables(table: Mapping, labels: reports.ReportLabels) -> list[SpreadsheetTable]:
    """Needs (the CSV's lines), the count per quadrant, and the crosshairs."""
    quadrant_columns = [
        _column("Quadrant"),
        _column("Libellé du quadrant"),
        _column("Besoins"),
        _column(_("Share of the needs"), (_("Share of all the needs"), _("share"), PERCENT, 1)),
    ]
    counts = {quadrant["code"]: quadrant["need_count"] for quadrant in table["quadrants"]}
    quadrant_labels = {quadrant["code"]: quadrant["label"] for quadrant in table["quadrants"]}
    cross = table["crosshair"]
    cross_columns = [
        _column(_("Rule"), (_("How the crosshairs are placed: mean, median, midpoint or given"), "", TEXT, 0)),
        _column("Importance", (_("Importance where the grid is cut"), UNIT_SCALE, DECIMAL, 3)),
        _column("Satisfaction", (_("Satisfaction where the grid is cut"), UNIT_SCALE, DECIMAL, 3)),
    ]
    return [
        SpreadsheetTable(_("Needs"), columns(reports.IPA_CSV_HEADER), reports.ipa_csv_rows(table, labels)),
        SpreadsheetTable(_("Quadrants"), quadrant_columns, _count_rows(counts, quadrant_labels)),
        SpreadsheetTable(
            _("Crosshairs"), cross_columns, [[cross["rule"], cross["importance"], cross["satisfaction"]]]
        ),
    ]
