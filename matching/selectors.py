"""Reads of the matching app: `.values()` rows of offers and needs for the engine, runs and their stored results
for the API, and the rows the report, compare and IPA modules aggregate."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from django.db.models import Count, Max, Min, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from api.exceptions import Conflict, ErrorItem, InvalidInput
from audiences.models import JourneyStage, Need
from matching.arrays import NeedArrays, OfferArrays, TaxonomyArrays
from matching.models import NEED_SNAPSHOT_FIELDS, MatchedOffer, MatchingRun, NeedResult, RunStatus
from matching.reports import ReportLabels
from matching.scoring import need_document, offer_document
from offers.models import Audience, CatalogueVersion, Domain, Offer, Territory, TerritoryKind, Theme
from offers.selectors import territory_subtree_q
from offers.territory_paths import path_contains, path_segments


def catalogue_version() -> str:
    """A fingerprint of the offer catalogue and the taxonomy that the offer texts are built from.

    Offers have no signals, so the version is derived: count, latest `updated_at` and highest id of the offers
    (a create, an edit or a delete each move one of them; the offers services save the offer when its themes,
    audiences or service area change), plus the themes' labels and keywords, which enter every offer's text, plus
    the counter the offers services bump in each writing transaction: two imports that only edit offers can commit
    in the other order than their `updated_at`, leaving the latest `updated_at` where it was.
    """
    stats = Offer.objects.aggregate(count=Count("id"), updated=Max("updated_at"), max_id=Max("id"))
    taxonomy = hashlib.sha256()
    for row in Theme.objects.order_by("id").values_list("id", "code", "label", "keywords", "domain_id"):
        taxonomy.update(repr(row).encode())
    updated = stats["updated"].isoformat() if stats["updated"] else "-"
    counter = CatalogueVersion.objects.filter(pk=1).values_list("version", flat=True).first() or 0
    return f"{stats['count']}:{updated}:{stats['max_id'] or 0}:{taxonomy.hexdigest()[:12]}:{counter}"


def catalogue_snapshot() -> dict[str, Any]:
    """What a run reads, for the audit trail: counts and latest update times of offers."""
    stats = Offer.objects.aggregate(count=Count("id"), updated=Max("updated_at"), max_id=Max("id"))
    published = Offer.objects.filter(status="published").count()
    return {
        "offers_count": stats["count"],
        "offers_published": published,
        "offers_max_id": stats["max_id"],
        "offers_updated_at": stats["updated"].isoformat() if stats["updated"] else None,
    }


# ---------------------------------------------------------------------------
# Offers as arrays
# ---------------------------------------------------------------------------


def taxonomy_arrays() -> TaxonomyArrays:
    themes = list(Theme.objects.order_by("id").values("id", "code", "label", "keywords", "domain_id"))
    domains = list(Domain.objects.order_by("id").values("id", "code"))
    audiences = list(Audience.objects.order_by("id").values("id", "code", "label"))
    territories = list(
        Territory.objects.order_by("id").values("id", "path", "kind", "code", "name", "latitude", "longitude")
    )
    domain_ids = np.array([row["id"] for row in domains], dtype=np.int64)
    return TaxonomyArrays(
        theme_ids=np.array([row["id"] for row in themes], dtype=np.int64),
        theme_domain=np.searchsorted(domain_ids, [row["domain_id"] for row in themes]).astype(np.int64),
        theme_labels=[row["label"] for row in themes],
        theme_keywords=[row["keywords"] for row in themes],
        theme_codes=[row["code"] for row in themes],
        domain_ids=domain_ids,
        domain_codes=[row["code"] for row in domains],
        audience_ids=np.array([row["id"] for row in audiences], dtype=np.int64),
        audience_codes=[row["code"] for row in audiences],
        audience_labels=[row["label"] for row in audiences],
        territory_ids=np.array([row["id"] for row in territories], dtype=np.int64),
        territory_paths=np.array([row["path"] for row in territories], dtype=object),
        territory_kinds=np.array([row["kind"] for row in territories], dtype=object),
        territory_codes=[row["code"] for row in territories],
        territory_names=[row["name"] for row in territories],
        territory_lat=np.array([np.nan if row["latitude"] is None else row["latitude"] for row in territories]),
        territory_lon=np.array([np.nan if row["longitude"] is None else row["longitude"] for row in territories]),
    )


def _pairs(through: Any, left: str, right: str) -> tuple[np.ndarray, np.ndarray]:
    rows = np.array(list(through.objects.values_list(left, right)), dtype=np.int64).reshape(-1, 2)
    return rows[:, 0], rows[:, 1]


def offer_arrays(*, taxonomy: TaxonomyArrays) -> OfferArrays:
    rows = list(
        Offer.objects.order_by("id").values_list(
            "id",
            "title",
            "description",
            "status",
            "available_from",
            "available_until",
            "capacity",
            "latitude",
            "longitude",
            "commune_id",
            "domain_id",
        )
    )
    n = len(rows)
    ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=n)

    def offer_positions(offer_ids: np.ndarray) -> np.ndarray:
        return np.searchsorted(ids, offer_ids)

    themes = np.zeros((n, taxonomy.theme_ids.size), dtype=bool)
    offer_ids, theme_ids = _pairs(Offer.themes.through, "offer_id", "theme_id")
    themes[offer_positions(offer_ids), taxonomy.position(taxonomy.theme_ids, theme_ids)] = True
    audiences = np.zeros((n, taxonomy.audience_ids.size), dtype=bool)
    offer_ids, audience_ids = _pairs(Offer.audiences.through, "offer_id", "audience_id")
    audiences[offer_positions(offer_ids), taxonomy.position(taxonomy.audience_ids, audience_ids)] = True
    offer_ids, territory_ids = _pairs(Offer.service_area.through, "offer_id", "territory_id")
    order = np.lexsort((territory_ids, offer_ids))
    area_rows = offer_positions(offer_ids[order])
    service_area = taxonomy.position(taxonomy.territory_ids, territory_ids[order])
    indptr = np.concatenate([[0], np.cumsum(np.bincount(area_rows, minlength=n))]).astype(np.int64)

    documents = []
    for position, row in enumerate(rows):
        labels = [taxonomy.theme_labels[t] for t in np.flatnonzero(themes[position])]
        keywords = [taxonomy.theme_keywords[t] for t in np.flatnonzero(themes[position])]
        documents.append(offer_document(row[1], row[2], labels, keywords))
    return OfferArrays(
        ids=ids,
        titles=[row[1] for row in rows],
        documents=documents,
        published=np.array([row[3] == "published" for row in rows], dtype=bool),
        available_from=np.array([row[4] for row in rows], dtype="datetime64[D]"),
        available_until=np.array([row[5] for row in rows], dtype="datetime64[D]"),
        capacity=np.array([np.nan if row[6] is None else row[6] for row in rows], dtype=np.float64),
        latitude=np.array([row[7] for row in rows], dtype=np.float64),
        longitude=np.array([row[8] for row in rows], dtype=np.float64),
        commune=taxonomy.position(taxonomy.territory_ids, (row[9] for row in rows)),
        domain=taxonomy.position(taxonomy.domain_ids, (row[10] for row in rows)),
        themes=themes,
        audiences=audiences,
        service_area_indptr=indptr,
        service_area=service_area,
    )


# ---------------------------------------------------------------------------
# Needs as arrays
# ---------------------------------------------------------------------------


def need_scope_q(
    *, territory: Territory | None, audience_codes: Sequence[str] = (), domain_codes: Sequence[str] = ()
) -> Q:
    """Needs a run covers: located in the territory's subtree (needs without a territory concern the whole area,
    so they are in every scope), of the given audiences and domains (empty = all)."""
    q = Q()
    if territory is not None:
        q &= territory_subtree_q(territory, prefix="territory__") | Q(territory__isnull=True)
    if audience_codes:
        q &= Q(audience__code__in=list(audience_codes))
    if domain_codes:
        q &= Q(domain__code__in=list(domain_codes))
    return q


def need_scope_rows(
    *, territory: Territory | None, audience_codes: Sequence[str] = (), domain_codes: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Id, importance, satisfaction of every need in a scope, by id (for chunking and IPA crosshairs)."""
    return list(
        Need.objects.filter(
            need_scope_q(territory=territory, audience_codes=audience_codes, domain_codes=domain_codes)
        )
        .order_by("id")
        .values("id", "importance", "satisfaction")
    )


