"""Serializers of the matching app: runs (input and progress), per-need results with matched offers, search, and the
query parameters and response shapes of the reports (report, compare, IPA)."""

from collections.abc import Sequence

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.reverse import reverse

from api.serializers import StrictJSONTypesMixin
from matching import examples
from matching.labels import reasons_render
from matching.models import NEED_SNAPSHOT_FIELDS, IpaQuadrant, MatchedOffer, MatchingRun, NeedResult, Recommendation
from matching.reasons import RECOMMENDATIONS
from matching.reports import COMPARE_STATUSES, DEFAULT_GAP_DELTA, DEFAULT_GAP_FLOOR, DIMENSIONS, TERRITORY_LEVELS
from matching.scoring import CROSSHAIR_RULES


@extend_schema_serializer(examples=examples.MATCHING_RUN_CREATE_EXAMPLES)
class MatchingRunCreateSerializer(StrictJSONTypesMixin, serializers.Serializer):
    scope_territory = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Only needs in this territory (official code, or `kind:code`); needs without a territory are "
        "always included. Empty = every need. An analyst of territories scopes within them (400 outside); empty "
        "means their territory when they have exactly one. A run reads only the needs its launcher may see.",
    )
    scope_audiences = serializers.ListField(
        child=serializers.SlugField(), required=False, default=list, help_text="Audience codes; empty = all."
    )
    scope_domains = serializers.ListField(
        child=serializers.SlugField(), required=False, default=list, help_text="Domain codes; empty = all."
    )
    parameters = serializers.DictField(
        required=False,
        default=dict,
        help_text="Weights and thresholds of the engine (defaults filled in and stored with the run), plus "
        f"`ipa_rule` ({', '.join(CROSSHAIR_RULES)} with `ipa_importance_cross` and `ipa_satisfaction_cross`), "
        "`max_attempts` per chunk and `chunk_time_limit_seconds`. An unknown key is refused.",
    )
    reference_date = serializers.DateField(
        required=False, help_text="Date at which availability is judged (default: today)."
    )
    chunk_size = serializers.IntegerField(
        required=False, min_value=1, max_value=10_000, help_text="Needs per chunk (one background task each)."
    )


class MatchingRunProgressSerializer(serializers.Serializer):
    needs_done = serializers.IntegerField()
    needs_total = serializers.IntegerField()
    chunks_done = serializers.IntegerField()
    chunks_total = serializers.IntegerField()
    percent = serializers.FloatField()


class MatchingRunScoredStateSerializer(serializers.Serializer):
    state = serializers.IntegerField(
        allow_null=True, help_text="Catalogue state (version counter); null for an index that does not tell it."
    )
    version = serializers.CharField(help_text="Opaque label of the offer index the chunks scored against.")
    chunks = serializers.IntegerField(help_text="Written chunks scored against this index.")


class MatchingRunCatalogueStatesSerializer(serializers.Serializer):
    at_start = serializers.IntegerField(
        allow_null=True, help_text="Catalogue state when the run started (null for runs stored before it was kept)."
    )
    first = serializers.IntegerField(
        allow_null=True, help_text="Earliest catalogue state a written chunk scored against; null before any."
    )
    last = serializers.IntegerField(
        allow_null=True, help_text="Latest catalogue state a written chunk scored against; null before any."
    )
    used = MatchingRunScoredStateSerializer(
        many=True, help_text="Every offer index the written chunks scored against, by catalogue state."
    )


