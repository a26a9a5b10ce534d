"""The report, comparison and IPA answers about a run, in every format the API serves: rows from the selectors,
figures from `matching.reports`, captions and charts from `matching.charts`, printable documents from
`matching.report_document`. The views only choose the format."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.utils import formats
from django.utils.translation import get_language, gettext, gettext_lazy

from api.exceptions import ErrorItem, InvalidInput
from api.spreadsheets import SpreadsheetTable
from matching import charts, maps, report_document, report_sheets, reports, selectors
from matching import labels as texts
from matching.models import MatchingRun
from offers.territory_paths import path_code


@dataclasses.dataclass(frozen=True)
class RunAnswer:
    """One answer about a run: its JSON body, and what its CSV file, its chart (if any) and its printable HTML
    document are made of."""

    body: dict[str, Any]
    filename_stem: str
    csv_header: Sequence[str]
    csv_rows: Callable[[], Iterable[list]]  # Called only for a CSV: some need labels the JSON does not.
    chart: Callable[[str], bytes] | None = None  # Image format ("png", "svg") -> bytes.
    sheets: Callable[[], list[SpreadsheetTable]] | None = None  # The XLSX workbook's tables.
    html: Callable[[], str] | None = None  # The self-contained document (matching.report_document).


def _run_caption(run: MatchingRun) -> str:
    created = formats.date_format(run.created_at, "SHORT_DATE_FORMAT")
    if run.scope_territory_id:
        return gettext("run of %(date)s, %(territory)s") % {"date": created, "territory": run.scope_territory.name}
    return gettext("run of %(date)s") % {"date": created}


def _dimension_title(dimension: str, territory_level: str) -> str:
    title = texts.dimension_label(dimension)
    if dimension == "territory":
        title += f" ({texts.territory_level_label(territory_level).lower()})"
    return title


def report_build(*, run_id: Any, user: Any, group_by: Sequence[str], territory_level: str, top: int) -> RunAnswer:
    """The gap report of a succeeded run, grouped by one or two dimensions; its chart is a heatmap (bars for one)."""
    run = selectors.report_run_get(run_id=run_id, user=user)
    rows = list(selectors.report_rows(run=run, user=user))
    labels = selectors.report_labels(rows=rows, scope=run.scope_territory)
    report = reports.report_aggregate(rows, group_by=group_by, labels=labels, territory_level=territory_level, top=top)
    report = reports.report_per_inhabitant(
        report,
        offers=selectors.report_offer_rows(
            codes=_report_territory_codes(report),
            scope=run.scope_territory,
            themes="theme" in group_by,
            audiences="audience" in group_by,
        ),
        labels=labels,
        scope_code=run.scope_territory.qualified_code if run.scope_territory_id else "",
    )

    def chart(fmt: str, *, printable: bool = False) -> bytes:
        row_labels, col_labels, values = reports.report_matrix(report)
        titles = [_dimension_title(dimension, territory_level) for dimension in group_by]
        if printable:  # The document's chart: the largest crossings that fit an A4 page.
            row_labels, col_labels, values, titles = report_document.printable_matrix(
                row_labels, col_labels, values, titles
            )
        if len(titles) == 1:
            title = gettext("Weighted gap by %(dimension)s (%(run)s)") % {
                "dimension": titles[0].lower(),
                "run": _run_caption(run),
            }
            return charts.gap_bars(
                title=title,
                row_title=titles[0],
                row_labels=row_labels,
                values=[row[0] for row in values],
                legend=texts.gap_legend(),
                fmt=fmt,
            )
        title = gettext("Weighted gap by %(dimension)s and %(other)s (%(run)s)") % {
            "dimension": titles[0].lower(),
            "other": titles[1].lower(),
            "run": _run_caption(run),
        }
        return charts.gap_heatmap(
            title=title,
            row_title=titles[0],
            col_title=titles[1],
            row_labels=row_labels,
            col_labels=col_labels,
            values=values,
            legend=texts.gap_legend(),
            empty_note=gettext("Grey cell “–”: no need in this combination."),
            fmt=fmt,
        )

    def html() -> str:
        rule, given = _run_ipa_rule(run)
        ipa = reports.ipa_table(rows, rule=rule, given=given, texts=texts.report_texts())
        return report_document.report_html(
            run=run,
            rows=rows,
            report=report,
            labels=labels,
            chart_svg=chart("svg", printable=True),
            ipa_svg=_ipa_chart(run, ipa, "svg"),
            ipa=ipa,
        )

    return RunAnswer(
        body={"run": run.id, "catalogue_states": run.catalogue_states, **report},
        filename_stem=f"ecarts-{'-'.join(group_by)}-{run.id}",
        csv_header=reports.REPORT_CSV_HEADER,
        csv_rows=lambda: reports.report_csv_rows(report),
        chart=chart,
        sheets=lambda: report_sheets.report_tables(report),
        html=html,
    )


def _report_territory_codes(report: dict[str, Any]) -> set[str]:
    """The territories whose offers the per-inhabitant figures count ('' = the run's scope: the totals, and the
    groups without a territory dimension or of needs without a territory)."""
    codes = {""}
    for group in report["groups"]:
        codes.update(value["code"] for value in group["dimensions"] if value["dimension"] == "territory")
    return codes


def _run_ipa_rule(run: MatchingRun) -> tuple[str, tuple[float, float] | None]:
    """The crosshair rule the run was launched with (its IPA quadrants), for the report document's IPA chart."""
    parameters = run.parameters or {}
    rule = parameters.get("ipa_rule") or "mean"
    if rule == "given":
        return rule, (parameters["ipa_importance_cross"], parameters["ipa_satisfaction_cross"])
    return rule, None


