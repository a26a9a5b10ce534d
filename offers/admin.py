"""Admin of the offers app, for non-developers: list filters, search, and read-only computed fields."""

from django.contrib import admin

from offers.models import Audience, Domain, Offer, Organisation, Territory, Theme


@admin.register(Territory)
class TerritoryAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "code", "parent"]
    list_filter = ["kind"]
    search_fields = ["name", "code"]
    readonly_fields = ["path", "name_folded"]
    autocomplete_fields = ["parent"]


class ThemeInline(admin.TabularInline):
    model = Theme
    extra = 0
    fields = ["code", "label", "keywords", "position"]


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ["label", "code", "position"]
    search_fields = ["label", "code"]
    inlines = [ThemeInline]


@admin.register(Theme)
class ThemeAdmin(admin.ModelAdmin):
    list_display = ["label", "code", "domain"]
    list_filter = ["domain"]
    search_fields = ["label", "code", "keywords"]


@admin.register(Audience)
class AudienceAdmin(admin.ModelAdmin):
    list_display = ["label", "code", "position"]
    search_fields = ["label", "code", "description"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "territory", "email", "updated_at"]
    list_filter = ["kind"]
    search_fields = ["name", "email", "territory__name"]
    autocomplete_fields = ["territory", "editors"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "domain",
        "organisation",
        "commune",
        "status",
        "available_from",
        "available_until",
        "updated_at",
    ]
    list_filter = ["status", "domain", "themes", "is_free", "audiences", "source"]
    search_fields = ["title", "description", "organisation__name", "commune__name", "external_id"]
    autocomplete_fields = ["organisation", "commune", "service_area"]
    filter_horizontal = ["themes", "audiences"]
    readonly_fields = ["created_at", "updated_at"]
    date_hierarchy = "updated_at"
    list_select_related = ["domain", "organisation", "commune"]
