"""Serializers of the offers app (shape only; writes go through services)."""

from django.utils.functional import cached_property
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.fields import SkipField

from api.serializers import StrictJSONTypesMixin
from offers import examples
from offers.models import (
    Audience,
    Domain,
    OfferStatus,
    Organisation,
    Source,
    SourceSync,
    SyncStatus,
    SyncTrigger,
    Territory,
    TerritoryKind,
    Theme,
)


@extend_schema_serializer(examples=examples.TERRITORY_EXAMPLES)
class TerritorySerializer(serializers.ModelSerializer):
    qualified_code = serializers.CharField(read_only=True, help_text="Unambiguous `kind:code`, e.g. `epci:200034825`.")
    parent_code = serializers.SerializerMethodField(help_text="Qualified code of the parent territory, or null.")
    members = serializers.SerializerMethodField(
        help_text="A custom territory's EPCIs and communes (qualified codes); empty for the other kinds."
    )
    postal_codes = serializers.SerializerMethodField(
        help_text="Postal codes of a commune (a commune may have several, a code serve several communes); [] for "
        "other kinds."
    )
    successor_code = serializers.SerializerMethodField(
        help_text="For a commune merged into another: the qualified code of the commune it now belongs to; else null."
    )

    class Meta:
        model = Territory
        fields = [
            "kind",
            "code",
            "qualified_code",
            "name",
            "parent_code",
            "latitude",
            "longitude",
            "population",
            "postal_codes",
            "retired",
            "successor_code",
            "members",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "latitude": {"help_text": "Centroid latitude (WGS 84); null when unknown (a few overseas communes)."},
            "population": {
                "help_text": "Municipal population of a commune or an EPCI, summed over the communes of a département "
                "or a région; null when unknown."
            },
        }

    def get_parent_code(self, territory: Territory) -> str | None:
        return territory.parent.qualified_code if territory.parent_id else None

    def get_postal_codes(self, territory: Territory) -> list[str]:
        return [postal.code for postal in territory.postal_codes.all()]

    def get_successor_code(self, territory: Territory) -> str | None:
        return territory.successor.qualified_code if territory.successor_id else None

    def get_members(self, territory: Territory) -> list[str]:
        if territory.kind != TerritoryKind.CUSTOM:
            return []
        return sorted(member.qualified_code for member in territory.members.all())


@extend_schema_serializer(examples=examples.CUSTOM_TERRITORY_WRITE_EXAMPLES)
class CustomTerritoryWriteSerializer(StrictJSONTypesMixin, serializers.Serializer):
    """A custom territory's body (POST: all of it; PATCH: `name` and/or `members`); the service validates codes."""

    kind = serializers.CharField(
        required=False, help_text="`custom` (the only kind written through the API); may be left out."
    )
    code = serializers.CharField(
        required=False,
        help_text="Stable slug (lowercase letters, digits, hyphens; starts with a letter), e.g. `cornouaille`.",
    )
    name = serializers.CharField(required=False, help_text="Name shown in reports, e.g. `Cornouaille`.")
    members = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Codes of its EPCIs and/or communes (`epci:200068120`, `29232`); a commune inside a member "
        "EPCI adds nothing to its area.",
    )

    def validate_kind(self, value: str) -> str:
        if value != TerritoryKind.CUSTOM:
            raise serializers.ValidationError(
                f"{value!r}: only custom territories are written through the API; régions, départements, EPCIs "
                "and communes are reference data loaded by `manage.py load_territories`.",
                code="not_custom",
            )
        return value


class ThemeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Theme
        fields = ["code", "label", "keywords"]
        read_only_fields = fields


class DomainSerializer(serializers.ModelSerializer):
    themes = ThemeSerializer(many=True, read_only=True)

    class Meta:
        model = Domain
        fields = ["code", "label", "description", "themes"]
        read_only_fields = fields


class AudienceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Audience
        fields = ["code", "label", "description"]
        read_only_fields = fields


@extend_schema_serializer(examples=examples.TAXONOMY_EXAMPLES)
class TaxonomySerializer(serializers.Serializer):
    domains = DomainSerializer(many=True, read_only=True)
    audiences = AudienceSerializer(many=True, read_only=True)


# Offers and organisations -------------------------------------------------------------------------------------------


@extend_schema_serializer(examples=examples.OFFER_EXAMPLES)
class OfferSerializer(serializers.Serializer):
    """An offer as the API shows it; built from `.values()` rows (offers.selectors.offer_rows_attach)."""

    id = serializers.IntegerField(read_only=True)
    title = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    domain = serializers.CharField(read_only=True, help_text="Domain code.")
    themes = serializers.ListField(child=serializers.CharField(), read_only=True, help_text="Theme codes.")
    organisation = serializers.CharField(read_only=True, help_text="Slug of the providing organisation.")
    organisation_name = serializers.CharField(read_only=True)
    commune = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="INSEE code of the commune where the offer takes place; null for an offer without a place (it "
        "has a service area).",
    )
    commune_name = serializers.CharField(read_only=True, allow_null=True)
    latitude = serializers.FloatField(read_only=True, allow_null=True, help_text="Null for an offer without a place.")
    longitude = serializers.FloatField(read_only=True, allow_null=True, help_text="Null for an offer without a place.")
    remote = serializers.BooleanField(
        read_only=True, help_text="Delivered at a distance (online, by phone, at home), anywhere in its service area."
    )
    service_area = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="Qualified codes of the territories served."
    )
    audiences = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="Audience codes; empty = everyone."
    )
    is_free = serializers.BooleanField(read_only=True)
    price_amount = serializers.DecimalField(max_digits=10, decimal_places=2, read_only=True, allow_null=True)
    price_details = serializers.CharField(read_only=True)
    capacity = serializers.IntegerField(read_only=True, allow_null=True)
    capacity_unit = serializers.CharField(read_only=True)
    available_from = serializers.DateField(read_only=True, allow_null=True)
    available_until = serializers.DateField(read_only=True, allow_null=True)
    status = serializers.ChoiceField(choices=OfferStatus.choices, read_only=True)
    url = serializers.CharField(read_only=True)
    contact = serializers.CharField(read_only=True)
    accessibility = serializers.CharField(read_only=True)
    source = serializers.CharField(read_only=True)
    external_id = serializers.CharField(read_only=True)
    origin = serializers.CharField(
        read_only=True, allow_null=True, help_text="Code of the source the offer is kept in sync with; null if none."
    )
    source_url = serializers.CharField(read_only=True, help_text="The record's page at its source; empty if none.")
    last_sync = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Id of the last sync of its source whose file held the offer."
    )
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    distance_km = serializers.FloatField(
        read_only=True, allow_null=True, help_text="Great-circle distance to `near`, when given (else null)."
    )

    def to_representation(self, instance):
        # Rows are dicts (offer_rows_attach): each field formats the row's value directly, without DRF's
        # per-field attribute lookup, which cost as much as the formatting for a page of 20 rows. A row lacking
        # a key goes through DRF's lookup, so what it answers then (a null, or the field left out) is unchanged.
        data = {}
        for field in self._row_fields:
            try:
                value = instance[field.field_name]
            except KeyError:
                try:
                    value = field.get_attribute(instance)
                except SkipField:
                    continue
            data[field.field_name] = None if value is None else field.to_representation(value)
        if data.get("distance_km") is not None:
            data["distance_km"] = round(data["distance_km"], 3)
        return data

    @cached_property
    def _row_fields(self) -> list[serializers.Field]:
        # Built once per serializer: with many=True, one child serializes every row of the page.
        return list(self._readable_fields)