def comparison_build(
    *,
    run_id: Any,
    user: Any,
    baseline: Any,
    group_by: Sequence[str],
    territory_level: str,
    gap_floor: float,
    gap_delta: float,
    status: Sequence[str] | None = None,
) -> RunAnswer:
    """How the gaps of a succeeded run evolved since a `baseline` run (another succeeded run); `status` restricts
    the per-need list."""
    run = selectors.report_run_get(run_id=run_id, user=user)
    if baseline == run.id:
        raise InvalidInput(
            [ErrorItem(field="baseline", code="same_run", message=gettext("The baseline must be another run."))]
        )
    baseline_run = selectors.report_run_get(run_id=baseline, user=user, field="baseline")
    rows, baseline_rows = selectors.compare_rows(run=run, baseline=baseline_run, user=user)
    labels = selectors.report_labels(rows=rows + baseline_rows, scope=run.scope_territory)
    comparison = reports.compare_runs(
        rows,
        baseline_rows,
        labels=labels,
        group_by=group_by,
        territory_level=territory_level,
        gap_floor=gap_floor,
        gap_delta=gap_delta,
        statuses=status,
        scope=_run_scope(run),
        baseline_scope=_run_scope(baseline_run),
    )
    scopes = {"scope": _scope_description(run), "baseline_scope": _scope_description(baseline_run)}
    return RunAnswer(
        body={"run": run.id, "baseline": baseline_run.id, **scopes, **comparison},
        filename_stem=f"comparaison-{run.id}-{baseline_run.id}",
        csv_header=reports.COMPARE_CSV_HEADER,
        csv_rows=lambda: reports.compare_csv_rows(comparison, labels),
        sheets=lambda: report_sheets.comparison_tables(comparison, labels),
        html=lambda: report_document.comparison_html(
            run=run,
            baseline=baseline_run,
            rows=rows,
            baseline_rows=baseline_rows,
            comparison=comparison,
            labels=labels,
        ),
    )


def _run_scope(run: MatchingRun) -> dict[str, Any]:
    """What `reports.scope_contains` reads of a run's scope."""
    territory = run.scope_territory
    return {
        "territory_path": territory.path if territory else None,
        "territory_paths": territory.paths if territory else [],
        "audiences": sorted(run.scope_audiences),
        "domains": sorted(run.scope_domains),
    }


def _scope_description(run: MatchingRun) -> dict[str, Any]:
    territory = run.scope_territory
    return {
        "territory": territory.code if territory else None,
        "territory_label": territory.name if territory else None,
        "audiences": sorted(run.scope_audiences),
        "domains": sorted(run.scope_domains),
    }


def ipa_build(
    *,
    run_id: Any,
    user: Any,
    crosshair: str,
    importance_cross: float | None = None,
    satisfaction_cross: float | None = None,
) -> RunAnswer:
    """The Importance-Performance Analysis of a succeeded run's needs, crosshairs placed by the `crosshair` rule
    (`importance_cross` and `satisfaction_cross` with `given`); its chart is the classic IPA grid."""
    run = selectors.report_run_get(run_id=run_id, user=user)
    rows = list(selectors.report_rows(run=run, user=user))
    given = (importance_cross, satisfaction_cross) if crosshair == "given" else None
    table = reports.ipa_table(rows, rule=crosshair, given=given, texts=texts.report_texts())

    def html() -> str:
        return report_document.ipa_html(
            run=run,
            rows=rows,
            table=table,
            labels=selectors.report_labels(rows=[]),
            ipa_svg=_ipa_chart(run, table, "svg"),
        )

    return RunAnswer(
        body={"run": run.id, **table},
        filename_stem=f"ipa-{run.id}",
        csv_header=reports.IPA_CSV_HEADER,
        # The IPA table carries codes only; the CSV spells out the domain and audience labels.
        csv_rows=lambda: reports.ipa_csv_rows(table, selectors.report_labels(rows=[])),
        chart=lambda fmt: _ipa_chart(run, table, fmt),
        html=html,
        sheets=lambda: report_sheets.ipa_tables(table, selectors.report_labels(rows=[])),
    )


