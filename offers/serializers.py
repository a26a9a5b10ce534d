"""Serializers of the offers app (shape only; writes go through services)."""

from rest_framework import serializers

from offers.models import Audience, Domain, Territory, Theme


class TerritorySerializer(serializers.ModelSerializer):
    qualified_code = serializers.CharField(read_only=True, help_text="Unambiguous `kind:code`, e.g. `epci:200034825`.")
    parent_code = serializers.SerializerMethodField(help_text="Qualified code of the parent territory, or null.")

    class Meta:
        model = Territory
        fields = ["kind", "code", "qualified_code", "name", "parent_code", "latitude", "longitude"]
        read_only_fields = fields

    def get_parent_code(self, territory: Territory) -> str | None:
        return territory.parent.qualified_code if territory.parent_id else None


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


class TaxonomySerializer(serializers.Serializer):
    domains = DomainSerializer(many=True, read_only=True)
    audiences = AudienceSerializer(many=True, read_only=True)
