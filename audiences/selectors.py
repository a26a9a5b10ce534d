"""Reads of the audiences app: audiences, needs (with the territorial semantics of filters) and surveys."""

from collections import defaultdict

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from api.text import fold_text
from audiences.models import Need, Survey, SurveyItem, SurveyResponse
from offers.models import Audience, Domain, Territory, Theme
from offers.selectors import territory_ancestors_q, territory_resolve, territory_subtree_q


def audience_list() -> QuerySet[Audience]:
    return Audience.objects.all()


def audience_usage(*, audience: Audience) -> dict[str, int]:
    """How many needs, survey responses, surveys and offers still refer to an audience (non-zero entries only)."""
    usage = {
        "needs": Need.objects.filter(audience=audience).count(),
        "survey_responses": SurveyResponse.objects.filter(audience=audience).count(),
        "surveys": audience.surveys.count(),
        "offers": audience.offers.count(),
    }
    return {name: count for name, count in usage.items() if count}


def need_territory_q(territory: Territory) -> Q:
    """Needs relevant to `territory`: scoped inside it, scoped to a territory covering it, or to the whole area (null).

    The same rule as offers: a need of the whole Creuse concerns Guéret, and a need of Guéret concerns
    the Grand Guéret EPCI.
    """
    return (
        Q(territory__isnull=True)
        | territory_subtree_q(territory, prefix="territory__")
        | territory_ancestors_q(territory, prefix="territory__")
    )


def need_search_q(text: str) -> Q:
    """Every word of `text` appears in the folded statement (`creche gueret` finds « Crèche à Guéret »)."""
    query = Q()
    for word in fold_text(text).split():
        query &= Q(search_text__contains=word)
    return query


def need_list() -> QuerySet[Need]:
    return Need.objects.select_related("audience", "domain", "territory", "survey_item").prefetch_related(
        Prefetch("themes", queryset=Theme.objects.only("id", "code").order_by("code"))
    )


def need_get(*, need_id: int) -> Need:
    return need_list().get(pk=need_id)


def need_theme_codes(*, need_ids: list[int]) -> dict[int, list[str]]:
    """Theme codes per need, in one query (sorted, for stable exports and arrays)."""
    codes: dict[int, list[str]] = defaultdict(list)
    rows = Need.themes.through.objects.filter(need_id__in=need_ids).values_list("need_id", "theme__code")
    for need_id, code in rows.order_by("need_id", "theme__code"):
        codes[need_id].append(code)
    return codes


MATCHING_FIELDS = {
    "id": "id",
    "statement": "statement",
    "domain_code": "domain__code",
    "audience_code": "audience__code",
    "territory_path": "territory__path",
    "territory_kind": "territory__kind",
    "territory_code": "territory__code",
    "latitude": "territory__latitude",
    "longitude": "territory__longitude",
    "stage": "stage",
    "importance": "importance",
    "satisfaction": "satisfaction",
    "demand_volume": "demand_volume",
    "updated_at": "updated_at",
}


def need_rows_for_matching(
    *,
    need_ids: list[int] | None = None,
    audience_codes: list[str] | None = None,
    domain_codes: list[str] | None = None,
    territory: Territory | str | None = None,
) -> list[dict]:
    """Needs as plain rows for the matching engine, in two queries whatever their number.

    Each row: id, statement, domain_code, theme_codes (sorted list), audience_code, territory_path,
    territory_kind, territory_code (all None for the whole area), latitude/longitude (the scope's centroid,
    None for the whole area), stage, importance, satisfaction, demand_volume, updated_at. Ordered by id.
    `territory` (a Territory or a code) keeps the needs relevant to it, as the `territory` filter of the API.
    """
    queryset = Need.objects.all()
    if need_ids is not None:
        queryset = queryset.filter(pk__in=need_ids)
    if audience_codes is not None:
        queryset = queryset.filter(audience__code__in=audience_codes)
    if domain_codes is not None:
        queryset = queryset.filter(domain__code__in=domain_codes)
    if territory is not None:
        if isinstance(territory, str):
            territory = territory_resolve(code=territory)
        queryset = queryset.filter(need_territory_q(territory))
    rows = [
        {key: row[lookup] for key, lookup in MATCHING_FIELDS.items()}
        for row in queryset.order_by("id").values(*MATCHING_FIELDS.values())
    ]
    themes = need_theme_codes(need_ids=[row["id"] for row in rows])
    for row in rows:
        row["theme_codes"] = themes.get(row["id"], [])
    return rows


def survey_list() -> QuerySet[Survey]:
    # An aggregate drops Meta.ordering, hence the explicit order_by (pagination needs a stable order).
    return (
        Survey.objects.annotate(
            response_count=Count("items__responses", distinct=True),
            respondent_count=Count("items__responses__respondent_id", distinct=True),
        )
        .order_by("-date", "id")
        .prefetch_related(
            Prefetch("audiences", queryset=Audience.objects.only("id", "code")),
            Prefetch(
                "items",
                queryset=SurveyItem.objects.select_related("domain").prefetch_related(
                    Prefetch("themes", queryset=Theme.objects.only("id", "code").order_by("code"))
                ),
            ),
        )
    )


def survey_item_map(*, survey: Survey) -> dict[str, SurveyItem]:
    return {item.code: item for item in survey.items.select_related("domain").prefetch_related("themes")}


def survey_responses(*, survey: Survey) -> QuerySet[SurveyResponse]:
    return SurveyResponse.objects.filter(item__survey=survey)


def domain_get(*, code: str) -> Domain | None:
    return Domain.objects.filter(code=code).first()


def theme_exists_q(codes: list[str]) -> Exists:
    """Needs having at least one of the themes (an Exists subquery: no duplicate rows, no DISTINCT)."""
    return Exists(Need.themes.through.objects.filter(need_id=OuterRef("pk"), theme__code__in=codes))