def _ipa_chart(run: MatchingRun, table: dict[str, Any], fmt: str) -> bytes:
    """The classic IPA grid of an IPA table (`reports.ipa_table`), in the active language."""
    cross = table["crosshair"]
    classified = [need for need in table["needs"] if need["quadrant"]]
    if cross["importance"] is None:
        caption = gettext("No need has a measured satisfaction: no quadrants.")
    else:
        caption = gettext("Crosshairs %(rule)s: importance %(importance).2f, satisfaction %(satisfaction).2f") % {
            **cross,
            "rule": texts.crosshair_label(cross["rule"]),
        }
    nan = float("nan")
    return charts.ipa_scatter(
        title=gettext("Importance-performance analysis of the needs (%(run)s)") % {"run": _run_caption(run)},
        importance=[need["importance"] for need in classified],
        satisfaction=[need["satisfaction"] for need in classified],
        quadrants=[need["quadrant"] for need in classified],
        importance_cross=nan if cross["importance"] is None else cross["importance"],
        satisfaction_cross=nan if cross["satisfaction"] is None else cross["satisfaction"],
        quadrant_labels=texts.ipa_quadrant_labels(),
        crosshair_label=caption,
        satisfaction_axis=gettext("Satisfaction (perceived performance, 0 to 1)"),
        importance_axis=gettext("Importance (0 to 1)"),
        diagonal_label=gettext("Diagonal importance = satisfaction"),
        fmt=fmt,
    )


MAP_LEVELS = ("epci", "commune")
_MAP_LEVEL_TITLES = {"epci": gettext_lazy("intercommunality"), "commune": gettext_lazy("commune")}


def _level_totals(
    rows: list[dict[str, Any]], labels: Any, level: str
) -> tuple[dict[str, float], dict[str, str], dict[str, float], dict[str, str]]:
    """A run's total gap by territory of `level` and by wider territory (qualified code), with their labels."""
    report = reports.report_aggregate(rows, group_by=["territory"], labels=labels, territory_level=level, top=0)
    values: dict[str, float] = {}
    value_labels: dict[str, str] = {}
    wider: dict[str, float] = {}
    wider_labels: dict[str, str] = {}
    for group in report["groups"]:
        (dimension,) = group["dimensions"]
        kind, _, code = dimension["code"].partition(":")
        if kind == level:
            values[code], value_labels[code] = group["gap_total"], dimension["label"]
        else:
            wider[dimension["code"]], wider_labels[dimension["code"]] = group["gap_total"], dimension["label"]
    return values, value_labels, wider, wider_labels


