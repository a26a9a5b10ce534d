"""FilterSets of the offers app; every filter's help_text becomes its OpenAPI description."""

import django_filters
from django.conf import settings
from django.core.validators import RegexValidator
from django.db import connection
from django.db.models import BooleanField, Case, F, FloatField, IntegerField, Q, Value, When
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext, gettext_lazy
from django_filters import rest_framework as filters

from api.exceptions import ErrorItem, InvalidInput
from api.filters import BoundedIsoDateTimeFilter, CodeFilter, SearchFilter, StrictBooleanFilter, TerritoryFilter
from api.text import fold_text
from offers.models import (
    Audience,
    Domain,
    Offer,
    OfferStatus,
    Organisation,
    OrganisationKind,
    Territory,
    TerritoryKind,
    Theme,
)
from offers.selectors import offer_near, offer_territory_q, territory_subtree_q

# Abbreviations people type in an address box, read as the word the official name spells out.
_NAME_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}


def territory_name_query(value: str) -> str:
    """'St-Omer' -> 'saint omer': folded like Territory.name_folded (accents, case, hyphens, apostrophes)."""
    return " ".join(_NAME_ABBREVIATIONS.get(word, word) for word in fold_text(value).split())


class TerritoryFilterSet(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=TerritoryKind.choices, help_text="Only territories of this kind.")
    parent = TerritoryFilter(
        help_text="Direct children of the territory with this code (e.g. `23`, `epci:200034825`)."
    )
    within = TerritoryFilter(
        method="filter_within",
        help_text="This territory and everything below it: a département code covers its EPCIs and communes.",
    )
    q = SearchFilter(
        method="filter_q",
        help_text=(
            "Name search ignoring case, accents, hyphens and apostrophes (`saint omer`, `st-omer` and `SAINT OMER` "
            "find Saint-Omer): every word must start a word of the name. Best match first: the exact name, then names "
            "starting with the text, then the others; then by population, largest first."
        ),
    )
    postal_code = django_filters.CharFilter(
        method="filter_postal_code",
        validators=[
            RegexValidator(r"^\d{5}$", message=gettext_lazy("Enter a postal code of exactly 5 digits, e.g. 62500."))
        ],
        help_text="Communes with this postal code (5 digits, exact), largest population first.",
    )
    include_retired = StrictBooleanFilter(
        method="filter_noop",
        help_text=(
            "Also list territories gone from the official geography (communes merged into another: see "
            "`successor`), which are left out by default."
        ),
    )

    class Meta:
        model = Territory
        fields = ["kind", "parent", "within", "q", "postal_code", "include_retired"]

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("include_retired"):
            queryset = queryset.filter(retired=False)
        return queryset

    def filter_noop(self, queryset, name, value):
        return queryset  # applied in filter_queryset (it also applies when the parameter is absent)

    def filter_within(self, queryset, name, territory):
        return queryset.filter(territory_subtree_q(territory))

    def filter_q(self, queryset, name, value):
        phrase = territory_name_query(value)
        if not phrase:
            return queryset
        words = Q()
        for word in phrase.split():  # each word starts a word of the name ("omer" finds Saint-Omer, not Bômer)
            words &= Q(name_folded__startswith=word) | Q(name_folded__contains=f" {word}")
        match_rank = Case(
            When(name_folded=phrase, then=Value(0)),
            When(name_folded__startswith=phrase, then=Value(1)),
            When(name_folded__contains=phrase, then=Value(2)),
            default=Value(3),
            output_field=IntegerField(),
        )
        return (
            queryset.filter(words)
            .annotate(match_rank=match_rank)
            .order_by("match_rank", F("population").desc(nulls_last=True), "name", "path")
        )

    def filter_postal_code(self, queryset, name, value):
        return queryset.filter(postal_codes__code=value).order_by(
            F("population").desc(nulls_last=True), "name", "path"
        )


# Offers -------------------------------------------------------------------------------------------------------------

MAX_RADIUS_KM = 200.0
ORDERING_CHOICES = [
    ("title", "Title A→Z"),
    ("-title", "Title Z→A"),
    ("updated", "Least recently updated first"),
    ("-updated", "Most recently updated first"),
    ("distance", "Nearest first (requires near)"),
    ("relevance", "Best match first (requires q)"),
]
_ORDERINGS = {
    "title": ("title", "id"),
    "-title": ("-title", "-id"),
    "updated": ("updated_at", "id"),
    "-updated": ("-updated_at", "-id"),
    "distance": ("distance_km", "title", "id"),
    "relevance": ("-relevance", "title", "id"),
}