@extend_schema_serializer(examples=examples.MATCHING_RUN_EXAMPLES)
class MatchingRunSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    needs_url = serializers.SerializerMethodField()
    scope_territory = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    launched_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Username; null once the account is gone."
    )
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    progress = serializers.SerializerMethodField()
    catalogue_states = MatchingRunCatalogueStatesSerializer(
        read_only=True,
        help_text="Which catalogue states the results used: the catalogue is not frozen during a run, each chunk "
        "scores the latest state when a worker takes it, so edits made meanwhile never fail the run.",
    )

    class Meta:
        model = MatchingRun
        fields = [
            "id",
            "url",
            "needs_url",
            "status",
            "status_label",
            "progress",
            "scope_territory",
            "scope_audiences",
            "scope_domains",
            "parameters",
            "reference_date",
            "algorithm_version",
            "chunk_size",
            "snapshot",
            "catalogue_states",
            "timings",
            "error",
            "launched_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_url(self, run) -> str:
        return reverse("matching:run-detail", kwargs={"pk": run.pk}, request=self.context.get("request"))

    def get_needs_url(self, run) -> str:
        return reverse("matching:run-need-list", kwargs={"run_id": run.pk}, request=self.context.get("request"))

    @staticmethod
    def _progress(run) -> dict:
        percent = 100.0 if run.needs_total == 0 else round(100.0 * run.needs_done / run.needs_total, 1)
        return {
            "needs_done": run.needs_done,
            "needs_total": run.needs_total,
            "chunks_done": run.chunks_done,
            "chunks_total": run.chunks_total,
            "percent": percent,
        }

    @extend_schema_field(MatchingRunProgressSerializer)
    def get_progress(self, run) -> dict:
        return self._progress(run)


class MatchedOfferSerializer(serializers.ModelSerializer):
    matched_words = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Words of the need's statement, as written, found in the offer's text (same word, same stem or "
        "close spelling; stop words left out).",
    )

    class Meta:
        model = MatchedOffer
        fields = [
            "rank",
            "offer",
            "offer_title",
            "score",
            "relevance",
            "text",
            "theme",
            "audience",
            "geography",
            "availability",
            "capacity",
            "distance_km",
            "matched_words",
        ]
        read_only_fields = fields


class NeedResultReasonSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="no-relevant-offer, distance, audience, availability, capacity, ...")
    message = serializers.CharField(help_text="The reason for a strategist, in the language of the request.")
    offers = serializers.ListField(child=serializers.IntegerField(), help_text="Ids of the offers concerned.")
    constraint = serializers.CharField(required=False, help_text="The failing constraint, for `adjust`.")


@extend_schema_serializer(examples=examples.NEED_RESULT_EXAMPLES)
class NeedResultSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    recommendation_label = serializers.CharField(source="get_recommendation_display", read_only=True)
    reasons = serializers.SerializerMethodField()
    ipa_quadrant_label = serializers.CharField(source="get_ipa_quadrant_display", read_only=True)

    class Meta:
        model = NeedResult
        fields = [
            "id",
            "url",
            "need",
            *NEED_SNAPSHOT_FIELDS,
            "coverage",
            "gap",
            "best_relevance",
            "recommendation",
            "recommendation_label",
            "reasons",
            "ipa_quadrant",
            "ipa_quadrant_label",
            "ipa_gap",
        ]
        read_only_fields = fields

    @extend_schema_field(NeedResultReasonSerializer(many=True))
    def get_reasons(self, result) -> list[dict]:
        return reasons_render(result.reasons)

    def get_url(self, result) -> str:
        return reverse(
            "matching:run-need-detail",
            kwargs={"run_id": result.run_id, "pk": result.pk},
            request=self.context.get("request"),
        )


@extend_schema_serializer(examples=examples.NEED_RESULT_DETAIL_EXAMPLES)
class NeedResultDetailSerializer(NeedResultSerializer):
    matched_offers = MatchedOfferSerializer(many=True, read_only=True)

    class Meta(NeedResultSerializer.Meta):
        fields = [*NeedResultSerializer.Meta.fields, "matched_offers"]
        read_only_fields = fields


class MatchingSearchPointSerializer(StrictJSONTypesMixin, serializers.Serializer):
    lat = serializers.FloatField(min_value=-90, max_value=90)
    lon = serializers.FloatField(min_value=-180, max_value=180)


MAX_SEARCH_RADIUS_KM = 200


@extend_schema_serializer(
    examples=examples.MATCHING_SEARCH_EXAMPLES, component_name="MatchingSearch"
)  # "MatchingSearchRequest" once split for requests
class MatchingSearchRequestSerializer(StrictJSONTypesMixin, serializers.Serializer):
    text = serializers.CharField(min_length=2, max_length=500, help_text="What the newcomer is looking for.")
    audience = serializers.SlugField(required=False, help_text="Audience code: offers reserved to others rank lower.")
    domain = serializers.SlugField(required=False, help_text="Domain code: offers of this domain rank higher.")
    territory = serializers.CharField(
        required=False, help_text="Territory code: offers in or serving it rank first, then by distance."
    )
    near = MatchingSearchPointSerializer(required=False, help_text="A point: offers within `radius_km` rank first.")
    radius_km = serializers.FloatField(
        required=False, min_value=0.1, max_value=MAX_SEARCH_RADIUS_KM, help_text="Radius around `near` (default 10)."
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=50, default=10)

    def validate(self, data):
        if "radius_km" in data and "near" not in data:
            raise serializers.ValidationError({"radius_km": gettext("radius_km needs near.")})
        if "near" in data and "territory" in data:
            raise serializers.ValidationError({"near": gettext("Give territory or near, not both.")})
        return data


class MatchingSearchCommuneSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class MatchingSearchThemeSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Theme code.")
    label = serializers.CharField(help_text="Theme label (the taxonomy's, in French).")
    confidence = serializers.FloatField(help_text="Probability the request is about this theme (0-1).")


class MatchingSearchBreakdownSerializer(serializers.Serializer):
    relevance = serializers.FloatField()
    text = serializers.FloatField(
        help_text="Text term of relevance: the wording cosine, mixed with `semantic` when the offer has a vector "
        "((1 - semantic_weight) * wording + semantic_weight * semantic)."
    )
    semantic = serializers.FloatField(
        allow_null=True,
        help_text="Closeness in meaning of the request and the offer (multilingual e5 model, 0 unrelated - 1 same "
        "meaning); null when the offer has no vector yet (just created: a worker computes it within seconds) or "
        "semantic search is off.",
    )
    theme = serializers.FloatField(
        allow_null=True,
        help_text="Theme factor against the request's inferred themes (1 shared theme, 0.5 same domain, 0 other), "
        "or against `domain` when none was inferred; null when neither is known (relevance is then the text alone).",
    )
    themes = MatchingSearchThemeSerializer(
        many=True,
        help_text="Themes inferred from the request's text, above the confidence floor, most confident first.",
    )
    audience = serializers.FloatField()
    geography = serializers.FloatField()
    availability = serializers.FloatField()
    capacity = serializers.FloatField()
    matched_words = serializers.ListField(
        child=serializers.CharField(),
        help_text="Words of the request, as written, found in the offer's text (same word, same stem or close "
        "spelling; stop words left out).",
    )


class MatchingSearchHitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    commune = MatchingSearchCommuneSerializer(
        allow_null=True,
        help_text="Where the offer takes place; null for an offer without a place (remote, or serving an area).",
    )
    distance_km = serializers.FloatField(allow_null=True)
    score = serializers.FloatField()
    breakdown = MatchingSearchBreakdownSerializer()


@extend_schema_serializer(examples=examples.MATCHING_SEARCH_RESPONSE_EXAMPLES)
class MatchingSearchResponseSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    results = MatchingSearchHitSerializer(many=True)


_COMMA_LIST_MESSAGES = {
    "dimension": {
        "unknown": _("Unknown dimension %(values)s; allowed values: %(allowed)s."),
        "twice": _("A dimension is given twice."),
    },
    "status": {
        "unknown": _("Unknown status %(values)s; allowed values: %(allowed)s."),
        "twice": _("A status is given twice."),
    },
}


def _comma_list(value: str, *, allowed: tuple[str, ...], name: str, max_items: int) -> list[str]:
    items = [item.strip() for item in value.split(",") if item.strip()]
    unknown = [item for item in items if item not in allowed]
    if unknown:
        raise serializers.ValidationError(
            str(_COMMA_LIST_MESSAGES[name]["unknown"])
            % {"values": ", ".join(repr(item) for item in unknown), "allowed": ", ".join(allowed)}
        )
    if len(set(items)) != len(items):
        raise serializers.ValidationError(str(_COMMA_LIST_MESSAGES[name]["twice"]))
    if not 1 <= len(items) <= max_items:
        raise serializers.ValidationError(
            gettext("Give one to %(max)s comma-separated values among: %(allowed)s.")
            % {"max": max_items, "allowed": ", ".join(allowed)}
        )
    return items


GROUP_BY_HELP = (
    "One or two comma-separated dimensions among "
    + ", ".join(f"`{dimension}`" for dimension in DIMENSIONS)
    + " (e.g. `domain,audience`). A need with several themes counts in each of its themes."
)
TERRITORY_LEVEL_HELP = (
    "Level of the `territory` dimension: `region`, `departement`, `epci` or `commune`. Needs scoped to a wider area "
    "are grouped under that area (e.g. 'Creuse (tout le département)'); needs without territory under 'Tout le "
    "territoire'; a need whose territory spans several territories of the level (a custom territory of two EPCIs "
    "at `epci` level, an EPCI straddling two départements at `departement` level) under its own territory "
    "(e.g. 'Cornouaille (territoire de projet)')."
)