def _changes(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    """`after − before` by territory, a territory without needs in one run counting 0 there."""
    return {code: after.get(code, 0.0) - before.get(code, 0.0) for code in dict.fromkeys([*after, *before])}


def map_build(*, run_id: Any, level: str, user, baseline: Any = None) -> RunAnswer:
    """The map of a succeeded run's total gap by territory at `level` (`epci` or `commune`): communes whose contour
    ships with Ancrage filled by their own gap (commune level) or their EPCI's (EPCI level, EPCI borders thicker);
    other territories of the level with needs as circles at their centroid, or listed as not placed; needs of a
    wider area than the level (a whole département) listed under the map.

    With a `baseline` run (validated as `comparison_build` does): the change of each territory's total gap, this
    run's minus the baseline's (a territory without needs in one run counts 0 there), on a diverging scale."""
    run = selectors.report_run_get(run_id=run_id, user=user)
    baseline_run = None
    if baseline is not None:
        if baseline == run.id:
            raise InvalidInput(
                [ErrorItem(field="baseline", code="same_run", message="The baseline must be another run.")]
            )
        baseline_run = selectors.report_run_get(run_id=baseline, user=user, field="baseline")
    rows = list(selectors.report_rows(run=run, user=user))
    baseline_rows = list(selectors.report_rows(run=baseline_run, user=user)) if baseline_run else []
    labels = selectors.report_labels(rows=rows + baseline_rows, scope=run.scope_territory)
    after, value_labels, wider_after, wider_labels = _level_totals(rows, labels, level)
    before: dict[str, float] = {}
    wider_before: dict[str, float] = {}
    if baseline_run:
        before, before_labels, wider_before, wider_before_labels = _level_totals(baseline_rows, labels, level)
        value_labels = {**before_labels, **value_labels}
        wider_labels = {**wider_before_labels, **wider_labels}
        values, wider = _changes(after, before), _changes(wider_after, wider_before)
    else:
        values, wider = after, wider_after
    placed = {row["code"]: row for row in selectors.map_territories(kind=level, codes=values, within=None)}

    def chart(fmt: str) -> bytes:
        contours = selectors.commune_contours()
        scope = run.scope_territory
        communes = selectors.map_territories(kind="commune", codes=contours, within=scope)
        areas: list[maps.MapArea] = []
        drawn: set[str] = set()
        for commune in communes:
            unit = commune["code"] if level == "commune" else path_code(commune["path"], "epci")
            drawn.add(unit)
            areas.append(
                maps.MapArea(
                    code=commune["code"],
                    label=commune["name"],
                    value=values.get(unit),
                    polygons=contours[commune["code"]],
                    group=path_code(commune["path"], "epci") or commune["code"],
                )
            )
        for code, value in values.items():
            if code in drawn:
                continue
            territory = placed.get(code)
            centroid = None
            if territory and territory["latitude"] is not None and territory["longitude"] is not None:
                centroid = (territory["longitude"], territory["latitude"])
            areas.append(maps.MapArea(code=code, label=value_labels[code], value=value, centroid=centroid))
        wider_text = ", ".join(f"{wider_labels[code]} ({_number(value)})" for code, value in wider.items())
        extra = [gettext("Needs of a wider area, not on the map: %(areas)s.") % {"areas": wider_text}]
        level_title = _MAP_LEVEL_TITLES[level]
        if baseline_run:
            title = gettext("Change of the weighted gap by %(level)s (%(run)s, against %(baseline)s)") % {
                "level": level_title,
                "run": _run_caption(run),
                "baseline": _run_caption(baseline_run),
            }
            source = gettext(
                "Sources: Ancrage, runs #%(run)s and #%(baseline)s (baseline); contours IGN Admin Express / "
                "Etalab (Licence Ouverte 2.0)."
            ) % {"run": run.id, "baseline": baseline_run.id}
            legend = gettext("Change of the weighted gap (this run minus the baseline; red: grew, blue: shrank)")
            circles = gettext("Change of the gap (circle surface, absolute value)")
        else:
            title = gettext("Weighted gap by %(level)s (%(run)s)") % {"level": level_title, "run": _run_caption(run)}
            source = gettext(
                "Sources: Ancrage, run #%(run)s; contours IGN Admin Express / Etalab (Licence Ouverte 2.0)."
            ) % {"run": run.id}
            legend, circles = texts.gap_legend(), gettext("Gap (circle surface)")
        map_texts = maps.MapTexts(
            title=title,
            legend=legend,
            circles=circles,
            no_need=gettext("No need"),
            not_placed=gettext("Not placed (no contour nor centroid):"),
            source=source,
            scale=gettext("{km} km"),
            north=gettext("N"),
            extra_lines=extra if wider else (),
        )
        return maps.gap_map(
            areas=areas, texts=map_texts, fmt=fmt, decimal_comma=_decimal_comma(), diverging=baseline_run is not None
        )

    def figures(value: float, run_value: float | None, baseline_value: float | None) -> dict[str, Any]:
        if baseline_run is None:
            return {"gap_total": value, "before": None, "after": None, "change": None}
        return {"gap_total": run_value or 0.0, "before": baseline_value, "after": run_value, "change": value}

    # The data behind the map, for a portal drawing its own (format=json).
    order = (lambda item: (-abs(item[1]), item[0])) if baseline_run else (lambda item: (-item[1], item[0]))
    body = {
        "run": str(run.id),
        "baseline": str(baseline_run.id) if baseline_run else None,
        "level": level,
        "areas": [
            {
                "code": code,
                "label": value_labels[code],
                **figures(value, after.get(code), before.get(code)),
                "latitude": placed.get(code, {}).get("latitude"),
                "longitude": placed.get(code, {}).get("longitude"),
            }
            for code, value in sorted(values.items(), key=order)
        ],
        "wider_areas": [
            {
                "code": code,
                "label": wider_labels[code],
                **figures(value, wider_after.get(code), wider_before.get(code)),
            }
            for code, value in wider.items()
        ],
    }
    stem = f"carte-{level}-{run.id}" + (f"-{baseline_run.id}" if baseline_run else "")
    return RunAnswer(body=body, filename_stem=stem, csv_header=(), csv_rows=lambda: (), chart=chart)


def _decimal_comma() -> bool:
    return (get_language() or "fr").startswith("fr")


def _number(value: float) -> str:
    text = f"{value:.2f}"
    return text.replace(".", ",") if _decimal_comma() else text
