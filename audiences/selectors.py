"""Reads of the audiences app: audiences, needs (with the territorial semantics of filters) and surveys."""

import itertools
from collections.abc import Iterator

import numpy as np
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from api.text import fold_text
from audiences.models import Need, Survey, SurveyItem, SurveyResponse
from offers.models import Audience, Territory, Theme
from offers.selectors import territory_ancestors_q, territory_subtree_q
from offers.selectors import territory_resolve as territory_resolve  # audiences.services reads it from here


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


def need_chunks(queryset: QuerySet[Need], *, size: int = 500) -> Iterator[list[Need]]:
    """The needs of a (filtered, ordered) queryset, `size` at a time: an export of any size in bounded memory."""
    for start in itertools.count(0, size):
        chunk = list(queryset[start : start + size])
        if chunk:
            yield chunk
        if len(chunk) < size:
            return


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


def survey_get(*, survey_id: int) -> Survey:
    return survey_list().get(pk=survey_id)


def survey_item_map(*, survey: Survey) -> dict[str, SurveyItem]:
    return {item.code: item for item in survey.items.select_related("domain").prefetch_related("themes")}


def survey_responses(*, survey: Survey) -> QuerySet[SurveyResponse]:
    return SurveyResponse.objects.filter(item__survey=survey)


SURVEY_RESPONSE_COLUMNS = ("item_id", "audience_id", "commune_id", "importance", "satisfaction", "weight")


def survey_response_columns(*, survey: Survey) -> dict[str, np.ndarray]:
    """A survey's stored responses as one NumPy array per field of SURVEY_RESPONSE_COLUMNS, for the aggregation.

    Ids are int64 (-1 for no audience or commune); scores float64 with NaN for no answer. Unordered (sorting a
    million rows would cost more than the aggregation).
    """
    rows = survey_responses(survey=survey).order_by().values_list(*SURVEY_RESPONSE_COLUMNS)
    columns = list(zip(*rows, strict=True)) or [()] * len(SURVEY_RESPONSE_COLUMNS)
    arrays = {}
    for name, column in zip(SURVEY_RESPONSE_COLUMNS, columns, strict=True):
        if name in ("audience_id", "commune_id"):
            arrays[name] = np.nan_to_num(np.array(column, dtype=float), nan=-1).astype(np.int64)
        else:
            arrays[name] = np.array(column, dtype=np.int64 if name == "item_id" else float)
    return arrays


def theme_exists_q(codes: list[str]) -> Exists:
    """Needs having at least one of the themes (an Exists subquery: no duplicate rows, no DISTINCT)."""
    return Exists(Need.themes.through.objects.filter(need_id=OuterRef("pk"), theme__code__in=codes))
