"""Serializers of the audiences app (shape and field validation only; writes go through services)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from api.exceptions import InvalidInput
from api.serializers import StrictJSONTypesMixin
from audiences import examples
from audiences.models import NEED_STATISTICS_FIELDS, Need, Survey, SurveyItem
from offers.models import Audience, Domain, Territory, Theme
from offers.selectors import territory_resolve


@extend_schema_field(OpenApiTypes.STR)
class TerritoryCodeField(serializers.Field):
    """A territory by official code on input (`23096`, `200034825`, `departement:23`); `kind:code` on output."""

    default_error_messages = {"invalid": "Expected a territory code."}

    def to_representation(self, value: Territory) -> str:
        return value.qualified_code

    def to_internal_value(self, data) -> Territory:
        if not isinstance(data, str) or not data.strip():
            self.fail("invalid")
        try:
            return territory_resolve(code=data, field=self.field_name)
        except InvalidInput as exc:
            raise serializers.ValidationError(exc.errors[0].message, code=exc.errors[0].code) from exc


def _code_field(model, **kwargs) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(slug_field="code", queryset=model.objects.all(), **kwargs)


@extend_schema_field({"type": "array", "items": {"type": "string"}, "uniqueItems": True})
class DataInclusionCodesField(serializers.JSONField):
    """Any JSON on input, checked by the model field's validator (the one the admin and loaders run too)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validators", list(Audience._meta.get_field("data_inclusion_codes").validators))
        super().__init__(**kwargs)


@extend_schema_serializer(examples=examples.AUDIENCE_EXAMPLES)
class AudienceDetailSerializer(StrictJSONTypesMixin, serializers.ModelSerializer):
    data_inclusion_codes = DataInclusionCodesField(
        required=False,
        help_text="data·inclusion `publics` codes this audience maps to (e.g. `familles`), each once; they map "
        "the services of data·inclusion imports to this audience.",
    )

    class Meta:
        model = Audience
        fields = ["code", "label", "description", "data_inclusion_codes", "position"]
        extra_kwargs = {
            "code": {"help_text": "Stable slug, e.g. `remote-workers`; used in needs, surveys and uploads."},
            "label": {"help_text": "French label shown to people, e.g. « Télétravailleurs »."},
        }


@extend_schema_serializer(examples=examples.NEED_EXAMPLES)
class NeedSerializer(StrictJSONTypesMixin, serializers.ModelSerializer):
    audience = _code_field(Audience, help_text="Audience code (see /api/v1/audiences/).")
    domain = _code_field(Domain, help_text="Domain code of the taxonomy.")
    themes = _code_field(
        Theme, many=True, required=False, help_text="Theme codes; each must belong to the need's domain."
    )
    territory = TerritoryCodeField(
        required=False,
        allow_null=True,
        help_text="Scope by official code (`23096`, `200034825`, `departement:23`); null = the whole area.",
    )
    # Method fields, not `default=None`: DRF skips a defaulted field in a PATCH answer, which then lacked them.
    territory_name = serializers.SerializerMethodField()
    survey = serializers.SerializerMethodField(
        help_text="Survey this need was computed from (null for hand-made or imported needs)."
    )
    survey_item = serializers.SerializerMethodField(help_text="Code of the survey item.")

    class Meta:
        model = Need
        fields = [
            "id",
            "audience",
            "domain",
            "themes",
            "statement",
            "territory",
            "territory_name",
            "stage",
            "importance",
            "satisfaction",
            "demand_volume",
            "source",
            "source_reference",
            "source_date",
            "external_id",
            "survey",
            "survey_item",
            *NEED_STATISTICS_FIELDS,
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            *NEED_STATISTICS_FIELDS,
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "importance": {"min_value": 0.0, "max_value": 1.0, "help_text": "0-1: how much the audience cares."},
            "satisfaction": {"min_value": 0.0, "max_value": 1.0, "help_text": "0-1: satisfaction with what exists."},
            "demand_volume": {"help_text": "Number of people or households expressing the need."},
            "external_id": {"help_text": "Your identifier; (source, external_id) is unique and keys imports."},
            "response_count": {"help_text": "Survey answers behind `importance` (null for non-survey needs)."},
            "weighted_response_count": {
                "help_text": "Weighted respondents behind `importance` (sum of their survey weights; equals "
                "response_count without weights)."
            },
            "effective_response_count": {
                "help_text": "Kish effective sample size of `importance`, (Σw)² / Σw²: what the interval rests on "
                "(equals response_count without weights)."
            },
            "importance_ci_low": {"help_text": "Lower bound of the 95% confidence interval of importance."},
            "importance_ci_high": {"help_text": "Upper bound of the 95% confidence interval of importance."},
            "satisfaction_response_count": {"help_text": "Survey answers behind `satisfaction`."},
            "satisfaction_effective_response_count": {
                "help_text": "Kish effective sample size of `satisfaction` (equals satisfaction_response_count "
                "without weights)."
            },
            "satisfaction_ci_low": {"help_text": "Lower bound of the 95% confidence interval of satisfaction."},
            "satisfaction_ci_high": {"help_text": "Upper bound of the 95% confidence interval of satisfaction."},
        }

    def get_territory_name(self, need: Need) -> str | None:
        return need.territory.name if need.territory_id else None

    def get_survey(self, need: Need) -> int | None:
        return need.survey_item.survey_id if need.survey_item_id else None

    def get_survey_item(self, need: Need) -> str | None:
        return need.survey_item.code if need.survey_item_id else None


