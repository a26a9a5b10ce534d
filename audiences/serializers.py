"""Serializers of the audiences app (shape and field validation only; writes go through services)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from api.exceptions import InvalidInput
from api.serializers import ErrorItemSerializer, StrictJSONTypesMixin
from audiences import examples
from audiences.models import NEED_STATISTICS_FIELDS, JourneyStage, Need, Survey, SurveyItem
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
        help_text="Scope by official code (`23096`, `200034825`, `departement:23`); null = the whole area "
        "(instance-wide analysts only). Analysts of a territory write within theirs; when they omit it on create, "
        "their territory if they have exactly one.",
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
    territory = TerritoryCodeField(
        required=False,
        allow_null=True,
        help_text="The territory surveyed, by official code (`200034825`, `departement:23`); null = the whole "
        "instance. Analysts of a territory see the surveys lying within theirs; when they omit it on create, their "
        "territory if they have exactly one.",
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
            "territory",
            "audiences",
            "scale_min",
            "scale_max",
            "items",
            "previous_wave",
            "response_count",
            "respondent_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "previous_wave", "created_at", "updated_at"]
        extra_kwargs = {
            "scale_min": {"help_text": "Lowest point of the answer scale (1 on a 1-5 Likert scale)."},
            "scale_max": {"help_text": "Highest point of the answer scale; fixed once responses are stored."},
            "previous_wave": {
                "help_text": "Id of the earlier wave of this survey (null for a first wave); next waves are made "
                "with POST /surveys/{id}/waves/."
            },
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


# Open answers and candidate needs ---------------------------------------------------------------------------------


class OpenAnswersQuerySerializer(serializers.Serializer):
    question = serializers.CharField(required=False, help_text="Only the answers to this open question (its code).")
    theme = serializers.CharField(
        required=False,
        help_text="Only the answers filed under this theme code, or `unclassified` for those under none.",
    )


class OpenAnswerThemeSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Theme code.")
    label = serializers.CharField()
    score = serializers.FloatField(help_text="Cosine of the answer (or one of its parts) with the theme's text.")


@extend_schema_serializer(examples=examples.OPEN_ANSWER_EXAMPLES)
class SurveyOpenAnswerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    question = serializers.CharField(help_text="The open question's code in the survey's mapping.")
    respondent_id = serializers.CharField()
    text = serializers.CharField(help_text="The answer, e-mail addresses, phone numbers, links and names masked.")
    audience = serializers.CharField(allow_null=True, help_text="The respondent's audience code.")
    commune = serializers.CharField(allow_null=True, help_text="INSEE code of the respondent's commune.")
    weight = serializers.FloatField(help_text="The respondent's survey weight.")
    themes = OpenAnswerThemeSerializer(many=True, help_text="At most two themes, best first; empty = unclassified.")


class OpenAnswerQuoteSerializer(serializers.Serializer):
    answer_id = serializers.IntegerField()
    respondent_id = serializers.CharField()
    text = serializers.CharField(help_text="Masked: e-mail addresses, phone numbers, links, names after a civility.")
    score = serializers.FloatField(allow_null=True, help_text="How well it fits the theme (null when unclassified).")


class OpenAnswerAudienceCountSerializer(serializers.Serializer):
    audience = serializers.CharField(allow_null=True, help_text="Audience code; null = answers without one.")
    count = serializers.IntegerField()
    weighted_count = serializers.FloatField(help_text="Sum of the respondents' weights.")


class OpenAnswerUnclassifiedSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Answers no theme reached (counted, never dropped).")
    weighted_count = serializers.FloatField()
    share = serializers.FloatField(help_text="weighted_count / the question's weighted answers.")
    audiences = OpenAnswerAudienceCountSerializer(many=True)
    quotes = OpenAnswerQuoteSerializer(many=True, help_text="Up to 5 examples, masked, each text once.")


class OpenAnswerGroupSerializer(OpenAnswerUnclassifiedSerializer):
    theme = serializers.CharField(help_text="Theme code.")
    theme_label = serializers.CharField()
    domain = serializers.CharField(help_text="The theme's domain code.")

    class Meta:
        fields = ["theme", "theme_label", "domain", "count", "weighted_count", "share", "audiences", "quotes"]


class OpenQuestionSummarySerializer(serializers.Serializer):
    question = serializers.CharField(help_text="The open question's code.")
    label = serializers.CharField(help_text="Its text, from the survey's mapping (the code when unknown).")
    answers = serializers.IntegerField(help_text="Respondents who answered it.")
    weighted_answers = serializers.FloatField(help_text="Their weights' sum: the denominator of every share.")
    groups = OpenAnswerGroupSerializer(
        many=True, help_text="One per theme, largest first; an answer with two themes counts in both."
    )
    unclassified = OpenAnswerUnclassifiedSerializer()


@extend_schema_serializer(examples=examples.CANDIDATE_NEED_EXAMPLES)
class CandidateNeedSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="`question:theme:audience` (`~` = answers without an audience).")
    status = serializers.ChoiceField(choices=["pending", "accepted", "rejected"])
    question = serializers.CharField()
    question_label = serializers.CharField()
    statement = serializers.CharField(help_text="Proposed statement, from the theme and the question (editable).")
    domain = serializers.CharField(help_text="Domain code.")
    themes = serializers.ListField(child=serializers.CharField(), help_text="Theme codes.")
    audience = serializers.CharField(
        allow_null=True,
        help_text="The audience the need would be for: the answers' audience, else the survey's only audience; "
        "null = give one when accepting.",
    )
    answer_audience = serializers.CharField(allow_null=True, help_text="The audience of the answers grouped here.")
    territory = serializers.CharField(
        source="territory_code", allow_null=True, help_text="The survey's territory (`kind:code`); null = whole area."
    )
    stage = serializers.CharField()
    importance = serializers.FloatField(
        help_text="Proposed from the share of respondents naming the theme: 0.9 from 20%, 0.75 from 10%, 0.6 from "
        "5%, else 0.4; at most 0.6 under 5 answers."
    )
    source = serializers.CharField()
    source_reference = serializers.CharField()
    source_date = serializers.DateField()
    count = serializers.IntegerField(help_text="Answers behind the candidate.")
    weighted_count = serializers.FloatField(help_text="Their weights' sum (the need's demand_volume, rounded).")
    respondents = serializers.FloatField(help_text="Weighted respondents of this audience to the question.")
    share = serializers.FloatField(help_text="weighted_count / respondents.")
    quotes = OpenAnswerQuoteSerializer(many=True, help_text="Up to 5, most representative first, masked.")
    need = serializers.IntegerField(allow_null=True, help_text="The need created when accepted.")
    decided_at = serializers.DateTimeField(allow_null=True)
    decided_by = serializers.CharField(allow_null=True)
    previous_decision = serializers.ChoiceField(
        choices=["accepted", "rejected"],
        allow_null=True,
        help_text="A decision taken before the group's answers changed (a new upload) or its need was deleted: "
        "the candidate is pending again.",
    )


@extend_schema_serializer(examples=examples.CANDIDATE_NEEDS_EXAMPLES)
class CandidateNeedsSerializer(serializers.Serializer):
    threshold = serializers.FloatField(help_text="Cosine an answer needs to be filed under a theme.")
    second_threshold = serializers.FloatField(help_text="Cosine a second theme of the same answer needs.")
    questions = OpenQuestionSummarySerializer(many=True)
    candidates = CandidateNeedSerializer(many=True)


class CandidateNeedsQuerySerializer(serializers.Serializer):
    question = serializers.CharField(required=False, help_text="Only this open question's groups and candidates.")
    status = serializers.ChoiceField(
        choices=["pending", "accepted", "rejected"], required=False, help_text="Only candidates in this status."
    )


@extend_schema_serializer(examples=examples.CANDIDATE_NEED_ACCEPT_EXAMPLES)
class CandidateNeedAcceptSerializer(StrictJSONTypesMixin, serializers.Serializer):
    """Edits of the proposal, all optional; the need is then validated like any need."""

    statement = serializers.CharField(required=False)
    importance = serializers.FloatField(required=False, min_value=0.0, max_value=1.0)
    audience = _code_field(Audience, required=False, help_text="Audience code.")
    themes = _code_field(
        Theme, many=True, required=False, help_text="Theme codes, all of one domain (the need's domain)."
    )
    territory = TerritoryCodeField(
        required=False, allow_null=True, help_text="Official code inside the survey's territory; null = whole area."
    )
    stage = serializers.ChoiceField(choices=JourneyStage.choices, required=False)


@extend_schema_serializer(examples=examples.SURVEY_WAVE_CREATE_EXAMPLES)
class SurveyWaveCreateSerializer(StrictJSONTypesMixin, serializers.Serializer):
    title = serializers.CharField(max_length=200, help_text="Title of the new wave, e.g. « Enquête habitants 2026 ».")
    date = serializers.DateField(help_text="Date of the new wave; after the previous wave's.")
    reference = serializers.CharField(
        max_length=200, required=False, default="", allow_blank=True, help_text="Your reference of the new wave."
    )


class SurveyCompareQuerySerializer(serializers.Serializer):
    with_ = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**63 - 1,
        help_text="Id of the earlier wave to compare with (any earlier wave of the same chain); default: the "
        "survey's previous wave.",
    )
    format = serializers.ChoiceField(
        choices=("json", "csv", "xlsx"),
        default="json",
        help_text="`json`, `csv`: one line per item x audience, or `xlsx`: the same lines as typed cells with a "
        "sheet describing the columns.",
    )

    def get_fields(self):
        fields = super().get_fields()
        fields["with"] = fields.pop("with_")  # `with` is a Python keyword
        return fields


class SurveyWaveSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    reference = serializers.CharField()
    date = serializers.DateField()


class SurveyWaveItemSerializer(serializers.Serializer):
    code = serializers.CharField()
    statement = serializers.CharField()


class SurveyWaveMeasureSerializer(serializers.Serializer):
    """One measure (normalised to 0-1) in both waves, and how it moved."""

    before_mean = serializers.FloatField(allow_null=True, help_text="Weighted mean in the earlier wave.")
    before_ci_low = serializers.FloatField(allow_null=True)
    before_ci_high = serializers.FloatField(allow_null=True)
    before_response_count = serializers.IntegerField(help_text="Answers in the earlier wave.")
    before_effective_response_count = serializers.FloatField(
        allow_null=True, help_text="Kish effective sample size in the earlier wave."
    )
    after_mean = serializers.FloatField(allow_null=True, help_text="Weighted mean in this wave.")
    after_ci_low = serializers.FloatField(allow_null=True)
    after_ci_high = serializers.FloatField(allow_null=True)
    after_response_count = serializers.IntegerField(help_text="Answers in this wave.")
    after_effective_response_count = serializers.FloatField(allow_null=True)
    difference = serializers.FloatField(allow_null=True, help_text="after_mean - before_mean.")
    difference_ci_low = serializers.FloatField(
        allow_null=True, help_text="95% interval of the difference (Welch, on effective sample sizes)."
    )
    difference_ci_high = serializers.FloatField(allow_null=True)
    p_value = serializers.FloatField(allow_null=True, help_text="Two-sided p-value of Welch's test.")
    significant = serializers.BooleanField(
        allow_null=True,
        help_text="The interval excludes 0 (p < 0.05); null when a wave has fewer than two answers.",
    )


class SurveyWaveRowSerializer(serializers.Serializer):
    item = serializers.CharField(help_text="Item code, the same in both waves.")
    statement = serializers.CharField(help_text="The item's statement in this wave.")
    audience = serializers.CharField(allow_null=True, help_text="Audience code; null = every respondent together.")
    importance = SurveyWaveMeasureSerializer(allow_null=True, help_text="Null when neither wave measured it.")
    satisfaction = SurveyWaveMeasureSerializer(allow_null=True, help_text="Null when neither wave measured it.")


@extend_schema_serializer(examples=examples.SURVEY_WAVE_COMPARISON_EXAMPLES)
class SurveyWaveComparisonSerializer(serializers.Serializer):
    survey = SurveyWaveSerializer(help_text="This wave.")
    baseline = SurveyWaveSerializer(help_text="The earlier wave it is compared with.")
    items_added = SurveyWaveItemSerializer(many=True, help_text="Items of this wave only.")
    items_dropped = SurveyWaveItemSerializer(many=True, help_text="Items of the earlier wave only.")
    rows = SurveyWaveRowSerializer(many=True, help_text="Items of both waves, per audience and all together.")


# Wide survey files: the mapping (schema of the JSON the service validates whole), uploads and their answers. ------


class SurveyMappingColumnSerializer(serializers.Serializer):
    column = serializers.CharField(help_text="The header of a column of the file.")


class SurveyMappingAudienceSerializer(serializers.Serializer):
    column = serializers.CharField(required=False, help_text="The profile question giving the audience.")
    values = serializers.DictField(
        child=serializers.CharField(allow_null=True),
        required=False,
        help_text="Each answer of that column (compared without case or accents) -> an audience code.",
    )
    code = serializers.CharField(required=False, help_text="Instead of a column: the one audience of the whole file.")


class SurveyMappingCommuneSerializer(serializers.Serializer):
    column = serializers.CharField(help_text="The column giving the respondent's commune.")
    kind = serializers.ChoiceField(
        choices=["auto", "insee", "postal_code", "name"],
        required=False,
        default="auto",
        help_text="How to read it: INSEE code, postal code, name, or `auto` (each in turn).",
    )


SCALE_SCHEMA = {
    "oneOf": [
        {"type": "string", "enum": ["auto"], "description": "A French Likert scale recognised from the labels."},
        {
            "type": "object",
            "properties": {
                "points": {
                    "type": "object",
                    "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 1000},
                    "description": "Answer label (or code, such as LimeSurvey's A1) -> point.",
                },
                "missing": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Labels meaning no answer (« Ne sait pas », « Non concerné » always do).",
                },
                "min": {"type": "integer", "description": "Lowest point of the scale (default: the lowest given)."},
                "max": {"type": "integer", "description": "Highest point of the scale (default: the highest given)."},
            },
        },
    ]
}


@extend_schema_field(SCALE_SCHEMA)
class SurveyMappingScaleField(serializers.JSONField):
    """`"auto"`, or explicit `points` (+ `missing`), or `min`/`max` for answers written as numbers (schema only)."""


class SurveyMappingQuestionSerializer(serializers.Serializer):
    column = serializers.CharField(help_text="The header of the question's column.")
    item = serializers.CharField(allow_null=True, help_text="Code of the survey item (null in a suggestion: to fill).")
    measure = serializers.ChoiceField(
        choices=["importance", "satisfaction"], allow_null=True, help_text="What the column measures."
    )
    scale = SurveyMappingScaleField(required=False, help_text='The answer scale; default "auto".')


class SurveyMappingOpenQuestionSerializer(serializers.Serializer):
    column = serializers.CharField(help_text="The header of the open question's column.")
    code = serializers.CharField(help_text="Code of the open question (1-64 letters, digits, '-' or '_').")
    label = serializers.CharField(required=False, help_text="The question as asked.")


@extend_schema_serializer(examples=examples.SURVEY_MAPPING_EXAMPLES)
class SurveyMappingSerializer(serializers.Serializer):
    """The mapping of a wide file onto a survey (schema only: `audiences.services.survey_mapping` validates it)."""

    columns = serializers.ListField(
        child=serializers.CharField(), help_text="Every header of the file; a file with other headers is refused."
    )
    respondent = SurveyMappingColumnSerializer(
        required=False, help_text="The respondent id column (default: the file's line number)."
    )
    audience = SurveyMappingAudienceSerializer(required=False)
    commune = SurveyMappingCommuneSerializer(required=False)
    weight = SurveyMappingColumnSerializer(required=False, help_text="The respondent weight column (> 0).")
    questions = SurveyMappingQuestionSerializer(many=True, required=False)
    open_questions = SurveyMappingOpenQuestionSerializer(many=True, required=False)
    ignored = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Columns read by no one (dates, tool metadata)."
    )


class SurveyFileSerializer(UploadSerializer):
    file = serializers.FileField(help_text="The survey tool's export: CSV (any encoding, `,` `;` or tab) or XLSX.")
    sheet = serializers.CharField(
        required=False, max_length=100, help_text="XLSX only: the sheet to read (default: the first)."
    )


class SurveyWideUploadSerializer(SurveyFileSerializer):
    mapping = serializers.CharField(
        required=False,
        help_text="The mapping as JSON text (see GET .../mapping/); omitted = the survey's stored mapping. Given to "
        "the import, it is stored once the file is imported.",
    )


class SurveyWidePreviewUploadSerializer(SurveyWideUploadSerializer):
    rows = serializers.IntegerField(
        required=False, default=20, min_value=1, max_value=200, help_text="How many rows to show (1-200)."
    )


class SurveyMappingSuggestedColumnSerializer(serializers.Serializer):
    column = serializers.CharField()
    position = serializers.IntegerField(help_text="1 for the first column.")
    role = serializers.ChoiceField(
        choices=["respondent", "audience", "commune", "weight", "question", "open_question", "ignored"]
    )
    distinct_values = serializers.IntegerField(help_text="How many distinct answers the column holds.")
    values_seen = serializers.ListField(child=serializers.CharField(), help_text="The first 12, sorted.")
    scale = serializers.CharField(required=False, help_text="The scale recognised (questions).")
    note = serializers.CharField(help_text="What to check, or why the column was classed so.")


@extend_schema_serializer(examples=examples.SURVEY_MAPPING_SUGGESTION_EXAMPLES)
class SurveyMappingSuggestionSerializer(serializers.Serializer):
    mapping = SurveyMappingSerializer(help_text="The proposed mapping: edit it (nulls to fill), then PUT it.")
    columns = SurveyMappingSuggestedColumnSerializer(many=True)


class SurveyWideAnswerSerializer(serializers.Serializer):
    column = serializers.CharField()
    item = serializers.CharField()
    measure = serializers.CharField()
    value = serializers.CharField(allow_null=True, help_text="The cell as written.")
    point = serializers.IntegerField(allow_null=True, help_text="Its point on the scale (null = no answer).")


class SurveyWideOpenAnswerSerializer(serializers.Serializer):
    code = serializers.CharField()
    text = serializers.CharField()


class SurveyWidePreviewRowSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="Line (CSV) or row (XLSX) of the file.")
    respondent_id = serializers.CharField(allow_null=True)
    audience = serializers.CharField(allow_null=True)
    commune_value = serializers.CharField(allow_null=True, help_text="The commune as written.")
    commune = serializers.CharField(allow_null=True, help_text="The territory it resolved to (`kind:code`).")
    commune_name = serializers.CharField(allow_null=True)
    weight = serializers.FloatField(allow_null=True)
    answers = SurveyWideAnswerSerializer(many=True)
    open_answers = SurveyWideOpenAnswerSerializer(many=True)


class SurveyWideScaleSerializer(serializers.Serializer):
    column = serializers.CharField()
    item = serializers.CharField()
    measure = serializers.CharField()
    scale = serializers.CharField(help_text="`importance-4`, `satisfaction-5`, `numeric-0-10`, `explicit`...")
    min = serializers.IntegerField()
    max = serializers.IntegerField()
    values = serializers.DictField(
        child=serializers.IntegerField(allow_null=True), help_text="Each distinct answer -> its point."
    )


@extend_schema_serializer(examples=examples.SURVEY_WIDE_PREVIEW_EXAMPLES)
class SurveyWidePreviewSerializer(serializers.Serializer):
    rows = serializers.IntegerField(help_text="Respondent rows in the file.")
    sheet = serializers.CharField(allow_null=True, help_text="The sheet read (XLSX).")
    valid = serializers.BooleanField(help_text="True when the import would succeed.")
    error_count = serializers.IntegerField(help_text="Every problem of the file (the list stops at the cap).")
    errors = ErrorItemSerializer(many=True)
    scales = SurveyWideScaleSerializer(many=True, help_text="The scale each question column is read on.")
    preview = SurveyWidePreviewRowSerializer(many=True)


@extend_schema_serializer(examples=examples.SURVEY_WIDE_REPORT_EXAMPLES)
class SurveyWideReportSerializer(serializers.Serializer):
    rows = serializers.IntegerField(help_text="Respondent rows read.")
    respondents = serializers.IntegerField()
    responses_created = serializers.IntegerField(help_text="Answers (respondent x item) stored for the first time.")
    responses_updated = serializers.IntegerField()
    responses_unchanged = serializers.IntegerField()
    responses_deleted = serializers.IntegerField(help_text="Stored answers the file's respondents no longer give.")
    open_answers = serializers.IntegerField(
        help_text="Open answers stored (those of the file's respondents replaced)."
    )
    mapping_stored = serializers.BooleanField(help_text="True when the request's mapping replaced the stored one.")
    needs_created = serializers.IntegerField()
    needs_updated = serializers.IntegerField()
    needs_unchanged = serializers.IntegerField()
    needs_deleted = serializers.IntegerField()
