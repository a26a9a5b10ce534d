"""Reads of the matching app: `.values()` rows of offers and needs for the engine, runs and their stored results
for the API, and the rows the report, compare and IPA modules aggregate."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from django.db.models import Count, Max, Min, OuterRef, Prefetch, Q, QuerySet, Subquery, TextField, Value
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext

from api.exceptions import Conflict, ErrorItem, InvalidInput
from audiences.models import JourneyStage, Need, Survey
from matching.arrays import NeedArrays, OfferArrays, TaxonomyArrays
from matching.labels import report_texts
from matching.models import NEED_SNAPSHOT_FIELDS, MatchedOffer, MatchingRun, NeedResult, OfferIndexBuild, RunStatus
from matching.reports import ReportLabels
from matching.scoring import need_document, offer_document
from matching.theme_inference import theme_vocabulary
from offers.models import Audience, CatalogueVersion, Domain, Offer, OfferRemoval, Territory, TerritoryKind, Theme
from offers.selectors import analyst_scope, territory_subtree_q
from offers.services import reference_data
from offers.territory_paths import SEPARATOR, area_key, area_paths, path_last_segment, path_segments


def catalogue_state() -> int:
    """The catalogue version counter (`CatalogueVersion.version`, bumped by every write to offers or reference data
    in its transaction, in commit order): the state the live offer index is compared with. One query."""
    return CatalogueVersion.objects.filter(pk=1).values_list("version", flat=True).first() or 0


def catalogue_version() -> str:
    """The label of the catalogue as the offer index holds it: state and text-model key (`OfferIndex.version` of an
    index that is up to date)."""
    from matching.engine import offer_index_model  # the index's own model (accent-keeping word branch)

    return f"{catalogue_state()}:{offer_index_model().model_key()}"


@dataclasses.dataclass(frozen=True)
class OfferChanges:
    """What changed after a state: offers created or changed (ids, sorted), offers deleted (ids, sorted, not among
    the changed), and whether some versions did not come from offer writes (taxonomy or territory loads)."""

    changed: np.ndarray
    removed: np.ndarray
    other_writes: bool


def offer_changes(*, since: int, until: int) -> OfferChanges:
    """The offer writes numbered `since + 1 .. until` (read in the snapshot where `until` was read). A version
    left by no offer (a reference-data write, or an offer written again since) counts as another write: the
    caller reloads the taxonomy, which is safe either way."""
    changed_rows = list(
        Offer.objects.filter(catalogue_seq__gt=since, catalogue_seq__lte=until).values_list("id", "catalogue_seq")
    )
    removed_rows = list(
        OfferRemoval.objects.filter(seq__gt=since, seq__lte=until).values_list("offer_id", "seq").distinct()
    )
    changed = np.array(sorted({row[0] for row in changed_rows}), dtype=np.int64)
    removed = np.setdiff1d(np.array([row[0] for row in removed_rows], dtype=np.int64), changed)
    seqs = {row[1] for row in changed_rows} | {row[1] for row in removed_rows}
    return OfferChanges(changed=changed, removed=removed, other_writes=len(seqs) < until - since)


def offer_index_oldest_state(*, model_key: str) -> int | None:
    """The oldest catalogue state an offer index of `model_key` may still update from: the state of the latest build
    of each machine (its processes load that build, then read the changes since); None without a build."""
    latest = OfferIndexBuild.objects.filter(model_key=model_key, host=OuterRef("host")).order_by("-id").values("id")
    builds = OfferIndexBuild.objects.filter(model_key=model_key, id=Subquery(latest[:1]))
    return builds.aggregate(oldest=Min("state"))["oldest"]


def offer_count() -> int:
    return Offer.objects.count()


def theme_texts_fingerprint() -> str:
    """The themes' labels and keywords (they enter need documents): the index reloads its taxonomy when it moves."""
    digest = hashlib.sha256()
    for row in Theme.objects.order_by("id").values_list("id", "code", "label", "keywords", "domain_id"):
        digest.update(repr(row).encode())
    return digest.hexdigest()[:16]


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
        Territory.objects.order_by("id").values(
            "id", "path", "area_paths", "kind", "code", "name", "latitude", "longitude"
        )
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
        territory_areas=[area_key(row["area_paths"] or [row["path"]]) for row in territories],
    )


