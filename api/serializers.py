"""Serializers of the cross-cutting API layer: the error body and the health report."""

from rest_framework import serializers


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


class ErrorSerializer(serializers.Serializer):
    status = serializers.IntegerField(help_text="HTTP status code, repeated for convenience.")
    code = serializers.CharField(help_text="Stable machine-readable error code, e.g. `invalid`, `not_found`.")
    message = serializers.CharField(help_text="Summary of the error, for a person.")
    errors = ErrorItemSerializer(many=True, help_text="Every precise problem found (empty when not applicable).")


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "unavailable"])
    database = serializers.ChoiceField(choices=["ok", "unavailable"])
    version = serializers.CharField()