class ReportQuerySerializer(serializers.Serializer):
    group_by = serializers.CharField(default="domain", help_text=GROUP_BY_HELP)
    territory_level = serializers.ChoiceField(choices=TERRITORY_LEVELS, default="epci", help_text=TERRITORY_LEVEL_HELP)
    top = serializers.IntegerField(
        default=3, min_value=0, max_value=20, help_text="How many of the largest gaps to list per group (0 to 20)."
    )
    format = serializers.ChoiceField(
        choices=("json", "csv", "xlsx", "png", "svg", "html"),
        default="json",
        help_text="`json`; `csv` (one line per group, French headers, UTF-8 with BOM); `xlsx` (groups, top gaps "
        "and recommendation counts, one sheet each, typed cells); `png` or `svg`: a heatmap of total gap by the two "
        "dimensions (a bar chart with one dimension); `html`: the printable "
        "report document (one self-contained page for A4: scope, data read, method and parameters, heatmap, "
        "largest gaps with their reasons and offers, recommendations, IPA chart).",
    )

    def validate_group_by(self, value: str) -> list[str]:
        return _comma_list(value, allowed=DIMENSIONS, name="dimension", max_items=2)


class CompareQuerySerializer(serializers.Serializer):
    baseline = serializers.UUIDField(help_text="Id of the earlier run to compare with (a succeeded run).")
    group_by = serializers.CharField(default="domain", help_text=GROUP_BY_HELP)
    territory_level = serializers.ChoiceField(choices=TERRITORY_LEVELS, default="epci", help_text=TERRITORY_LEVEL_HELP)
    gap_floor = serializers.FloatField(
        default=DEFAULT_GAP_FLOOR,
        min_value=0.0,
        max_value=1.0,
        help_text="A gap at or below this value (or a `maintain` recommendation) counts as no gap: crossing it "
        "makes a gap `opened` or `closed`.",
    )
    gap_delta = serializers.FloatField(
        default=DEFAULT_GAP_DELTA,
        min_value=0.0,
        max_value=1.0,
        help_text="Smallest change of an open gap reported as `grew` or `shrank`; smaller changes are `unchanged`.",
    )
    status = serializers.CharField(
        required=False,
        help_text="Restrict the per-need list to these comma-separated statuses among "
        + ", ".join(f"`{status}`" for status in COMPARE_STATUSES)
        + " (the summary and groups always count every need).",
    )
    format = serializers.ChoiceField(
        choices=("json", "csv", "xlsx", "html"),
        default="json",
        help_text="`json`, `csv`: one line per need (French headers, UTF-8 with BOM), or `xlsx`: the needs, the "
        "counts per status with the totals, and the groups, one sheet each; `html`: the printable "
        "comparison document (what opened, grew, shrank and closed, by group and by need, with both runs' scope, "
        "data and method).",
    )

    def validate_group_by(self, value: str) -> list[str]:
        return _comma_list(value, allowed=DIMENSIONS, name="dimension", max_items=2)

    def validate_status(self, value: str) -> list[str]:
        return _comma_list(value, allowed=COMPARE_STATUSES, name="status", max_items=len(COMPARE_STATUSES))