def need_scope_snapshot(
    *, territory: Territory | None, audience_codes: Sequence[str] = (), domain_codes: Sequence[str] = ()
) -> dict[str, Any]:
    stats = Need.objects.filter(
        need_scope_q(territory=territory, audience_codes=audience_codes, domain_codes=domain_codes)
    ).aggregate(count=Count("id"), updated=Max("updated_at"), max_id=Max("id"))
    return {
        "needs_count": stats["count"],
        "needs_max_id": stats["max_id"],
        "needs_updated_at": stats["updated"].isoformat() if stats["updated"] else None,
    }


def need_arrays(*, need_ids: Sequence[int], taxonomy: TaxonomyArrays) -> NeedArrays:
    """The needs of a chunk (those that still exist), sorted by id."""
    rows = list(
        Need.objects.filter(id__in=list(need_ids))
        .order_by("id")
        .values_list(
            "id",
            "statement",
            "audience_id",
            "audience__code",
            "domain_id",
            "domain__code",
            "territory__path",
            "importance",
            "satisfaction",
            "demand_volume",
            "updated_at",
            "stage",
        )
    )
    ids = np.array([row[0] for row in rows], dtype=np.int64)
    themes = np.zeros((ids.size, taxonomy.theme_ids.size), dtype=bool)
    through = Need.themes.through
    pairs = np.array(
        list(through.objects.filter(need_id__in=ids.tolist()).values_list("need_id", "theme_id")), dtype=np.int64
    ).reshape(-1, 2)
    themes[np.searchsorted(ids, pairs[:, 0]), taxonomy.position(taxonomy.theme_ids, pairs[:, 1])] = True
    theme_positions = [np.flatnonzero(row) for row in themes]
    return NeedArrays(
        ids=ids,
        statements=[row[1] for row in rows],
        documents=[
            need_document(
                row[1],
                [taxonomy.theme_labels[t] for t in positions],
                [taxonomy.theme_keywords[t] for t in positions],
            )
            for row, positions in zip(rows, theme_positions, strict=True)
        ],
        audience=taxonomy.position(taxonomy.audience_ids, (row[2] for row in rows)),
        audience_codes=[row[3] for row in rows],
        domain=taxonomy.position(taxonomy.domain_ids, (row[4] for row in rows)),
        domain_codes=[row[5] for row in rows],
        themes=themes,
        theme_codes=[[taxonomy.theme_codes[t] for t in positions] for positions in theme_positions],
        territory_paths=[row[6] or "" for row in rows],
        importance=np.array([row[7] for row in rows], dtype=np.float64),
        satisfaction=np.array([np.nan if row[8] is None else row[8] for row in rows], dtype=np.float64),
        demand_volume=np.array([np.nan if row[9] is None else row[9] for row in rows], dtype=np.float64),
        updated_at=[row[10] for row in rows],
        stages=[row[11] for row in rows],
    )


