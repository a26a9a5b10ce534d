"""Serializers of the matching app: runs (input and progress), per-need results with matched offers, and search."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from matching.models import MatchedOffer, MatchingRun, NeedResult


class MatchingRunCreateSerializer(serializers.Serializer):
    scope_territory = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Only needs in this territory (official code, or `kind:code`); needs without a territory are "
        "always included. Empty = every need.",
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
        "`ipa_rule` (mean, median, midpoint, given with `ipa_importance_cross` and `ipa_satisfaction_cross`), "
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


class MatchingRunSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    needs_url = serializers.SerializerMethodField()
    scope_territory = serializers.SlugRelatedField(slug_field="code", read_only=True)
    launched_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = MatchingRun
        fields = [
            "id",
            "url",
            "needs_url",
            "status",
            "progress",
            "scope_territory",
            "scope_audiences",
            "scope_domains",
            "parameters",
            "reference_date",
            "algorithm_version",
            "chunk_size",
            "snapshot",
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
        ]
        read_only_fields = fields


class NeedResultReasonSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="no-relevant-offer, distance, audience, availability, capacity, ...")
    message = serializers.CharField(help_text="The reason in French, for a strategist.")
    offers = serializers.ListField(child=serializers.IntegerField(), help_text="Ids of the offers concerned.")
    constraint = serializers.CharField(required=False, help_text="The failing constraint, for `adjust`.")


class NeedResultSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    reasons = NeedResultReasonSerializer(many=True, read_only=True)

    class Meta:
        model = NeedResult
        fields = [
            "id",
            "url",
            "need",
            "statement",
            "audience_code",
            "domain_code",
            "theme_codes",
            "territory_path",
            "epci_code",
            "commune_code",
            "importance",
            "satisfaction",
            "demand_volume",
            "coverage",
            "gap",
            "best_relevance",
            "recommendation",
            "reasons",
            "ipa_quadrant",
            "ipa_gap",
        ]
        read_only_fields = fields

    def get_url(self, result) -> str:
        return reverse(
            "matching:run-need-detail",
            kwargs={"run_id": result.run_id, "pk": result.pk},
            request=self.context.get("request"),
        )


class NeedResultDetailSerializer(NeedResultSerializer):
    matched_offers = MatchedOfferSerializer(many=True, read_only=True)

    class Meta(NeedResultSerializer.Meta):
        fields = [*NeedResultSerializer.Meta.fields, "matched_offers"]
        read_only_fields = fields


class MatchingSearchPointSerializer(serializers.Serializer):
    lat = serializers.FloatField(min_value=-90, max_value=90)
    lon = serializers.FloatField(min_value=-180, max_value=180)


MAX_SEARCH_RADIUS_KM = 200


class MatchingSearchRequestSerializer(serializers.Serializer):
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
            raise serializers.ValidationError({"radius_km": "radius_km needs near."})
        if "near" in data and "territory" in data:
            raise serializers.ValidationError({"near": "Give territory or near, not both."})
        return data


class MatchingSearchCommuneSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class MatchingSearchBreakdownSerializer(serializers.Serializer):
    relevance = serializers.FloatField()
    text = serializers.FloatField()
    theme = serializers.FloatField(allow_null=True, help_text="Null when no domain was given.")
    audience = serializers.FloatField()
    geography = serializers.FloatField()
    availability = serializers.FloatField()
    capacity = serializers.FloatField()


class MatchingSearchHitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    commune = MatchingSearchCommuneSerializer()
    distance_km = serializers.FloatField(allow_null=True)
    score = serializers.FloatField()
    breakdown = MatchingSearchBreakdownSerializer()


class MatchingSearchResponseSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    results = MatchingSearchHitSerializer(many=True)