def search_tokens(value: str) -> list[str]:
    """Folded words of a query with a light French plural strip ("logements" -> "logement", "locaux" -> "loca"),
    for the SQLite fallback, where each must appear in the offer's folded search text."""
    tokens = []
    for word in fold_text(value).split():
        if len(word) > 4 and word.endswith("aux"):
            word = word[:-2]
        elif len(word) > 3 and word[-1] in "sx":
            word = word[:-1]
        tokens.append(word)
    return tokens


class OfferFilterSet(filters.FilterSet):
    domain = CodeFilter(
        model=Domain, multiple=False, field_name="domain__code", help_text="Domain code, e.g. `housing`."
    )
    theme = CodeFilter(
        model=Theme,
        method="filter_theme",
        help_text="Theme code(s), comma-separated: offers with any of them (`childcare,schools`).",
    )
    audience = CodeFilter(
        model=Audience,
        method="filter_audience",
        help_text="Audience code(s), comma-separated: offers targeting one of them, and offers open to everyone.",
    )
    territory = TerritoryFilter(
        method="filter_territory",
        help_text=(
            "Territory code (commune INSEE, EPCI SIREN, département, `kind:code`, or a custom territory such as "
            "`custom:cornouaille`, covering its members): offers located in it or below it, and offers whose "
            "service area covers it (an offer serving the whole département matches one of its communes; an offer "
            "without a place, by its service area alone: one serving `FR` matches every territory)."
        ),
    )
    near = django_filters.CharFilter(
        method="filter_noop",
        help_text="`latitude,longitude` (WGS 84) of a point; requires radius_km. Results carry `distance_km`. Offers "
        "without coordinates (delivered at a distance, or serving an area with no place) are never near a point: "
        "use `territory` to find them.",
    )
    radius_km = django_filters.NumberFilter(
        method="filter_noop",
        help_text=f"Great-circle radius around `near`, in km (0 < radius_km ≤ {MAX_RADIUS_KM:g}); requires near.",
    )
    q = SearchFilter(
        method="filter_noop",
        help_text=(
            "Full-text search in title, description and themes, ignoring case and accents (`creche` finds "
            "Crèche); French stemming on PostgreSQL (`logements` finds logement). Sorted by relevance by default. "
            f"At most {settings.SEARCH_MAX_WORDS} words and {settings.SEARCH_MAX_CHARACTERS} characters."
        ),
    )
    available_on = django_filters.DateFilter(
        method="filter_available_on", help_text="Offers available on this date (YYYY-MM-DD): open ranges included."
    )
    is_free = StrictBooleanFilter(field_name="is_free", help_text="`true`: free offers only; `false`: paid.")
    remote = StrictBooleanFilter(
        field_name="remote",
        help_text="`true`: offers delivered at a distance only (online, by phone, at home); `false`: the others.",
    )
    organisation = django_filters.CharFilter(
        field_name="organisation__slug", help_text="Slug of the providing organisation."
    )
    source = django_filters.CharFilter(
        field_name="source",
        help_text="Code of the source the offers come from: a source kept in sync (`france-travail-creuse`), or the "
        "source name given to a file import.",
    )
    status = django_filters.ChoiceFilter(
        choices=OfferStatus.choices,
        help_text="Status; anonymous users only ever see published offers, editors also their organisations' ones.",
    )
    updated_since = BoundedIsoDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="Offers changed at or after this ISO 8601 date-time (e.g. `2025-01-31T00:00:00Z`).",
    )
    ordering = django_filters.ChoiceFilter(
        method="filter_noop",
        choices=ORDERING_CHOICES,
        help_text=(
            "Sort order: `title`, `-title`, `updated`, `-updated`, `distance` (requires near), `relevance` "
            "(requires q). Default: relevance with q, else distance with near, else title."
        ),
    )

    def __init__(self, *args, catalogue_key: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # The catalogue state's key when the view read it first (TerritoryFilter keys its cache on it).
        self.catalogue_key = catalogue_key

    class Meta:
        model = Offer
        fields = [
            "domain",
            "theme",
            "audience",
            "territory",
            "near",
            "radius_km",
            "q",
            "available_on",
            "is_free",
            "remote",
            "organisation",
            "source",
            "status",
            "updated_since",
            "ordering",
        ]

    def filter_noop(self, queryset, name, value):
        return queryset  # applied together in filter_queryset (they depend on each other)

    def filter_theme(self, queryset, name, codes):
        return queryset.filter(id__in=Offer.themes.through.objects.filter(theme__code__in=codes).values("offer_id"))

    def filter_audience(self, queryset, name, codes):
        targeted = Offer.audiences.through.objects.values("offer_id")
        return queryset.filter(Q(id__in=targeted.filter(audience__code__in=codes)) | ~Q(id__in=targeted))

    def filter_territory(self, queryset, name, territory):
        return queryset.filter(offer_territory_q(territory))

    def filter_available_on(self, queryset, name, value):
        return queryset.filter(
            Q(available_from__isnull=True) | Q(available_from__lte=value),
            Q(available_until__isnull=True) | Q(available_until__gte=value),
        )

    def _near(self) -> tuple[float, float, float] | None:
        near, radius = self.form.cleaned_data.get("near"), self.form.cleaned_data.get("radius_km")
        if not near and radius is None:
            return None
        if not near or radius is None:
            missing = "radius_km" if near else "near"
            raise InvalidInput(
                [
                    ErrorItem(
                        field=missing, code="required", message=gettext("near and radius_km go together: give both.")
                    )
                ]
            )
        try:
            latitude, longitude = (float(part) for part in near.split(","))
        except ValueError:
            raise InvalidInput(
                [ErrorItem(field="near", message=gettext("near must be `latitude,longitude`, e.g. `46.17,1.87`."))]
            ) from None
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise InvalidInput(
                [ErrorItem(field="near", code="out_of_range", message=gettext("Latitude or longitude out of range."))]
            )
        if not 0 < radius <= MAX_RADIUS_KM:
            raise InvalidInput(
                [
                    ErrorItem(
                        field="radius_km",
                        code="out_of_range",
                        message=gettext("radius_km must be greater than 0 and at most %(limit)s.")
                        % {"limit": f"{MAX_RADIUS_KM:g}"},
                    )
                ]
            )
        return latitude, longitude, float(radius)

    def _search(self, queryset, value: str):
        if connection.vendor == "postgresql":
            tsquery = "websearch_to_tsquery('french_unaccent', %s)"
            queryset = queryset.filter(
                RawSQL(f"offers_offer.search_vector @@ {tsquery}", [value], output_field=BooleanField())
            )
            return queryset.annotate(
                relevance=RawSQL(
                    f"ts_rank_cd(offers_offer.search_vector, {tsquery})", [value], output_field=FloatField()
                )
            )
        # SQLite: every (lightly stemmed) folded word must appear in the folded text; no ranking beyond that.
        for token in search_tokens(value):
            queryset = queryset.filter(search_text__contains=token)
        return queryset.annotate(relevance=Value(0.0, output_field=FloatField()))

    def filter_queryset(self, queryset):
        near = self._near()
        queryset = super().filter_queryset(queryset)
        if near is not None:
            latitude, longitude, radius = near
            queryset = offer_near(queryset, latitude=latitude, longitude=longitude, radius_km=radius)
        q = (self.form.cleaned_data.get("q") or "").strip()
        if q:
            queryset = self._search(queryset, q)
        ordering = self.form.cleaned_data.get("ordering") or ("relevance" if q else "distance" if near else "title")
        if ordering == "distance" and near is None:
            raise InvalidInput(
                [ErrorItem(field="ordering", message=gettext("ordering=distance needs near and radius_km."))]
            )
        if ordering == "relevance" and not q:
            raise InvalidInput([ErrorItem(field="ordering", message=gettext("ordering=relevance needs q."))])
        return queryset.order_by(*_ORDERINGS[ordering])


class OrganisationFilterSet(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=OrganisationKind.choices, help_text="Only organisations of this kind.")
    territory = TerritoryFilter(
        method="filter_territory", help_text="Organisations based in this territory or below it (any code)."
    )
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", help_text="Name contains this text.")

    class Meta:
        model = Organisation
        fields = ["kind", "territory", "q"]

    def filter_territory(self, queryset, name, territory):
        return queryset.filter(territory_subtree_q(territory, prefix="territory__"))
