"""Filters shared by the apps' FilterSets, stricter than django-filter's: a value that is not what the parameter
documents is a 400 naming it, never silently ignored."""

import django_filters
from django import forms


class StrictBooleanField(forms.NullBooleanField):
    """`true` or `false` (any case); empty means not given. django-filter's own field reads `?is_free=maybe` as
    "not given" and answers the unfiltered list."""

    widget = forms.TextInput
    default_error_messages = {"invalid": "Expected true or false."}

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


class IdFilter(django_filters.NumberFilter):
    """An integer id: `0.5` is refused with a 400 instead of silently matching nothing."""

    field_class = forms.IntegerField