@extend_schema_serializer(examples=examples.OFFER_WRITE_EXAMPLES)
class OfferWriteSerializer(StrictJSONTypesMixin, serializers.Serializer):
    """What a client sends to create or change an offer: codes, checked and resolved by offers.services."""

    title = serializers.CharField(max_length=200)
    description = serializers.CharField()
    domain = serializers.CharField(help_text="Domain code.")
    themes = serializers.ListField(child=serializers.CharField(), help_text="Theme codes of the domain (one or more).")
    organisation = serializers.CharField(help_text="Slug of an organisation you are an editor of.")
    commune = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="INSEE code of the commune where the offer takes place. Null or left out for an offer without a "
        "place, which then needs a `service_area`.",
    )
    latitude = serializers.FloatField(
        required=False,
        allow_null=True,
        help_text="Both or neither with longitude. Default: the commune's centre; none without a commune.",
    )
    longitude = serializers.FloatField(
        required=False,
        allow_null=True,
        help_text="Both or neither with latitude. Default: the commune's centre; none without a commune.",
    )
    remote = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Delivered at a distance (online, by phone, at home): reachable anywhere in its service area.",
    )
    service_area = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Territory codes served (commune, EPCI, département, région, `FR` for all of France); default: the "
        "commune. Required for an offer without a commune.",
    )
    audiences = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Audience codes; empty = everyone."
    )
    is_free = serializers.BooleanField(required=False, default=False)
    price_amount = serializers.DecimalField(
        max_digits=10, decimal_places=2, required=False, allow_null=True, min_value=0
    )
    price_details = serializers.CharField(max_length=200, required=False, allow_blank=True)
    capacity = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    capacity_unit = serializers.CharField(max_length=50, required=False, allow_blank=True)
    available_from = serializers.DateField(required=False, allow_null=True)
    available_until = serializers.DateField(required=False, allow_null=True)
    status = serializers.ChoiceField(choices=OfferStatus.choices, required=False, default=OfferStatus.DRAFT)
    url = serializers.CharField(max_length=500, required=False, allow_blank=True)
    contact = serializers.CharField(max_length=300, required=False, allow_blank=True)
    accessibility = serializers.CharField(required=False, allow_blank=True)
    source = serializers.SlugField(max_length=64, required=False, default="manual")
    external_id = serializers.CharField(max_length=128, required=False, allow_blank=True)


@extend_schema_serializer(component_name="OfferImport")  # "OfferImportRequest" once split for requests
class OfferImportRequestSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV (UTF-8 or Windows-1252; `,` `;` or tab) or JSON list of objects.")
    source = serializers.SlugField(
        required=False,
        default="import",
        help_text="Name of the data source; offers are upserted by (organisation, source, identifiant), so two "
        "organisations may use the same identifiers. Ignored for data·inclusion files, whose records carry their "
        "own source.",
    )
    organisation = serializers.SlugField(
        required=False,
        help_text="Slug of the default organisation for rows without one (required for data·inclusion files).",
    )
    dry_run = serializers.BooleanField(
        required=False, default=False, help_text="Validate and report what would change, without writing."
    )


@extend_schema_serializer(examples=examples.OFFER_IMPORT_REPORT_EXAMPLES)
class OfferImportReportSerializer(serializers.Serializer):
    created = serializers.IntegerField(help_text="Offers created (or that would be, in a dry run).")
    updated = serializers.IntegerField(help_text="Existing offers (same organisation, source and identifier) changed.")
    unchanged = serializers.IntegerField(help_text="Existing offers identical to their row.")
    total = serializers.IntegerField(help_text="Records read.")
    dry_run = serializers.BooleanField(help_text="True when nothing was written.")