class IpaQuerySerializer(serializers.Serializer):
    crosshair = serializers.ChoiceField(
        choices=CROSSHAIR_RULES,
        default="mean",
        help_text="Where the grid is cut: `mean` of the needs (Martilla & James), `median`, `midpoint` of the 0-1 "
        "scale, or `given` values (`importance_cross` and `satisfaction_cross`).",
    )
    importance_cross = serializers.FloatField(
        required=False, min_value=0.0, max_value=1.0, help_text="Importance crosshair (0-1); only with `given`."
    )
    satisfaction_cross = serializers.FloatField(
        required=False, min_value=0.0, max_value=1.0, help_text="Satisfaction crosshair (0-1); only with `given`."
    )
    format = serializers.ChoiceField(
        choices=("json", "csv", "xlsx", "png", "svg", "html"),
        default="json",
        help_text="`json`, `csv` (one line per need), `xlsx` (needs, quadrant counts, crosshairs), or the IPA "
        "scatter plot as `png` or `svg`, or `html`: the printable IPA document (chart, "
        "quadrants, the needs to concentrate on, scope, data and method).",
    )

    def validate(self, attrs):
        given = "importance_cross" in attrs or "satisfaction_cross" in attrs
        if attrs["crosshair"] == "given":
            missing = {
                name: gettext("Required with crosshair=given.")
                for name in ("importance_cross", "satisfaction_cross")
                if name not in attrs
            }
            if missing:
                raise serializers.ValidationError(missing)
        elif given:
            raise serializers.ValidationError(
                {"crosshair": gettext("importance_cross and satisfaction_cross are only used with crosshair=given.")}
            )
        return attrs


# Responses ---------------------------------------------------------------------------------------------------------


class ReportDimensionValueSerializer(serializers.Serializer):
    dimension = serializers.ChoiceField(choices=DIMENSIONS)
    code = serializers.CharField(help_text="Stable code ('' = no theme / whole territory; territories `kind:code`).")
    label = serializers.CharField(help_text="French label.")


class ReportTopGapSerializer(serializers.Serializer):
    need_id = serializers.IntegerField(allow_null=True)
    statement = serializers.CharField()
    gap = serializers.FloatField()
    coverage = serializers.FloatField()
    importance = serializers.FloatField()
    recommendation = serializers.ChoiceField(choices=Recommendation.choices)
    recommendation_label = serializers.CharField()
    audience_label = serializers.CharField(help_text="Whose need it is (French label of its audience).")
    territory_label = serializers.CharField(help_text="Where: the need's own territory, or the whole territory.")


def _per_code_serializer(name: str, codes: Sequence[str], field: type[serializers.Field]) -> type:
    """A serializer with one `field` per code, in their order: counts or labels keyed by the codes of a list."""
    return type(name, (serializers.Serializer,), {code: field() for code in codes})


ReportRecommendationCountsSerializer = _per_code_serializer(
    "ReportRecommendationCountsSerializer", RECOMMENDATIONS, serializers.IntegerField
)


class ReportFiguresSerializer(serializers.Serializer):
    need_count = serializers.IntegerField()
    importance_total = serializers.FloatField(help_text="Demand weight: sum of the needs' importance.")
    demand_volume_total = serializers.IntegerField(
        allow_null=True, help_text="Sum of demand volumes over the needs that state one (null when none does)."
    )
    demand_volume_known = serializers.IntegerField(help_text="How many needs state a demand volume.")
    coverage_mean = serializers.FloatField(allow_null=True, help_text="Unweighted mean coverage (0-1).")
    gap_total = serializers.FloatField(help_text="Sum of importance × (1 − coverage).")
    gap_mean = serializers.FloatField(allow_null=True)
    satisfaction_mean = serializers.FloatField(allow_null=True, help_text="Over the needs with a satisfaction.")
    recommendations = ReportRecommendationCountsSerializer()
    top_gaps = ReportTopGapSerializer(many=True)
    population = serializers.IntegerField(
        allow_null=True,
        help_text="Inhabitants of the group's territory (its territory dimension, else the run's scope); null when "
        "unknown, and then every per-inhabitant figure is null.",
    )
    offer_count = serializers.IntegerField(
        help_text="Published offers located in that territory (now, not at the run), of the group's domain or "
        "theme, or for its audience or for everyone, when grouped by one."
    )
    demand_volume_per_1000 = serializers.FloatField(
        allow_null=True, help_text="demand_volume_total per 1,000 inhabitants (null without population or volume)."
    )
    gap_per_1000 = serializers.FloatField(allow_null=True, help_text="gap_total per 1,000 inhabitants.")
    offers_per_10000 = serializers.FloatField(allow_null=True, help_text="offer_count per 10,000 inhabitants.")


class ReportGroupSerializer(ReportFiguresSerializer):
    dimensions = ReportDimensionValueSerializer(many=True)


