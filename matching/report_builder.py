"""The report, comparison and IPA answers about a run, in every format the API serves: rows from the selectors,
figures from `matching.reports`, captions and charts from `matching.charts`, printable documents from
`matching.report_document`. The views only choose the format."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from api.exceptions import ErrorItem, InvalidInput
from matching import charts, report_document, reports, selectors
from matching.models import MatchingRun

CROSSHAIR_LABELS = {
    "mean": "à la moyenne",
    "median": "à la médiane",
    "midpoint": "au milieu de l'échelle",
    "given": "aux valeurs fixées",
}


@dataclasses.dataclass(frozen=True)
class RunAnswer:
    """One answer about a run: its JSON body, and what its CSV file, its chart (if any) and its printable HTML
    document are made of."""

    body: dict[str, Any]
    filename_stem: str
    csv_header: Sequence[str]
    csv_rows: Callable[[], Iterable[list]]  # Called only for a CSV: some need labels the JSON does not.
    chart: Callable[[str], bytes] | None = None  # Image format ("png", "svg") -> bytes.
    html: Callable[[], str] | None = None  # The self-contained document (matching.report_document).


def _run_caption(run: MatchingRun) -> str:
    caption = f"exécution du {run.created_at:%d/%m/%Y}"
    if run.scope_territory_id:
        caption += f", {run.scope_territory.name}"
    return caption


def _dimension_title(dimension: str, territory_level: str) -> str:
    title = reports.DIMENSION_LABELS[dimension]
    if dimension == "territory":
        title += f" ({reports.TERRITORY_LEVEL_LABELS[territory_level].lower()})"
    return title


def report_build(*, run_id: Any, group_by: Sequence[str], territory_level: str, top: int) -> RunAnswer:
    """The gap report of a succeeded run, grouped by one or two dimensions; its chart is a heatmap (bars for one)."""
    run = selectors.report_run_get(run_id=run_id)
    rows = list(selectors.report_rows(run=run))
    labels = selectors.report_labels(rows=rows)
    report = reports.report_aggregate(rows, group_by=group_by, labels=labels, territory_level=territory_level, top=top)

    def chart(fmt: str, *, printable: bool = False) -> bytes:
        row_labels, col_labels, values = reports.report_matrix(report)
        titles = [_dimension_title(dimension, territory_level) for dimension in group_by]
        if printable:  # The document's chart: the largest crossings that fit an A4 page.
            row_labels, col_labels, values, titles = report_document.printable_matrix(
                row_labels, col_labels, values, titles
            )
        title = f"Écart pondéré par {' et '.join(t.lower() for t in titles)} ({_run_caption(run)})"
        if len(titles) == 1:
            return charts.gap_bars(
                title=title,
                row_title=titles[0],
                row_labels=row_labels,
                values=[row[0] for row in values],
                legend=reports.GAP_LEGEND,
                fmt=fmt,
            )
        return charts.gap_heatmap(
            title=title,
            row_title=titles[0],
            col_title=titles[1],
            row_labels=row_labels,
            col_labels=col_labels,
            values=values,
            legend=reports.GAP_LEGEND,
            fmt=fmt,
        )

    def html() -> str:
        rule, given = _run_ipa_rule(run)
        ipa = reports.ipa_table(rows, rule=rule, given=given)
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
        body={"run": run.id, **report},
        filename_stem=f"ecarts-{'-'.join(group_by)}-{run.id}",
        csv_header=reports.REPORT_CSV_HEADER,
        csv_rows=lambda: reports.report_csv_rows(report),
        chart=chart,
        html=html,
    )


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
    baseline: Any,
    group_by: Sequence[str],
    territory_level: str,
    gap_floor: float,
    gap_delta: float,
    status: Sequence[str] | None = None,
) -> RunAnswer:
    """How the gaps of a succeeded run evolved since a `baseline` run (another succeeded run); `status` restricts
    the per-need list."""
    run = selectors.report_run_get(run_id=run_id)
    if baseline == run.id:
        raise InvalidInput([ErrorItem(field="baseline", code="same_run", message="The baseline must be another run.")])
    baseline_run = selectors.report_run_get(run_id=baseline, field="baseline")
    rows, baseline_rows = selectors.compare_rows(run=run, baseline=baseline_run)
    labels = selectors.report_labels(rows=rows + baseline_rows)
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
    *, run_id: Any, crosshair: str, importance_cross: float | None = None, satisfaction_cross: float | None = None
) -> RunAnswer:
    """The Importance-Performance Analysis of a succeeded run's needs, crosshairs placed by the `crosshair` rule
    (`importance_cross` and `satisfaction_cross` with `given`); its chart is the classic IPA grid."""
    run = selectors.report_run_get(run_id=run_id)
    rows = list(selectors.report_rows(run=run))
    given = (importance_cross, satisfaction_cross) if crosshair == "given" else None
    table = reports.ipa_table(rows, rule=crosshair, given=given)

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
    )


def _ipa_chart(run: MatchingRun, table: dict[str, Any], fmt: str) -> bytes:
    """The classic IPA grid of an IPA table (`reports.ipa_table`)."""
    cross = table["crosshair"]
    classified = [need for need in table["needs"] if need["quadrant"]]
    if cross["importance"] is None:
        caption = "Aucun besoin n'a de satisfaction mesurée : pas de quadrants."
    else:
        caption = (
            f"Croisement {CROSSHAIR_LABELS[cross['rule']]} : importance {cross['importance']:.2f}, "
            f"satisfaction {cross['satisfaction']:.2f}"
        )
    nan = float("nan")
    return charts.ipa_scatter(
        title=f"Analyse importance-performance des besoins ({_run_caption(run)})",
        importance=[need["importance"] for need in classified],
        satisfaction=[need["satisfaction"] for need in classified],
        quadrants=[need["quadrant"] for need in classified],
        importance_cross=nan if cross["importance"] is None else cross["importance"],
        satisfaction_cross=nan if cross["satisfaction"] is None else cross["satisfaction"],
        quadrant_labels=reports.IPA_QUADRANT_LABELS,
        crosshair_label=caption,
        fmt=fmt,
    )