def commune_centroids(*, paths: Iterable[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """For each territory path, the centroids of its communes (the territory's own centroid if it has none)."""
    result: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    wanted = sorted(set(paths) - {""})
    if not wanted:
        return {}
    q = Q()
    for path in wanted:
        q |= Q(path__startswith=path)
    rows = Territory.objects.filter(q).exclude(latitude=None).values_list("path", "kind", "latitude", "longitude")
    own: dict[str, tuple[float, float]] = {}
    for territory_path, kind, lat, lon in rows:
        if territory_path in wanted:
            own[territory_path] = (lat, lon)
        if kind != TerritoryKind.COMMUNE:
            continue
        for path in wanted:
            if path_contains(path, territory_path):
                result[path][0].append(lat)
                result[path][1].append(lon)
    centroids = {}
    for path in wanted:
        lats, lons = result.get(path, ([], []))
        if not lats and path in own:
            lats, lons = [own[path][0]], [own[path][1]]
        centroids[path] = (np.array(lats, dtype=np.float64), np.array(lons, dtype=np.float64))
    return centroids


# ---------------------------------------------------------------------------
# API querysets
# ---------------------------------------------------------------------------


def run_list() -> QuerySet[MatchingRun]:
    return MatchingRun.objects.select_related("scope_territory", "launched_by")


def run_get(*, run_id) -> MatchingRun:
    return run_list().get(id=run_id)


def need_result_list(*, run: MatchingRun) -> QuerySet[NeedResult]:
    return NeedResult.objects.filter(run=run).order_by("-gap", "id")


REPORT_ROW_FIELDS = ("id", "need_id", *NEED_SNAPSHOT_FIELDS, "coverage", "gap", "recommendation")


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
    return need_result_list(run=run).values(*REPORT_ROW_FIELDS)


def compare_rows(*, run: MatchingRun, baseline: MatchingRun) -> tuple[list[dict], list[dict]]:
    """The rows of a run and of its baseline, for matching.reports.compare_runs."""
    return list(report_rows(run=run)), list(report_rows(run=baseline))


def report_labels(*, rows: Iterable[dict]) -> ReportLabels:
    """French labels for every code the rows use: taxonomy labels, journey stages, and the names of the territories
    in their paths.

    Four queries whatever the number of rows.
    """
    wanted: dict[str, set[str]] = {}
    for row in rows:
        segments = path_segments(row.get("territory_path"))
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
        stage=dict(JourneyStage.choices),
    )


# ---------------------------------------------------------------------------
# What the report documents (format=html) read besides the rows
# ---------------------------------------------------------------------------


_SOURCE_FIELDS = (
    "source",
    "source_reference",
    "survey_item__survey__title",
    "survey_item__survey__reference",
    "survey_item__survey__date",
)
_SOURCE_BATCH = 900  # ids per query: under SQLite's smallest limit of query parameters


def report_sources(*, need_ids: Iterable[int | None]) -> list[dict[str, Any]]:
    """Where these needs (a report's rows: what the reader may see) come from: one line per source (a survey, or
    workshops, interviews...) with how many of the needs it gave and the dates they were stated, most needs first;
    needs deleted since the run are not counted. One query per 900 needs."""
    ids = sorted({need_id for need_id in need_ids if need_id is not None})
    sources: dict[tuple, dict[str, Any]] = {}
    for start in range(0, len(ids), _SOURCE_BATCH):
        batch = (
            Need.objects.filter(id__in=ids[start : start + _SOURCE_BATCH])
            .values(*_SOURCE_FIELDS)
            .annotate(need_count=Count("id"), first_date=Min("source_date"), last_date=Max("source_date"))
            .order_by()
        )
        for row in batch:
            key = tuple(row[name] for name in _SOURCE_FIELDS)
            line = sources.setdefault(key, {**row, "need_count": 0, "first_date": None, "last_date": None})
            line["need_count"] += row["need_count"]
            dates = [
                date for date in (line["first_date"], line["last_date"], row["first_date"], row["last_date"]) if date
            ]
            line["first_date"], line["last_date"] = (min(dates), max(dates)) if dates else (None, None)
    return sorted(
        sources.values(),
        key=lambda line: (-line["need_count"], line["source"], line["survey_item__survey__title"] or "",
                          line["source_reference"]),
    )  # fmt: skip


def report_result_details(*, run: MatchingRun, need_ids: Iterable[int]) -> dict[int, NeedResult]:
    """The stored results of a run for these needs, by need id, each with its reasons and its matched offers by rank
    (`ranked_offers`). Two queries."""
    ranked = MatchedOffer.objects.order_by("rank")
    results = NeedResult.objects.filter(run=run, need_id__in=sorted(set(need_ids))).prefetch_related(
        Prefetch("matched_offers", queryset=ranked, to_attr="ranked_offers")
    )
    return {result.need_id: result for result in results.only("id", "need_id", "reasons", "recommendation")}