@extend_schema_serializer(examples=examples.MATCHING_REPORT_EXAMPLES)
class MatchingReportSerializer(serializers.Serializer):
    run = serializers.UUIDField()
    catalogue_states = MatchingRunCatalogueStatesSerializer(
        help_text="Which catalogue states the run's results used (each chunk scores the latest state at its start)."
    )
    group_by = serializers.ListField(child=serializers.ChoiceField(choices=DIMENSIONS))
    territory_level = serializers.ChoiceField(choices=TERRITORY_LEVELS)
    top = serializers.IntegerField()
    totals = ReportFiguresSerializer(help_text="The same figures over the whole run (each need once).")
    groups = ReportGroupSerializer(many=True, help_text="Ordered by total gap, largest first.")


CompareStatusCountsSerializer = _per_code_serializer(
    "CompareStatusCountsSerializer", COMPARE_STATUSES, serializers.IntegerField
)
CompareStatusLabelsSerializer = _per_code_serializer(
    "CompareStatusLabelsSerializer", COMPARE_STATUSES, serializers.CharField
)


class CompareSummarySerializer(serializers.Serializer):
    statuses = CompareStatusCountsSerializer()
    status_labels = CompareStatusLabelsSerializer(help_text="French label of each status.")
    gap_before_total = serializers.FloatField()
    gap_after_total = serializers.FloatField()
    gap_delta = serializers.FloatField()


class CompareGroupSerializer(serializers.Serializer):
    dimensions = ReportDimensionValueSerializer(many=True)
    need_count = serializers.IntegerField()
    gap_before_total = serializers.FloatField()
    gap_after_total = serializers.FloatField()
    gap_delta = serializers.FloatField()
    statuses = CompareStatusCountsSerializer()


# The first fields of a need in the per-need lists of the comparison and the IPA (a docstring would become the
# schema description of both).
class _ReportNeedSerializer(serializers.Serializer):
    need_id = serializers.IntegerField(allow_null=True)
    statement = serializers.CharField()
    domain_code = serializers.CharField()
    audience_code = serializers.CharField()


class CompareNeedSerializer(_ReportNeedSerializer):
    status = serializers.ChoiceField(choices=COMPARE_STATUSES)
    status_label = serializers.CharField()
    gap_before = serializers.FloatField(allow_null=True)
    gap_after = serializers.FloatField(allow_null=True)
    gap_delta = serializers.FloatField()
    baseline_need_id = serializers.IntegerField(
        allow_null=True,
        help_text="The need's id in the baseline: another need when the two runs scored two waves of a survey "
        "(the same item, audience and territory), null when the need is not in the baseline.",
    )
    importance_before = serializers.FloatField(allow_null=True)
    importance_after = serializers.FloatField(allow_null=True)
    satisfaction_before = serializers.FloatField(allow_null=True)
    satisfaction_after = serializers.FloatField(allow_null=True)
    coverage_before = serializers.FloatField(allow_null=True)
    coverage_after = serializers.FloatField(allow_null=True)
    recommendation_before = serializers.ChoiceField(choices=Recommendation.choices, allow_null=True)
    recommendation_after = serializers.ChoiceField(choices=Recommendation.choices, allow_null=True)
    recommendation_before_label = serializers.CharField(allow_null=True)
    recommendation_after_label = serializers.CharField(allow_null=True)


class CompareScopeSerializer(serializers.Serializer):
    territory = serializers.CharField(allow_null=True, help_text="Code of the run's territory; null = every need.")
    territory_label = serializers.CharField(allow_null=True)
    audiences = serializers.ListField(child=serializers.CharField(), help_text="Audience codes; empty = all.")
    domains = serializers.ListField(child=serializers.CharField(), help_text="Domain codes; empty = all.")


@extend_schema_serializer(examples=examples.MATCHING_COMPARE_EXAMPLES)
class MatchingCompareSerializer(serializers.Serializer):
    run = serializers.UUIDField()
    baseline = serializers.UUIDField()
    scope = CompareScopeSerializer(help_text="The run's scope.")
    baseline_scope = CompareScopeSerializer(help_text="The baseline's scope.")
    scopes_differ = serializers.BooleanField(
        help_text="The two runs cover different scopes: needs in one run only that lie outside the other's scope "
        "are `out_of_scope` (not `new` or `removed`), and the gap totals and groups cover the common scope only."
    )
    group_by = serializers.ListField(child=serializers.ChoiceField(choices=DIMENSIONS))
    territory_level = serializers.ChoiceField(choices=TERRITORY_LEVELS)
    gap_floor = serializers.FloatField()
    gap_delta = serializers.FloatField()
    summary = CompareSummarySerializer()
    groups = CompareGroupSerializer(many=True, help_text="Ordered by gap delta, most improved first.")
    needs = CompareNeedSerializer(many=True, help_text="Ordered by the size of the gap change, largest first.")


