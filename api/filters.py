"""Filters shared by the apps' FilterSets, stricter than django-filter's: a value that is not what the parameter
documents is a 400 naming it, never silently ignored, and the same answer on every endpoint."""

import datetime

import django_filters
from django import forms
from django.conf import settings
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_filters.constants import EMPTY_VALUES
from django_filters.fields import IsoDateTimeField
from django_filters.filters import FilterMethod
from django_filters.rest_framework import DjangoFilterBackend

from api.cells import INT64_MAX, INT64_MIN
from api.exceptions import ErrorItem, InvalidInput
from api.text import fold_text
from offers.models import Territory
from offers.selectors import territory_resolve


class StrictBooleanField(forms.NullBooleanField):
    """`true` or `false` (any case); empty means not given. django-filter's own field reads `?is_free=maybe` as
    "not given" and answers the unfiltered list."""

    widget = forms.TextInput
    default_error_messages = {"invalid": _("Expected true or false.")}

    def to_python(self, value):
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        normalised = str(value).strip().lower()
        if normalised not in ("true", "false"):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return normalised == "true"

    def validate(self, value):
        pass


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class Int64Field(forms.IntegerField):
    """A whole number a 64-bit column holds: the database refuses a larger one with an error (a 500), not a row."""

    def to_python(self, value):
        number = super().to_python(value)
        if number is not None and not INT64_MIN <= number <= INT64_MAX:
            raise forms.ValidationError(
                gettext("%(value)s is out of range: whole numbers go from -2**63 to 2**63 - 1.") % {"value": value},
                code="out_of_range",
            )
        return number


class IdFilter(django_filters.NumberFilter):
    """An integer id: `0.5` is refused with a 400 instead of silently matching nothing, and so is one past 64 bits."""

    field_class = Int64Field


class BoundedIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time that exists in UTC and in the server's time zone: `0001-01-01T00:00:00+23:59` parses,
    but is in year 0 once in UTC, which overflows (a 500) when the database reads it. Given in UTC, since
    PostgreSQL refuses offsets past ±15:59 that Python reads."""

    def to_python(self, value):
        try:
            moment = super().to_python(value)
            if moment is not None:
                timezone.localtime(moment)
                moment = moment.astimezone(datetime.UTC)
        except OverflowError:
            raise forms.ValidationError(
                gettext("%(value)s is out of range once in UTC: date-times go from 0001-01-01 to 9999-12-31 in UTC.")
                % {"value": value},
                code="out_of_range",
            ) from None
        return moment


class BoundedIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = BoundedIsoDateTimeField


class SearchTextField(forms.CharField):
    """A full-text query within SEARCH_MAX_CHARACTERS and SEARCH_MAX_WORDS: each word is one more SQL condition, and
    SQLite refuses an expression tree past 1,000 of them (a 500)."""

    def validate(self, value):
        super().validate(value)
        characters, words = len(value or ""), len(fold_text(value).split())
        problems = []
        if characters > settings.SEARCH_MAX_CHARACTERS:
            problems.append(
                forms.ValidationError(
                    gettext(
                        "The query has %(characters)s characters; the limit is %(limit)s "
                        "(DJANGO_SEARCH_MAX_CHARACTERS)."
                    )
                    % {"characters": characters, "limit": settings.SEARCH_MAX_CHARACTERS},
                    code="too_long",
                )
            )
        if words > settings.SEARCH_MAX_WORDS:
            problems.append(
                forms.ValidationError(
                    gettext("The query has %(words)s words; the limit is %(limit)s (DJANGO_SEARCH_MAX_WORDS).")
                    % {"words": words, "limit": settings.SEARCH_MAX_WORDS},
                    code="too_many_words",
                )
            )
        if problems:
            raise forms.ValidationError(problems)


class SearchFilter(django_filters.CharFilter):
    """A full-text query parameter (`q`), with the limits of SearchTextField."""

    field_class = SearchTextField


class _ResolvingFilter(django_filters.CharFilter):
    """A text parameter that names reference data. `resolve` turns the text into what it names, or raises a 400
    naming the parameter; a `method` then receives that instead of the text, otherwise `<field_name>__<lookup_expr>`
    filters on it. Resolved when the filter runs, not in form validation, so errors keep the FilterSet's order."""

    @property
    def method(self):
        return self._method

    @method.setter
    def method(self, value):
        # django-filter's setter would replace `filter` below by a call of the method on the raw text.
        self._method = value

    def resolve(self, value: str):
        raise NotImplementedError

    @property
    def param(self) -> str:
        """The query parameter's name (its key in the FilterSet): errors name it, `field_name` may be a lookup path."""
        return next(name for name, candidate in self.parent.filters.items() if candidate is self)

    def filter(self, queryset, value):
        if value in EMPTY_VALUES:
            return queryset
        resolved = self.resolve(value)
        if self.method is not None:
            return FilterMethod(self).method(queryset, self.field_name, resolved)
        return super().filter(queryset, resolved)


class CodeFilter(_ResolvingFilter):
    """Codes of a reference model with a unique `code` (Domain, Theme, Audience), comma-separated unless
    `multiple=False`; resolves to the codes given (each once, in their order), or a 400 naming every unknown one."""

    def __init__(self, *args, model: type[Model], multiple: bool = True, lookup_expr: str = "in", **kwargs):
        super().__init__(*args, lookup_expr=lookup_expr, **kwargs)
        # Not `self.model`: the FilterSet sets that attribute to its own model.
        self.code_model = model
        self.multiple = multiple

    def resolve(self, value: str) -> list[str]:
        codes = [code.strip() for code in value.split(",") if code.strip()] if self.multiple else [value]
        known = set(self.code_model.objects.filter(code__in=codes).values_list("code", flat=True))
        unknown = [code for code in codes if code not in known]
        if unknown:
            raise InvalidInput(
                [
                    ErrorItem(
                        field=self.param,
                        code="not_found",
                        message=gettext("Unknown %(parameter)s code(s): %(codes)s.")
                        % {"parameter": self.param, "codes": ", ".join(unknown)},
                    )
                ]
            )
        return list(dict.fromkeys(codes))


class TerritoryFilter(_ResolvingFilter):
    """An official territory code (`23096`, `200034825`, or `kind:code` when ambiguous); resolves to the Territory,
    or a 400 naming the parameter for an unknown, ambiguous or wrongly qualified code. When the FilterSet has a
    `catalogue_key` (see FilterBackend), a code resolved once is taken from the cache until the catalogue changes."""

    def resolve(self, value: str) -> Territory:
        catalogue_key = getattr(self.parent, "catalogue_key", None)
        return territory_resolve(code=value, field=self.param, catalogue_key=catalogue_key)


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, also handing the FilterSet what its view adds with `filterset_extra_kwargs()`: the
    offer list passes the catalogue state it read first, so that its territory filter resolves from the cache."""

    def get_filterset_kwargs(self, request, queryset, view):
        kwargs = super().get_filterset_kwargs(request, queryset, view)
        extra = getattr(view, "filterset_extra_kwargs", None)
        return {**kwargs, **extra()} if extra is not None else kwargs