def _pairs(through: Any, left: str, right: str, ids: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    pairs = _batched(through.objects.values_list(left, right), left, ids)
    rows = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    return rows[:, 0], rows[:, 1]


_IDS_BATCH = 900  # ids per query: under SQLite's smallest limit of query parameters


def _batched(queryset: QuerySet, field: str, ids: Sequence[int] | None) -> list:
    if ids is None:
        return list(queryset)
    ids = sorted(int(i) for i in ids)
    rows = []
    for start in range(0, len(ids), _IDS_BATCH):
        rows.extend(queryset.filter(**{f"{field}__in": ids[start : start + _IDS_BATCH]}))
    return rows


def offer_arrays(
    *, taxonomy: TaxonomyArrays, ids: Sequence[int] | None = None, with_documents: bool = True
) -> OfferArrays:
    """Every offer (or those of `ids`: what the live index re-reads after an edit) as arrays, by id; without
    `with_documents`, no description is read and `documents` is None (the live index reads the texts it explains
    with `offer_texts`)."""
    # Without documents the descriptions are not read at all (a placeholder keeps the row's shape).
    description = "description" if with_documents else Value(None, output_field=TextField())
    rows = _batched(
        Offer.objects.order_by("id").values_list(
            "id",
            "title",
            description,
            "status",
            "available_from",
            "available_until",
            "capacity",
            "latitude",
            "longitude",
            "commune_id",
            "domain_id",
        ),
        "id",
        ids,
    )
    rows.sort(key=lambda row: row[0])
    n = len(rows)
    ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=n)

    def offer_positions(offer_ids: np.ndarray) -> np.ndarray:
        return np.searchsorted(ids, offer_ids)

    themes = np.zeros((n, taxonomy.theme_ids.size), dtype=bool)
    offer_ids, theme_ids = _pairs(Offer.themes.through, "offer_id", "theme_id", ids)
    themes[offer_positions(offer_ids), taxonomy.position(taxonomy.theme_ids, theme_ids)] = True
    audiences = np.zeros((n, taxonomy.audience_ids.size), dtype=bool)
    offer_ids, audience_ids = _pairs(Offer.audiences.through, "offer_id", "audience_id", ids)
    audiences[offer_positions(offer_ids), taxonomy.position(taxonomy.audience_ids, audience_ids)] = True
    offer_ids, territory_ids = _pairs(Offer.service_area.through, "offer_id", "territory_id", ids)
    order = np.lexsort((territory_ids, offer_ids))
    area_rows = offer_positions(offer_ids[order])
    service_area = taxonomy.position(taxonomy.territory_ids, territory_ids[order])
    indptr = np.concatenate([[0], np.cumsum(np.bincount(area_rows, minlength=n))]).astype(np.int64)

    documents = None
    if with_documents:
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
        # An offer without a place (delivered at a distance, or serving an area): NaN coordinates, commune -1.
        latitude=np.array([np.nan if row[7] is None else row[7] for row in rows], dtype=np.float64),
        longitude=np.array([np.nan if row[8] is None else row[8] for row in rows], dtype=np.float64),
        commune=_commune_positions(taxonomy, [row[9] for row in rows]),
        domain=taxonomy.position(taxonomy.domain_ids, (row[10] for row in rows)),
        themes=themes,
        audiences=audiences,
        service_area_indptr=indptr,
        service_area=service_area,
    )


def offer_texts(ids: Sequence[int]) -> dict[int, tuple[str | None, str | None]]:
    """The (title, description) of these offers by id: what `OfferIndex.offer_documents` rebuilds the documents of
    the offers it explains from (a run chunk's distinct top offers, a search's results)."""
    rows = _batched(Offer.objects.values_list("id", "title", "description"), "id", ids)
    return {row[0]: (row[1], row[2]) for row in rows}


def _commune_positions(taxonomy: TaxonomyArrays, commune_ids: list[int | None]) -> np.ndarray:
    """The territory position of each offer's commune; -1 for an offer without a commune."""
    positions = taxonomy.position(taxonomy.territory_ids, (0 if cid is None else cid for cid in commune_ids))
    positions[np.array([cid is None for cid in commune_ids], dtype=bool)] = -1
    return positions