class IpaCrosshairSerializer(serializers.Serializer):
    rule = serializers.ChoiceField(choices=CROSSHAIR_RULES)
    importance = serializers.FloatField(allow_null=True, help_text="Null when no need has a satisfaction.")
    satisfaction = serializers.FloatField(allow_null=True)


class IpaQuadrantCountSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=IpaQuadrant.choices, help_text="'' = not classified.")
    label = serializers.CharField()
    need_count = serializers.IntegerField()


class IpaNeedSerializer(_ReportNeedSerializer):
    importance = serializers.FloatField()
    satisfaction = serializers.FloatField(allow_null=True)
    quadrant = serializers.ChoiceField(choices=IpaQuadrant.choices, allow_blank=True)
    quadrant_label = serializers.CharField()
    ipa_gap = serializers.FloatField(allow_null=True, help_text="Importance minus satisfaction.")


@extend_schema_serializer(examples=examples.MATCHING_IPA_EXAMPLES)
class MatchingIpaSerializer(serializers.Serializer):
    run = serializers.UUIDField()
    crosshair = IpaCrosshairSerializer()
    quadrants = IpaQuadrantCountSerializer(many=True)
    needs = IpaNeedSerializer(many=True, help_text="Ordered by importance minus satisfaction, largest first.")


class MapQuerySerializer(serializers.Serializer):
    level = serializers.ChoiceField(
        choices=("epci", "commune"),
        default="epci",
        help_text="`epci`: communes filled by their intercommunality's total gap, intercommunality borders drawn "
        "thicker; `commune`: each commune filled by its own.",
    )
    format = serializers.ChoiceField(
        choices=("svg", "png", "json"),
        default="svg",
        help_text="`svg` (default) or `png`: the map; `json`: the figures behind it, for a portal drawing its own.",
    )
    baseline = serializers.UUIDField(
        required=False,
        help_text="Id of an earlier succeeded run: the map then shows, by territory, the change of the total weighted "
        "gap (this run's minus the baseline's) on a diverging scale centred on 0.",
    )


_COMPARISON_ONLY = " Null on a single-run map (without `baseline`)."


class MapAreaSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Official code of the territory at the map's level.")
    label = serializers.CharField()
    gap_total = serializers.FloatField(help_text="Total weighted gap of the needs of this territory (in this run).")
    before = serializers.FloatField(
        allow_null=True, help_text="Total gap in the baseline run; null without needs there." + _COMPARISON_ONLY
    )
    after = serializers.FloatField(
        allow_null=True, help_text="Total gap in this run; null without needs there." + _COMPARISON_ONLY
    )
    change = serializers.FloatField(
        allow_null=True, help_text="`after − before` (a missing side counts 0): the value mapped." + _COMPARISON_ONLY
    )
    latitude = serializers.FloatField(allow_null=True, help_text="Centroid latitude; null when unknown.")
    longitude = serializers.FloatField(allow_null=True, help_text="Centroid longitude; null when unknown.")


class MapWiderAreaSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Qualified code of a territory wider than the level (`departement:23`).")
    label = serializers.CharField()
    gap_total = serializers.FloatField()
    before = serializers.FloatField(allow_null=True, help_text=_COMPARISON_ONLY.strip())
    after = serializers.FloatField(allow_null=True, help_text=_COMPARISON_ONLY.strip())
    change = serializers.FloatField(allow_null=True, help_text=_COMPARISON_ONLY.strip())


@extend_schema_serializer(examples=examples.MATCHING_MAP_EXAMPLES)
class MapSerializer(serializers.Serializer):
    run = serializers.UUIDField()
    baseline = serializers.UUIDField(allow_null=True, help_text="The baseline run of a comparison map, else null.")
    level = serializers.ChoiceField(choices=("epci", "commune"))
    areas = MapAreaSerializer(
        many=True,
        help_text="Territories of the level with needs (in either run), largest gap (largest absolute change) first.",
    )
    wider_areas = MapWiderAreaSerializer(many=True, help_text="Needs of a wider area than the level, not mapped.")
