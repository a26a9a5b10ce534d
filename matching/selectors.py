"""Reads of the matching app: runs and their stored results, as querysets or `.values()` rows for the pure modules."""

from collections.abc import Iterable

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from api.exceptions import Conflict, ErrorItem, InvalidInput
from matching.models import MatchingRun, NeedResult, RunStatus
from matching.reports import ReportLabels, territory_segments
from offers.models import Audience, Domain, Territory, Theme

# Reports -----------------------------------------------------------------------------------------------------------

REPORT_ROW_FIELDS = (
    "id",
    "need_id",
    "statement",
    "audience_code",
    "domain_code",
    "theme_codes",
    "territory_path",
    "epci_code",
    "commune_code",
    "importance",
    "satisfaction",
    "demand_volume",
    "coverage",
    "gap",
    "recommendation",
)


def report_run_get(*, run_id, field: str | None = None) -> MatchingRun:
    """A run whose results can be reported: 404 when unknown (400 naming `field` for a query parameter), 409 unless
    it succeeded (a running run has partial results that would mislead)."""
    run = MatchingRun.objects.select_related("scope_territory").filter(id=run_id).first()
    if run is None:
        if field:
            raise InvalidInput(
                [ErrorItem(field=field, code="not_found", message=f"No matching run with id {run_id}.")]
            )
        get_object_or_404(MatchingRun, id=run_id)
    if run.status != RunStatus.SUCCEEDED:
        which = f"The {field} run" if field else "The run"
        raise Conflict(
            f"{which} {run.id} is {run.status} ({run.get_status_display()}); reports need a succeeded run.",
            code="run_not_succeeded",
        )
    return run


def report_rows(*, run: MatchingRun) -> QuerySet:
    """The stored results of a run as plain dicts (the input of matching.reports), largest gap first."""
    return NeedResult.objects.filter(run=run).order_by("-gap", "id").values(*REPORT_ROW_FIELDS)


def compare_rows(*, run: MatchingRun, baseline: MatchingRun) -> tuple[list[dict], list[dict]]:
    """The rows of a run and of its baseline, for matching.reports.compare_runs."""
    return list(report_rows(run=run)), list(report_rows(run=baseline))


def report_labels(*, rows: Iterable[dict]) -> ReportLabels:
    """French labels for every code the rows use: taxonomy labels, and the names of the territories in their paths.

    Four queries whatever the number of rows.
    """
    wanted: dict[str, set[str]] = {}
    for row in rows:
        segments = territory_segments(row.get("territory_path") or "")
        if row.get("epci_code"):
            segments.append(("epci", row["epci_code"]))
        if row.get("commune_code"):
            segments.append(("commune", row["commune_code"]))
        for kind, code in segments:
            wanted.setdefault(kind, set()).add(code)
    territory = {}
    if wanted:
        query = Q()
        for kind, codes in wanted.items():
            query |= Q(kind=kind, code__in=sorted(codes))
        territory = {
            f"{kind}:{code}": name
            for kind, code, name in Territory.objects.filter(query).values_list("kind", "code", "name")
        }
    return ReportLabels(
        domain=dict(Domain.objects.values_list("code", "label")),
        theme=dict(Theme.objects.values_list("code", "label")),
        audience=dict(Audience.objects.values_list("code", "label")),
        territory=territory,
    )