# ---------------------------------------------------------------------------
# Needs as arrays
# ---------------------------------------------------------------------------


def need_scope_q(
    *,
    territory: Territory | None,
    audience_codes: Sequence[str] = (),
    domain_codes: Sequence[str] = (),
    visible: Q | None = None,
) -> Q:
    """Needs a run covers: located in the territory's subtree (needs without a territory concern the whole area,
    so they are in every scope), of the given audiences and domains (empty = all), and among the needs its launcher
    may see (`visible`, audiences.selectors.need_visible_q): a run shows nobody a need its launcher could not."""
    q = Q() if visible is None else visible
    if territory is not None:
        q &= territory_subtree_q(territory, prefix="territory__") | Q(territory__isnull=True)
    if audience_codes:
        q &= Q(audience__code__in=list(audience_codes))
    if domain_codes:
        q &= Q(domain__code__in=list(domain_codes))
    return q


def need_scope_rows(
    *,
    territory: Territory | None,
    audience_codes: Sequence[str] = (),
    domain_codes: Sequence[str] = (),
    visible: Q | None = None,
) -> list[dict[str, Any]]:
    """Id, importance, satisfaction of every need in a scope, by id (for chunking and IPA crosshairs)."""
    return list(
        Need.objects.filter(
            need_scope_q(
                territory=territory, audience_codes=audience_codes, domain_codes=domain_codes, visible=visible
            )
        )
        .order_by("id")
        .values("id", "importance", "satisfaction")
    )


def need_scope_snapshot(
    *,
    territory: Territory | None,
    audience_codes: Sequence[str] = (),
    domain_codes: Sequence[str] = (),
    visible: Q | None = None,
) -> dict[str, Any]:
    stats = Need.objects.filter(
        need_scope_q(territory=territory, audience_codes=audience_codes, domain_codes=domain_codes, visible=visible)
    ).aggregate(count=Count("id"), updated=Max("updated_at"), max_id=Max("id"))
    return {
        "needs_count": stats["count"],
        "needs_max_id": stats["max_id"],
        "needs_updated_at": stats["updated"].isoformat() if stats["updated"] else None,
    }


def theme_training_arrays(*, taxonomy: TaxonomyArrays) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """What `ThemeClassifier.fit` learns from but the texts: every tagged offer's id, its themes as a boolean matrix
    (columns as `taxonomy.theme_codes`), and each theme's label + keywords. The texts of the rows the classifier
    keeps (`ThemeClassifier.training_rows`, a few thousand) are read with `theme_training_texts`."""
    ids = np.array(
        sorted(set(Offer.objects.filter(themes__isnull=False).values_list("id", flat=True))), dtype=np.int64
    )
    themes = np.zeros((ids.size, taxonomy.theme_ids.size), dtype=bool)
    offer_ids, theme_ids = _pairs(Offer.themes.through, "offer_id", "theme_id")
    known = np.isin(offer_ids, ids)
    themes[np.searchsorted(ids, offer_ids[known]), taxonomy.position(taxonomy.theme_ids, theme_ids[known])] = True
    return ids, themes, theme_vocabulary(taxonomy.theme_labels, taxonomy.theme_keywords)


def theme_training_texts(*, ids: Sequence[int]) -> dict[int, str]:
    """The text the theme classifier learns from for each of these offers: title + description (the text a
    request resembles: not its indexed document, which carries its themes' keywords)."""
    texts = offer_texts(ids)
    return {offer_id: offer_document(title, description) for offer_id, (title, description) in texts.items()}


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
            "territory__area_paths",
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
        territory_areas=[area_key(row[7] or [row[6] or ""]) for row in rows],
        importance=np.array([row[8] for row in rows], dtype=np.float64),
        satisfaction=np.array([np.nan if row[9] is None else row[9] for row in rows], dtype=np.float64),
        demand_volume=np.array([np.nan if row[10] is None else row[10] for row in rows], dtype=np.float64),
        updated_at=[row[11] for row in rows],
        stages=[row[12] for row in rows],
    )