@extend_schema_serializer(examples=examples.ORGANISATION_EXAMPLES)
class OrganisationSerializer(StrictJSONTypesMixin, serializers.ModelSerializer):
    territory = serializers.CharField(
        help_text="Code of the territory it is based in (INSEE, SIREN, or `kind:code`); shown qualified."
    )
    territory_name = serializers.CharField(source="territory.name", read_only=True)

    class Meta:
        model = Organisation
        fields = [
            "slug",
            "name",
            "kind",
            "territory",
            "territory_name",
            "email",
            "phone",
            "website",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["territory_name", "created_at", "updated_at"]
        extra_kwargs = {"slug": {"required": False, "help_text": "Stable identifier; default: from the name."}}
        # Uniqueness of the slug is checked by the model in the service, in the same place as the other rules.
        validators = []

    def get_fields(self):
        fields = super().get_fields()
        fields["slug"].validators = []
        return fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["territory"] = instance.territory.qualified_code
        return data


class AccountTerritorySerializer(serializers.Serializer):
    qualified_code = serializers.CharField(help_text="`kind:code`, as territory fields accept it.")
    name = serializers.CharField()
    kind = serializers.CharField(help_text="region, departement, epci, commune or custom (a territory of projects).")


@extend_schema_serializer(examples=examples.ACCOUNT_EXAMPLES)
class AccountSerializer(serializers.Serializer):
    username = serializers.CharField()
    is_admin = serializers.BooleanField(help_text="Staff or superuser: everything, the admin site included.")
    is_analyst = serializers.BooleanField(help_text="Reads and writes strategy material (admins are analysts).")
    organisations = serializers.ListField(
        child=serializers.CharField(), help_text="Slugs of the organisations whose offers the account edits."
    )
    territories = AccountTerritorySerializer(
        many=True,
        help_text="The territories whose analysts the account is among: it sees the needs, surveys and matching "
        "runs lying within them (a région's, everything below it).",
    )
    sees_every_territory = serializers.BooleanField(
        help_text="True for admins, and for analysts without a territory when the instance lets them see every "
        "territory (DJANGO_ANALYSTS_WITHOUT_TERRITORY=all): the needs, surveys and runs of the whole instance."
    )


# Sources and their syncs --------------------------------------------------------------------------------------------


@extend_schema_serializer(examples=examples.SOURCE_EXAMPLES)
class SourceSerializer(StrictJSONTypesMixin, serializers.ModelSerializer):
    """A source kept in sync; writes go through offers.services.sources.source_save (codes checked there)."""

    organisation = serializers.SlugField(
        help_text="Slug of the organisation its offers belong to (fixed once created)."
    )
    organisation_name = serializers.CharField(source="organisation.name", read_only=True)
    format = serializers.CharField(
        max_length=32,
        help_text="Format of its files: france_travail, datatourisme, openagenda or data_inclusion.",
    )
    theme_mapping = serializers.JSONField(
        required=False,
        help_text="{source category: [theme codes]} over the format's default mapping; [] leaves a category out.",
    )
    default_theme_mapping = serializers.SerializerMethodField(help_text="The format's own mapping.")
    offers = serializers.SerializerMethodField(help_text="Offers of this source, archived ones included.")
    last_sync = serializers.SerializerMethodField(help_text="Id of its latest sync, or null.")

    class Meta:
        model = Source
        fields = [
            "id",
            "code",
            "name",
            "organisation",
            "organisation_name",
            "format",
            "url",
            "theme_mapping",
            "default_theme_mapping",
            "failure_share_max",
            "fetch_timeout_seconds",
            "offers",
            "last_sync",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators = []  # the code's uniqueness is checked by the model in the service

    def get_fields(self):
        fields = super().get_fields()
        fields["code"].validators = [v for v in fields["code"].validators if not hasattr(v, "queryset")]
        return fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["organisation"] = instance.organisation.slug
        return data

    def get_default_theme_mapping(self, source) -> dict[str, list[str]]:
        from offers.services.sources import source_formats

        format_ = source_formats().get(source.format)
        return {key: list(value) for key, value in (format_.default_theme_mapping if format_ else {}).items()}

    def get_offers(self, source) -> int:
        count = getattr(source, "offer_count", None)
        return source.offers.count() if count is None else count

    def get_last_sync(self, source) -> int | None:
        if hasattr(source, "last_sync_id"):
            return source.last_sync_id
        return source.syncs.order_by("-requested_at", "-id").values_list("pk", flat=True).first()


class SourceSyncProgressSerializer(serializers.Serializer):
    records_read = serializers.IntegerField(help_text="Records read from the file so far.")
    records_checked = serializers.IntegerField(help_text="Records mapped and validated so far.")
    records_total = serializers.IntegerField(allow_null=True, help_text="Records in the file, once read.")


class SourceSyncCountsSerializer(serializers.Serializer):
    created = serializers.IntegerField(help_text="New offers.")
    updated = serializers.IntegerField(help_text="Offers whose record changed (or reappeared: published again).")
    archived = serializers.IntegerField(help_text="Offers whose record is gone from the source (or an event over).")
    unchanged = serializers.IntegerField(help_text="Offers identical to their record: not written at all.")
    skipped = serializers.IntegerField(help_text="Records that could not be used (all of them, listed or not).")


class SourceSyncSkippedSerializer(serializers.Serializer):
    position = serializers.IntegerField(help_text="1-based record number in the file.")
    external_id = serializers.CharField(allow_null=True, help_text="The record's identifier, when it has one.")
    code = serializers.CharField(
        help_text="Stable reason: no_identifier, duplicate, unmapped_category, unknown_domain, unknown_commune, "
        "no_place, invalid, or one of the format's (event_over, outside_france...)."
    )
    message = serializers.CharField(help_text="What is wrong, in words.")


class SourceSyncFailureSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="unknown_format, format_error, empty, too_many_skipped, http_error, timeout, too_large, "
        "truncated, unreachable, stale (no progress: its worker stopped), not_started (no worker took it) or "
        "internal_error."
    )
    message = serializers.CharField()


@extend_schema_serializer(examples=examples.SOURCE_SYNC_EXAMPLES)
class SourceSyncSerializer(serializers.ModelSerializer):
    source = serializers.CharField(source="source.code", read_only=True, help_text="Code of the source.")
    trigger = serializers.ChoiceField(choices=SyncTrigger.choices, read_only=True)
    status = serializers.ChoiceField(choices=SyncStatus.choices, read_only=True)
    progress = serializers.SerializerMethodField()
    counts = serializers.SerializerMethodField()
    skipped_records = SourceSyncSkippedSerializer(
        many=True,
        read_only=True,
        help_text="The records skipped, with their reasons (the first SOURCE_SYNC_SKIPPED_LISTED of them).",
    )
    failure = serializers.SerializerMethodField(help_text="Why the sync failed whole (nothing written); else null.")
    requested_by = serializers.CharField(source="requested_by.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = SourceSync
        fields = [
            "id",
            "source",
            "trigger",
            "status",
            "phase",
            "progress",
            "counts",
            "skipped_records",
            "failure",
            "catalogue_version",
            "requested_by",
            "requested_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(SourceSyncProgressSerializer)
    def get_progress(self, sync) -> dict:
        return {
            "records_read": sync.records_read,
            "records_checked": sync.records_checked,
            "records_total": sync.records_total,
        }

    @extend_schema_field(SourceSyncCountsSerializer)
    def get_counts(self, sync) -> dict:
        return {name: getattr(sync, name) for name in ("created", "updated", "archived", "unchanged", "skipped")}

    @extend_schema_field(SourceSyncFailureSerializer(allow_null=True))
    def get_failure(self, sync) -> dict | None:
        if sync.status != SyncStatus.FAILED:
            return None
        return {"code": sync.failure_code, "message": sync.failure_message}


class SourceSyncUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        required=False,
        help_text="The source's file, in its format; leave out to have the worker fetch the source's url.",
    )
