"""FilterSets of the offers app; every filter's help_text becomes its OpenAPI description."""

import django_filters
from django_filters import rest_framework as filters

from api.text import fold_text
from offers.models import Territory, TerritoryKind
from offers.selectors import territory_resolve, territory_subtree_q


class TerritoryFilterSet(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=TerritoryKind.choices, help_text="Only territories of this kind.")
    parent = django_filters.CharFilter(
        method="filter_parent",
        help_text="Direct children of the territory with this code (e.g. `23`, `epci:200034825`).",
    )
    within = django_filters.CharFilter(
        method="filter_within",
        help_text="This territory and everything below it: a département code covers its EPCIs and communes.",
    )
    q = django_filters.CharFilter(
        method="filter_q", help_text="Name contains this text, ignoring case and accents (`gueret` finds Guéret)."
    )

    class Meta:
        model = Territory
        fields = ["kind", "parent", "within", "q"]

    def filter_parent(self, queryset, name, value):
        return queryset.filter(parent=territory_resolve(code=value, field="parent"))

    def filter_within(self, queryset, name, value):
        return queryset.filter(territory_subtree_q(territory_resolve(code=value, field="within")))

    def filter_q(self, queryset, name, value):
        folded = fold_text(value)
        return queryset.filter(name_folded__contains=folded) if folded else queryset