def commune_centroids(*, paths: Iterable[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """For each area key (a territory path, or the prefixes of a straddling EPCI or a custom territory), the
    centroids of its communes; the territories' own centroids when none of its communes has one; empty arrays
    when nothing is known (the engine then treats the distance as unknown: the neutral factor)."""
    wanted = sorted(set(paths) - {""})
    if not wanted:
        return {}
    prefixes = sorted({prefix for key in wanted for prefix in area_paths(key)})
    q = Q()
    for prefix in prefixes:
        q |= Q(path__startswith=prefix)
    rows = list(
        Territory.objects.filter(q)
        .exclude(latitude=None)
        .exclude(longitude=None)
        .values_list("path", "kind", "latitude", "longitude")
    )
    own = {path: (lat, lon) for path, _kind, lat, lon in rows if path in prefixes}
    # Communes by each segment of their path: "below a prefix" is then a look-up of its last segment (the rule of
    # territory_paths.path_contains), in time linear in the communes rather than communes x areas.
    by_segment: dict[str, list[int]] = defaultdict(list)
    communes = [(lat, lon) for _path, kind, lat, lon in rows if kind == TerritoryKind.COMMUNE]
    paths = [path for path, kind, _lat, _lon in rows if kind == TerritoryKind.COMMUNE]
    for position, path in enumerate(paths):
        for part in path.split(SEPARATOR):
            if part:
                by_segment[part].append(position)
    centroids = {}
    for key in wanted:
        positions = sorted({p for prefix in area_paths(key) for p in by_segment.get(path_last_segment(prefix), ())})
        inside = [communes[p] for p in positions]
        if not inside:
            inside = [own[prefix] for prefix in area_paths(key) if prefix in own]
        centroids[key] = (
            np.array([lat for lat, _lon in inside], dtype=np.float64),
            np.array([lon for _lat, lon in inside], dtype=np.float64),
        )
    return centroids


# ---------------------------------------------------------------------------
# API querysets
# ---------------------------------------------------------------------------


def run_visible_q(*, user) -> Q:
    """The runs `user` may see: their `scope_territory` lies within one of their territories (runs of the whole
    instance for instance-wide accounts only; see offers.selectors.AnalystScope). Results, reports, comparisons
    and IPA follow their run."""
    return analyst_scope(user=user).q("scope_territory")


def run_list(*, user) -> QuerySet[MatchingRun]:
    """The runs `user` may see (another territory's run is a 404 to every endpoint about it)."""
    return MatchingRun.objects.filter(run_visible_q(user=user)).select_related("scope_territory", "launched_by")


def run_get(*, run_id, user) -> MatchingRun:
    return run_list(user=user).get(id=run_id)


def need_result_list(*, run: MatchingRun, user) -> QuerySet[NeedResult]:
    """The results of a run (one `user` sees: run_list) that `user` may read, largest gap first. A run scoped to a
    territory also read the needs of the whole instance (no territory) when an instance-wide account launched it:
    their results are shown to instance-wide accounts only, as the needs themselves."""
    results = NeedResult.objects.filter(run=run)
    if not analyst_scope(user=user).instance_wide:
        results = results.exclude(territory_path="")
    return results.order_by("-gap", "id")


REPORT_ROW_FIELDS = ("id", "need_id", *NEED_SNAPSHOT_FIELDS, "coverage", "gap", "recommendation")


def report_run_get(*, run_id, user, field: str | None = None) -> MatchingRun:
    """A run `user` may see whose results can be reported: 404 when unknown or another territory's (400 naming
    `field` for a query parameter), 409 unless it succeeded (a running run has partial results that would mislead)."""
    run = run_list(user=user).filter(id=run_id).first()
    if run is None:
        if field:
            raise InvalidInput(
                [
                    ErrorItem(
                        field=field,
                        code="not_found",
                        message=gettext("No matching run with id %(id)s.") % {"id": run_id},
                    )
                ]
            )
        get_object_or_404(run_list(user=user), id=run_id)
    if run.status != RunStatus.SUCCEEDED:
        values = {"field": field, "id": run.id, "status": run.status, "label": run.get_status_display()}
        if field:
            message = gettext("The %(field)s run %(id)s is %(status)s (%(label)s); reports need a succeeded run.")
        else:
            message = gettext("The run %(id)s is %(status)s (%(label)s); reports need a succeeded run.")
        raise Conflict(
            message % values,
            code="run_not_succeeded",
        )
    return run


def report_rows(*, run: MatchingRun, user) -> QuerySet:
    """The stored results of a run as plain dicts (the input of matching.reports), largest gap first."""
    return need_result_list(run=run, user=user).values(*REPORT_ROW_FIELDS)


def need_wave_keys(*, need_ids: Iterable[int]) -> dict[int, str]:
    """For needs computed from a survey: a key shared by the needs of the same item code, audience and territory in
    every wave of one survey chain (`first wave id:item code:audience id:territory id`), so a comparison follows
    the item from one wave to the next. Two queries."""
    needs = list(
        Need.objects.filter(pk__in=list(need_ids), survey_item__isnull=False).values_list(
            "pk", "survey_item__survey_id", "survey_item__code", "audience_id", "territory_id"
        )
    )
    if not needs:
        return {}
    previous = dict(Survey.objects.values_list("pk", "previous_wave_id"))

    def first_wave(survey_id: int) -> int:
        seen = {survey_id}
        while previous.get(survey_id) is not None and previous[survey_id] not in seen:
            survey_id = previous[survey_id]
            seen.add(survey_id)
        return survey_id

    return {
        pk: f"{first_wave(survey_id)}:{code}:{audience_id}:{territory_id or ''}"
        for pk, survey_id, code, audience_id, territory_id in needs
    }


def compare_rows(*, run: MatchingRun, baseline: MatchingRun, user) -> tuple[list[dict], list[dict]]:
    """The rows of a run and of its baseline, for matching.reports.compare_runs, each with its `wave_key`
    (`need_wave_keys`; None for a need not computed from a survey)."""
    rows, baseline_rows = list(report_rows(run=run, user=user)), list(report_rows(run=baseline, user=user))
    keys = need_wave_keys(need_ids={row["need_id"] for row in rows + baseline_rows if row["need_id"] is not None})
    for row in rows + baseline_rows:
        row["wave_key"] = keys.get(row["need_id"])
    return rows, baseline_rows


def report_labels(*, rows: Iterable[dict], scope: Territory | None = None) -> ReportLabels:
    """Labels for every code the rows use: taxonomy labels, journey stages, and the names of the territories in their
    paths (and of the run's `scope`), with their populations and, for those covering several path prefixes (custom
    territories, straddling EPCIs), those prefixes; and the report's own texts, in the active language.

    Four queries whatever the number of rows.
    """
    wanted: dict[str, set[str]] = {}
    if scope is not None:
        wanted.setdefault(scope.kind, set()).add(scope.code)
    for row in rows:
        segments = path_segments(row.get("territory_path"))
        if row.get("epci_code"):
            segments.append(("epci", row["epci_code"]))
        if row.get("commune_code"):
            segments.append(("commune", row["commune_code"]))
        for kind, code in segments:
            wanted.setdefault(kind, set()).add(code)
    territory: dict[str, str] = {}
    areas: dict[str, list[str]] = {}
    population: dict[str, int] = {}
    if wanted:
        query = Q()
        for kind, codes in wanted.items():
            query |= Q(kind=kind, code__in=sorted(codes))
        for kind, code, name, path, paths, inhabitants in Territory.objects.filter(query).values_list(
            "kind", "code", "name", "path", "area_paths", "population"
        ):
            qualified = f"{kind}:{code}"
            territory[qualified] = name
            if paths and list(paths) != [path]:
                areas[qualified] = list(paths)
            if inhabitants is not None:
                population[qualified] = inhabitants
    return ReportLabels(
        domain=dict(Domain.objects.values_list("code", "label")),
        theme=dict(Theme.objects.values_list("code", "label")),
        audience=dict(Audience.objects.values_list("code", "label")),
        territory=territory,
        areas=areas,
        population=population,
        stage={code: str(label) for code, label in JourneyStage.choices},
        texts=report_texts(),
    )


@functools.lru_cache(maxsize=1)
def commune_contours() -> dict[str, tuple[tuple[tuple[float, float], ...], ...]]:
    """The outer rings (lon/lat) of every commune whose contour ships with Ancrage (`offers/data`, Admin Express
    simplified), by INSEE code; read once per process."""
    with open(reference_data.DEFAULT_GEOJSON, encoding="utf-8") as file:
        collection = json.load(file)
    contours = {}
    for feature in collection["features"]:
        geometry = feature["geometry"]
        polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        contours[feature["properties"]["code"]] = tuple(
            tuple((float(lon), float(lat)) for lon, lat in polygon[0]) for polygon in polygons
        )
    return contours


def map_territories(*, kind: str, codes: Iterable[str], within: Territory | None) -> list[dict]:
    """Territories of `kind` among `codes` (inside `within` when given): code, name, path and centroid, as plain
    dicts. One query."""
    queryset = Territory.objects.filter(kind=kind, code__in=list(codes))
    if within is not None:
        queryset = queryset.filter(territory_subtree_q(within))
    return list(queryset.order_by("path").values("code", "name", "path", "latitude", "longitude"))


def report_offer_rows(
    *, codes: Iterable[str], scope: Territory | None, themes: bool = False, audiences: bool = False
) -> list[dict[str, Any]]:
    """The published offers located in the territories of these qualified codes ('' = the run's `scope`, or
    everywhere without one), as the rows `reports.report_per_inhabitant` counts: `commune_path`, `domain_code`,
    and the `theme_codes` / `audience_codes` asked for (empty lists otherwise). One query, plus one per M2M."""
    wanted = set(codes)
    # Located offers only: one without a place (remote, or serving an area) is in no territory's count.
    published = Offer.objects.filter(status="published", commune__isnull=False)
    if "" not in wanted or scope is not None:
        query = territory_subtree_q(scope) if "" in wanted else Q(pk__in=[])
        named = Q(pk__in=[])
        for code in wanted - {""}:
            kind, _, bare = code.partition(":")
            named |= Q(kind=kind, code=bare)
        if wanted - {""}:
            for territory in Territory.objects.filter(named).only("path", "area_paths"):
                query |= territory_subtree_q(territory)
        published = published.filter(commune_id__in=Territory.objects.filter(query).values("id"))
    offers = list(published.order_by("id").values("id", "commune__path", "domain__code"))
    rows = {
        offer["id"]: {
            "commune_path": offer["commune__path"] or "",
            "domain_code": offer["domain__code"],
            "theme_codes": [],
            "audience_codes": [],
        }
        for offer in offers
    }
    if themes and rows:
        for offer_id, code in Offer.themes.through.objects.filter(offer_id__in=list(rows)).values_list(
            "offer_id", "theme__code"
        ):
            rows[offer_id]["theme_codes"].append(code)
    if audiences and rows:
        for offer_id, code in Offer.audiences.through.objects.filter(offer_id__in=list(rows)).values_list(
            "offer_id", "audience__code"
        ):
            rows[offer_id]["audience_codes"].append(code)
    return list(rows.values())


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


# ---------------------------------------------------------------------------
# Offers' semantic vectors (issue 12; written by matching.services.embeddings)
# ---------------------------------------------------------------------------


def embeddings_version() -> int:
    """The vectors' version (`OfferEmbeddingVersion`, bumped in commit order by every store): one primary-key query."""
    from matching.models import OfferEmbeddingVersion

    return OfferEmbeddingVersion.objects.filter(pk=1).values_list("version", flat=True).first() or 0


def embeddings_since(*, model_key: str, since: int = 0, until: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Offer ids (sorted) and float32 vectors of `model_key` stored in versions `since + 1 .. until`."""
    from matching.models import OfferEmbedding
    from matching.semantic import vectors_from_bytes

    rows = OfferEmbedding.objects.filter(model_key=model_key, seq__gt=since)
    if until is not None:
        rows = rows.filter(seq__lte=until)
    ids, blobs = [], []
    for offer_id, vector in rows.order_by("offer_id").values_list("offer_id", "vector").iterator(chunk_size=2000):
        ids.append(offer_id)
        blobs.append(vector)
    return np.asarray(ids, dtype=np.int64), vectors_from_bytes(blobs)
