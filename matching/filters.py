"""FilterSets of the matching app; every filter's help_text becomes its OpenAPI description."""

import django_filters
from django.db.models import Q
from django_filters import rest_framework as filters

from api.filters import CodeFilter, TerritoryFilter
from matching.models import IpaQuadrant, MatchingRun, NeedResult, Recommendation, RunStatus
from offers.models import Audience, Domain, Theme
from offers.selectors import custom_territories_within, path_subtree_q


class MatchingRunFilterSet(filters.FilterSet):
    status = filters.ChoiceFilter(choices=RunStatus.choices, help_text="Only runs in this state.")

    class Meta:
        model = MatchingRun
        fields = ["status"]


class NeedResultFilterSet(filters.FilterSet):
    recommendation = filters.ChoiceFilter(
        choices=Recommendation.choices, help_text="Only needs with this recommendation."
    )
    quadrant = filters.ChoiceFilter(
        field_name="ipa_quadrant",
        choices=[choice for choice in IpaQuadrant.choices if choice[0]],
        help_text="Only needs in this Importance-Performance quadrant.",
    )
    domain = CodeFilter(
        model=Domain, multiple=False, field_name="domain_code", help_text="Only needs of this domain (code)."
    )
    theme = CodeFilter(
        model=Theme, multiple=False, method="filter_theme", help_text="Only needs tagged with this theme (code)."
    )
    audience = CodeFilter(
        model=Audience, multiple=False, field_name="audience_code", help_text="Only needs of this audience (code)."
    )
    territory = TerritoryFilter(
        method="filter_territory",
        help_text=(
            "Only needs located in this territory or below it (`23`, `epci:200034825`, `23096`, `custom:cornouaille`: "
            "in one of its members); needs stated for "
            "the whole area have no territory and are left out."
        ),
    )
    ordering = django_filters.OrderingFilter(
        fields=(("gap", "gap"), ("coverage", "coverage"), ("importance", "importance"), ("ipa_gap", "ipa_gap")),
        help_text="Sort by gap (default: `-gap`), coverage, importance or ipa_gap; prefix with `-` for descending.",
    )

    class Meta:
        model = NeedResult
        fields = ["recommendation", "quadrant", "domain", "theme", "audience", "territory"]

    def filter_theme(self, queryset, name, codes):
        (value,) = codes
        # theme_codes is a JSON list of slugs; matching the quoted slug in its text works on SQLite and PostgreSQL
        # (JSON containment does not exist on SQLite) and cannot match a longer code ("sport" vs "transport").
        return queryset.filter(theme_codes__icontains=f'"{value}"')

    def filter_territory(self, queryset, name, territory):
        customs = custom_territories_within(territory).values("path")
        return queryset.filter(path_subtree_q(territory, field="territory_path") | Q(territory_path__in=customs))
