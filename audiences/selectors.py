"""Reads of the audiences app: audiences, needs (with the territorial semantics of filters) and surveys.

What an analyst sees is decided here, once per model: `need_visible_q` and `survey_visible_q` (through
`offers.selectors.analyst_scope`); every list, detail, action, export and import goes through `need_list` and
`survey_list`, and what hangs off a survey (responses, open answers, waves) through the survey.
"""

import itertools
from collections.abc import Iterable, Iterator

import numpy as np
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils.translation import gettext

from api.text import fold_text
from audiences.models import CandidateNeedDecision, Need, Survey, SurveyItem, SurveyOpenAnswer, SurveyResponse
from offers.models import Audience, Territory, Theme
from offers.selectors import analyst_scope, territory_ancestors_q, territory_subtree_q
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


def need_visible_q(*, user) -> Q:
    """The needs `user` may see: those whose territory lies within one of their territories (see
    `offers.selectors.AnalystScope`); needs of the whole instance (no territory) for instance-wide accounts only."""
    return analyst_scope(user=user).q("territory")


def need_list(*, user) -> QuerySet[Need]:
    """The needs `user` may see, ready for the API (another territory's need is a 404, not a 403)."""
    return (
        Need.objects.filter(need_visible_q(user=user))
        .select_related("audience", "domain", "territory", "survey_item")
        .prefetch_related(Prefetch("themes", queryset=Theme.objects.only("id", "code").order_by("code")))
    )


def need_get(*, need_id: int, user) -> Need:
    return need_list(user=user).get(pk=need_id)


def need_chunks(queryset: QuerySet[Need], *, size: int = 500) -> Iterator[list[Need]]:
    """The needs of a (filtered, ordered) queryset, `size` at a time: an export of any size in bounded memory."""
    for start in itertools.count(0, size):
        chunk = list(queryset[start : start + size])
        if chunk:
            yield chunk
        if len(chunk) < size:
            return


def survey_visible_q(*, user) -> Q:
    """The surveys `user` may see: `Survey.territory` lies within one of their territories (whole-instance surveys,
    without a territory, for instance-wide accounts only). Responses, open answers and computed needs follow their
    survey."""
    return analyst_scope(user=user).q("territory")


def survey_list(*, user) -> QuerySet[Survey]:
    """The surveys `user` may see, with their counts and items (another territory's survey is a 404)."""
    # An aggregate drops Meta.ordering, hence the explicit order_by (pagination needs a stable order).
    return (
        Survey.objects.filter(survey_visible_q(user=user))
        .select_related("territory")
        .annotate(
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


def survey_get(*, survey_id: int, user) -> Survey:
    return survey_list(user=user).get(pk=survey_id)


def survey_earlier_waves(*, survey: Survey) -> list[Survey]:
    """The earlier waves of a survey, latest first (previous_wave, its previous_wave...): one query per wave."""
    waves, seen, current = [], {survey.pk}, survey.previous_wave
    while current is not None and current.pk not in seen:  # a cycle made in the admin must not loop forever
        waves.append(current)
        seen.add(current.pk)
        current = current.previous_wave
    return waves


def audience_codes(*, ids: Iterable[int]) -> dict[int, str]:
    return dict(Audience.objects.filter(pk__in=list(ids)).values_list("pk", "code"))


def survey_item_map(*, survey: Survey) -> dict[str, SurveyItem]:
    return {item.code: item for item in survey.items.select_related("domain").prefetch_related("themes")}


def survey_communes_outside(*, survey: Survey, communes: Iterable[Territory]) -> dict[int, str]:
    """The communes (by id) outside the survey's territory, each with the message saying so (code, name and the
    territory's name): a respondent's answers are filed under the survey's area, so a commune elsewhere is a mistake
    in the file, refused by both upload formats. Empty when the survey has no territory."""
    by_id = {commune.pk: commune for commune in communes}
    if survey.territory_id is None or not by_id:
        return {}
    inside = set(
        Territory.objects.filter(territory_subtree_q(survey.territory), pk__in=by_id).values_list("pk", flat=True)
    )
    message = gettext("commune %(code)s (%(name)s) is not in the survey's territory, %(territory)s")
    return {
        pk: message % {"code": commune.code, "name": commune.name, "territory": survey.territory.name}
        for pk, commune in by_id.items()
        if pk not in inside
    }


def survey_responses(*, survey: Survey) -> QuerySet[SurveyResponse]:
    return SurveyResponse.objects.filter(item__survey=survey)


SURVEY_RESPONSE_COLUMNS = ("item_id", "audience_id", "commune_id", "importance", "satisfaction", "weight")


def survey_response_columns(*, survey: Survey, chunk_size: int = 50_000) -> dict[str, np.ndarray]:
    """A survey's stored responses as one NumPy array per field of SURVEY_RESPONSE_COLUMNS, for the aggregation.

    Ids are int64 (-1 for no audience or commune); scores and weights float64, NaN for no answer. Read in chunks
    of `chunk_size` rows, each turned into one float array at once: a million responses never exist as a million
    Python tuples. Unordered (sorting a million rows would cost more than the aggregation).
    """
    rows = survey_responses(survey=survey).order_by().values_list(*SURVEY_RESPONSE_COLUMNS)
    iterator = rows.iterator(chunk_size=chunk_size)
    chunks = []
    while batch := list(itertools.islice(iterator, chunk_size)):
        chunks.append(np.array(batch, dtype=float))  # None -> NaN; ids stay exact below 2**53
    table = np.concatenate(chunks) if chunks else np.empty((0, len(SURVEY_RESPONSE_COLUMNS)))
    arrays = {}
    for index, name in enumerate(SURVEY_RESPONSE_COLUMNS):
        column = table[:, index]
        arrays[name] = np.nan_to_num(column, nan=-1).astype(np.int64) if name.endswith("_id") else column.copy()
    return arrays


def theme_exists_q(codes: list[str]) -> Exists:
    """Needs having at least one of the themes (an Exists subquery: no duplicate rows, no DISTINCT)."""
    return Exists(Need.themes.through.objects.filter(need_id=OuterRef("pk"), theme__code__in=codes))


def open_answer_rows(*, survey: Survey) -> list[dict]:
    """The survey's open answers as plain rows (id, question, respondent, text, audience code, weight), in a stable
    order: what the grouping reads (`audiences.open_text`)."""
    return list(
        SurveyOpenAnswer.objects.filter(survey=survey)
        .order_by("question", "respondent_id", "id")
        .values("id", "question", "respondent_id", "text", "weight", "audience__code", "commune__code")
    )


def theme_rows() -> list[dict]:
    """Every theme with its domain, label and everyday keywords, by id (the order the classifier is fitted in)."""
    return list(
        Theme.objects.order_by("id").values("id", "code", "label", "keywords", "domain__code", "domain__label")
    )


def candidate_need_decisions(*, survey: Survey) -> dict[str, CandidateNeedDecision]:
    return {
        decision.key: decision
        for decision in CandidateNeedDecision.objects.filter(survey=survey).select_related("decided_by")
    }
