"""FilterSets of the audiences app; every filter's help_text becomes its OpenAPI description."""

import django_filters
from django.conf import settings
from django.db.models import Exists, OuterRef
from django_filters import rest_framework as filters

from api.exceptions import ErrorItem, InvalidInput
from api.filters import CodeFilter, IdFilter, SearchFilter, TerritoryFilter
from audiences import selectors
from audiences.models import JourneyStage, Need, NeedSource, Survey
from offers.models import Audience, Domain, Theme


class NeedFilterSet(filters.FilterSet):
    audience = CodeFilter(
        model=Audience,
        field_name="audience__code",
        help_text="Audience code(s), comma-separated (`families,remote-workers`).",
    )
    domain = CodeFilter(model=Domain, field_name="domain__code", help_text="Domain code(s), comma-separated.")
    theme = CodeFilter(
        model=Theme,
        method="filter_theme",
        help_text="Theme code(s), comma-separated: needs having at least one of them.",
    )
    territory = TerritoryFilter(
        method="filter_territory",
        help_text="Needs relevant to this territory (`23096`, `200034825`, `departement:23`, "
        "`custom:cornouaille`): scoped inside it "
        "(a commune need matches its EPCI), scoped to a territory covering it (an EPCI need matches its communes), "
        "or scoped to the whole area (no territory).",
    )
    stage = filters.ChoiceFilter(choices=JourneyStage.choices, help_text="Journey stage: attract, welcome, anchor.")
    source = filters.ChoiceFilter(choices=NeedSource.choices, help_text="Where the need comes from.")
    survey = IdFilter(field_name="survey_item__survey", help_text="Only needs computed from this survey (id).")
    min_importance = django_filters.NumberFilter(
        method="filter_min_importance", help_text="Importance at least this value (0 to 1)."
    )
    q = SearchFilter(
        method="filter_q",
        help_text="Every word appears in the statement, ignoring case and accents (`creche gueret` finds "
        "« Crèche à Guéret »). "
        f"At most {settings.SEARCH_MAX_WORDS} words and {settings.SEARCH_MAX_CHARACTERS} characters.",
    )
    ordering = django_filters.OrderingFilter(
        fields=(
            ("importance", "importance"),
            ("satisfaction", "satisfaction"),
            ("demand_volume", "demand_volume"),
            ("response_count", "response_count"),
            ("updated_at", "updated_at"),
            ("id", "id"),
        ),
        help_text="Sort by importance, satisfaction, demand_volume, response_count, updated_at or id; prefix with "
        "`-` for descending (default `-importance`).",
    )

    class Meta:
        model = Need
        fields = ["audience", "domain", "theme", "territory", "stage", "source", "survey", "min_importance", "q"]

    def filter_theme(self, queryset, name, codes):
        return queryset.filter(selectors.theme_exists_q(codes))

    def filter_territory(self, queryset, name, territory):
        return queryset.filter(selectors.need_territory_q(territory))

    def filter_min_importance(self, queryset, name, value):
        if not 0 <= value <= 1:
            raise InvalidInput([ErrorItem(field=name, code="out_of_range", message="min_importance is from 0 to 1.")])
        return queryset.filter(importance__gte=value)

    def filter_q(self, queryset, name, value):
        return queryset.filter(selectors.need_search_q(value))


class SurveyFilterSet(filters.FilterSet):
    audience = CodeFilter(
        model=Audience,
        method="filter_audience",
        help_text="Surveys targeting at least one of these audience codes (comma-separated).",
    )

    class Meta:
        model = Survey
        fields = ["audience"]

    def filter_audience(self, queryset, name, codes):
        return queryset.filter(
            Exists(Survey.audiences.through.objects.filter(survey_id=OuterRef("pk"), audience__code__in=codes))
        )