class SurveyItemSerializer(StrictJSONTypesMixin, serializers.ModelSerializer):
    domain = _code_field(Domain, help_text="Domain code of the taxonomy.")
    themes = _code_field(Theme, many=True, required=False, help_text="Theme codes, all of the item's domain.")

    class Meta:
        model = SurveyItem
        fields = ["code", "domain", "themes", "statement", "measures_importance", "measures_satisfaction", "stage"]
        extra_kwargs = {"code": {"help_text": "Item code, as in the `item` column of response files."}}


@extend_schema_serializer(examples=examples.SURVEY_EXAMPLES)
class SurveySerializer(StrictJSONTypesMixin, serializers.ModelSerializer):
    audiences = _code_field(Audience, many=True, required=False, help_text="Audience codes the survey targets.")
    items = SurveyItemSerializer(
        many=True,
        required=False,
        help_text="The survey's questions. On create and update, the list given REPLACES the items (matched by "
        "code: an item left out is deleted with its responses and needs); omit it in a PATCH to keep them.",
    )
    response_count = serializers.IntegerField(read_only=True, help_text="Stored answers (respondent x item).")
    respondent_count = serializers.IntegerField(read_only=True, help_text="Distinct respondents.")

    class Meta:
        model = Survey
        fields = [
            "id",
            "title",
            "reference",
            "date",
            "audiences",
            "scale_min",
            "scale_max",
            "items",
            "response_count",
            "respondent_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {
            "scale_min": {"help_text": "Lowest point of the answer scale (1 on a 1-5 Likert scale)."},
            "scale_max": {"help_text": "Highest point of the answer scale; fixed once responses are stored."},
        }


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The CSV (or JSON) file.")


class NeedsUploadSerializer(UploadSerializer):
    dry_run = serializers.BooleanField(
        default=False, help_text="Validate and count only; nothing is written.", required=False
    )


@extend_schema_serializer(examples=examples.NEEDS_IMPORT_REPORT_EXAMPLES)
class NeedsImportReportSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(help_text="True when nothing was written.")
    rows = serializers.IntegerField(help_text="Records read.")
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()


@extend_schema_serializer(examples=examples.SURVEY_RESPONSES_REPORT_EXAMPLES)
class SurveyResponsesReportSerializer(serializers.Serializer):
    rows = serializers.IntegerField(help_text="Rows read from the file.")
    responses_created = serializers.IntegerField()
    responses_updated = serializers.IntegerField()
    responses_unchanged = serializers.IntegerField()
    needs_created = serializers.IntegerField(help_text="Needs (item x audience x territory) created.")
    needs_updated = serializers.IntegerField()
    needs_unchanged = serializers.IntegerField()
    needs_deleted = serializers.IntegerField(help_text="Needs of groups that no longer have any answer.")


@extend_schema_serializer(examples=examples.NEED_EXPORT_EXAMPLES)
class NeedExportRecordSerializer(serializers.Serializer):
    """One record of the needs export (`format=json`): the import columns, then the computed ones (schema only)."""

    external_id = serializers.CharField()
    audience = serializers.CharField(help_text="Audience code.")
    domain = serializers.CharField(help_text="Domain code.")
    themes = serializers.CharField(help_text="Theme codes separated by `|`.")
    statement = serializers.CharField()
    territory = serializers.CharField(help_text="Qualified territory code, or '' for the whole area.")
    stage = serializers.CharField()
    importance = serializers.FloatField()
    satisfaction = serializers.FloatField(allow_null=True)
    demand_volume = serializers.IntegerField(allow_null=True)
    source = serializers.CharField()
    source_reference = serializers.CharField()
    source_date = serializers.CharField(help_text="ISO date, or ''.")
    id = serializers.IntegerField()
    response_count = serializers.IntegerField(allow_null=True)
    weighted_response_count = serializers.FloatField(allow_null=True)
    effective_response_count = serializers.FloatField(allow_null=True)
    importance_ci_low = serializers.FloatField(allow_null=True)
    importance_ci_high = serializers.FloatField(allow_null=True)
    satisfaction_response_count = serializers.IntegerField(allow_null=True)
    satisfaction_effective_response_count = serializers.FloatField(allow_null=True)
    satisfaction_ci_low = serializers.FloatField(allow_null=True)
    satisfaction_ci_high = serializers.FloatField(allow_null=True)
    updated_at = serializers.DateTimeField()
