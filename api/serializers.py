"""Serializers of the cross-cutting API layer: the error body, the health report, the API root and tokens."""

from django.http import QueryDict
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer

from api import examples


class ErrorItemSerializer(serializers.Serializer):
    field = serializers.CharField(
        allow_null=True,
        help_text="Dotted path of the field at fault (e.g. `themes.0`), or null for the whole request.",
    )
    line = serializers.IntegerField(
        allow_null=True, help_text="Line number in an uploaded file (header = line 1), or null."
    )
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. `required`, `invalid`, `out_of_range`.")
    message = serializers.CharField(help_text="What is wrong, for a person.")


@extend_schema_serializer(examples=examples.ERROR_EXAMPLES)
class ErrorSerializer(serializers.Serializer):
    status = serializers.IntegerField(help_text="HTTP status code, repeated for convenience.")
    code = serializers.CharField(help_text="Stable machine-readable error code, e.g. `invalid`, `not_found`.")
    message = serializers.CharField(help_text="Summary of the error, for a person.")
    errors = ErrorItemSerializer(
        many=True,
        help_text=(
            "Every precise problem found (empty when not applicable). At most `DJANGO_ERROR_LIST_MAX` (100 by "
            "default), then one last item with the code `too_many_errors` saying how many more there were."
        ),
    )


@extend_schema_serializer(examples=examples.HEALTH_EXAMPLES)
class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "unavailable"])
    database = serializers.ChoiceField(choices=["ok", "unavailable"])
    version = serializers.CharField()


@extend_schema_serializer(examples=examples.API_ROOT_EXAMPLES)
class ApiRootSerializer(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.CharField()
    links = serializers.DictField(child=serializers.URLField(), help_text="URL of each collection, by name.")


@extend_schema_serializer(examples=examples.TOKEN_REQUEST_EXAMPLES, component_name="Token")  # "TokenRequest"
class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"})


@extend_schema_serializer(examples=examples.TOKEN_RESPONSE_EXAMPLES)
class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send it as `Authorization: Token <token>`.")


def _expected_json_type(field) -> tuple[tuple[type, ...], str] | None:
    """The JSON types the schema documents for a writable field, or None when any value is passed through."""
    if isinstance(field, serializers.BooleanField):
        return (bool,), _("true or false")
    if isinstance(field, serializers.IntegerField):
        return (int,), _("a whole number")
    if isinstance(field, serializers.FloatField):
        return (int, float), _("a number")
    if isinstance(field, serializers.DecimalField):
        # Documented as a string with a pattern, so that amounts keep their exact decimals in every client.
        return (str,), _('a decimal written as a string (e.g. "12.50")')

    if isinstance(field, serializers.ListField | serializers.ManyRelatedField | serializers.ListSerializer):
        return (list,), _("a list")
    if isinstance(field, serializers.Serializer | serializers.DictField):
        return (dict,), _("an object")
    if isinstance(
        field,
        serializers.CharField
        | serializers.ChoiceField
        | serializers.DateField
        | serializers.DateTimeField
        | serializers.SlugRelatedField,
    ):
        return (str,), _("a string")
    return None


def _type_problem(value, expected: tuple[tuple[type, ...], str]) -> str | None:
    types, label = expected
    if value is None or (isinstance(value, types) and (bool in types or not isinstance(value, bool))):
        return None
    return gettext("Expected %(expected)s, got %(type)s.") % {"expected": label, "type": type(value).__name__}


class StrictJSONTypesMixin:
    """JSON bodies carry the types the schema documents. DRF alone reads `"description": 3.5` as "3.5", `"capacity":
    "40"` as 40 and `"is_free": "yes"` as true, which the contract, and the clients generated from it, call
    invalid: refuse them with a 400 naming each field (`code` = `invalid_type`)."""

    def to_internal_value(self, data):
        if isinstance(data, dict) and not isinstance(data, QueryDict):  # forms only ever carry strings
            errors = {}
            for field in self.fields.values():
                value = data.get(field.field_name)
                expected = None if field.read_only or value is None else _expected_json_type(field)
                if expected is None:
                    continue
                problem = _type_problem(value, expected)
                child = getattr(field, "child", None) or getattr(field, "child_relation", None)
                child_expected = _expected_json_type(child) if child is not None and not problem else None
                if child_expected is not None:
                    problem = next(filter(None, (_type_problem(item, child_expected) for item in value)), None)
                if problem:
                    errors[field.field_name] = [serializers.ErrorDetail(problem, code="invalid_type")]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class TokenCredentialsSerializer(StrictJSONTypesMixin, AuthTokenSerializer):
    """DRF's username and password check, with JSON types enforced like every other body."""
