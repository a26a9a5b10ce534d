"""Admin of the offers app, for non-developers: list filters, search, and read-only computed fields."""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import OuterRef, Subquery
from django.forms.models import BaseInlineFormSet, construct_instance
from django.utils.translation import gettext_lazy as _

from offers.models import Audience, Domain, Offer, Organisation, Source, SourceSync, SyncStatus, Territory, Theme
from offers.services import catalogue_changed, offer_search_text_refresh, offer_validate, source_formats
from offers.services.lookups import CodeLookups
from offers.services.sources import theme_mapping_errors


class CatalogueAdminMixin:
    """Admin writes change what the API lists, like the services' writes: bump the catalogue version (list ETags
    and cached counts are keyed on it)."""

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        catalogue_changed(offers=_offer_ids([form.instance]))

    def delete_model(self, request, obj):
        removed = _offer_ids([obj])
        super().delete_model(request, obj)
        catalogue_changed(removed=removed)

    def delete_queryset(self, request, queryset):
        removed = _offer_ids(queryset)
        super().delete_queryset(request, queryset)
        catalogue_changed(removed=removed)


def _offer_ids(objects) -> list[int]:
    """The ids of the offers among `objects` (the mixin serves every catalogue model; only offers are indexed)."""
    return [obj.pk for obj in objects if isinstance(obj, Offer)]


@admin.register(Territory)
class TerritoryAdmin(CatalogueAdminMixin, admin.ModelAdmin):
    list_display = ["name", "kind", "code", "parent"]
    list_filter = ["kind"]
    search_fields = ["name", "code"]
    # A custom territory's members set its area and population: written through offers.services.custom_territory_*
    # (the API), never edited alone here.
    readonly_fields = ["path", "name_folded", "members"]
    autocomplete_fields = ["parent", "analysts"]


class ThemeInline(admin.TabularInline):
    model = Theme
    extra = 0
    fields = ["code", "label", "keywords", "position"]


@admin.register(Domain)
class DomainAdmin(CatalogueAdminMixin, admin.ModelAdmin):
    list_display = ["label", "code", "position"]
    search_fields = ["label", "code"]
    inlines = [ThemeInline]


@admin.register(Theme)
class ThemeAdmin(CatalogueAdminMixin, admin.ModelAdmin):
    list_display = ["label", "code", "domain"]
    list_filter = ["domain"]
    search_fields = ["label", "code", "keywords"]


@admin.register(Audience)
class AudienceAdmin(CatalogueAdminMixin, admin.ModelAdmin):
    list_display = ["label", "code", "position"]
    search_fields = ["label", "code", "description"]


@admin.register(Organisation)
class OrganisationAdmin(CatalogueAdminMixin, admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["name", "kind", "territory", "email", "updated_at"]
    list_filter = ["kind"]
    search_fields = ["name", "email", "territory__name"]
    autocomplete_fields = ["territory", "editors"]
    prepopulated_fields = {"slug": ["name"]}


class HttpsURLField(forms.URLField):
    """A URL typed without a scheme is taken as https (Django 6's default; silences its deprecation warning)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("assume_scheme", "https")
        super().__init__(**kwargs)


class OfferAdminForm(forms.ModelForm):
    """Applies offers.services.offer_validate, the rules every other write path applies."""

    class Meta:
        model = Offer
        fields = "__all__"
        field_classes = {"url": HttpsURLField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("latitude", "longitude"):
            self.fields[name].required = False
            self.fields[name].help_text = _("Empty: the commune's centre.")
        self.fields["service_area"].help_text = _("Empty: the commune.")

    def clean(self):
        cleaned = super().clean()
        offer = construct_instance(self, self.instance, exclude=["themes", "audiences", "service_area"])
        # The commune is optional (an offer without a place has a service area): offer_validate says when it is
        # missing; a commune refused by the form already has its error.
        if not cleaned.get("domain") or "commune" in self.errors:
            return cleaned
        try:
            service_area = offer_validate(
                offer=offer,
                themes=list(cleaned.get("themes") or []),
                service_area=list(cleaned.get("service_area") or []),
            )
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
            return cleaned
        cleaned["latitude"], cleaned["longitude"] = offer.latitude, offer.longitude
        cleaned["service_area"] = service_area
        return cleaned


@admin.register(Offer)
class OfferAdmin(CatalogueAdminMixin, admin.ModelAdmin):
    form = OfferAdminForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
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
    list_filter = ["status", "domain", "themes", "is_free", "remote", "audiences", "source"]
    search_fields = ["title", "description", "organisation__name", "commune__name", "external_id"]
    autocomplete_fields = ["organisation", "commune", "service_area"]
    filter_horizontal = ["themes", "audiences"]
    readonly_fields = ["created_at", "updated_at"]
    date_hierarchy = "updated_at"
    list_select_related = ["domain", "organisation", "commune"]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        offer_search_text_refresh(offer=form.instance)  # themes are saved after the offer


class AnalystTerritoryInline(admin.TabularInline):
    """A user's analyst territories, edited on the user's page: they see the needs, surveys and runs lying within
    them (docs/security.md, "Territories")."""

    model = Territory.analysts.through
    extra = 0
    autocomplete_fields = ["territory"]
    verbose_name = _("territory (analyst)")
    verbose_name_plural = _("analyst's territories (needs, surveys and runs they see)")


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class AnalystUserAdmin(UserAdmin):
    inlines = [*UserAdmin.inlines, AnalystTerritoryInline]
    list_filter = [*UserAdmin.list_filter, "analyst_territories__kind"]


# Sources and their syncs ---------------------------------------------------------------------------------------------

SOURCE_RECENT_SYNCS = 10


class SourceAdminForm(forms.ModelForm):
    """The format picked among the registered ones, the theme mapping checked like the API's (offers.services
    .sources.source_save): a source saved here syncs like one saved through the API."""

    class Meta:
        model = Source
        fields = "__all__"
        field_classes = {"url": HttpsURLField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "format" in self.fields:
            # The registered formats, and the source's own should it no longer be registered (shown as it is).
            codes = sorted({*source_formats(), *([self.instance.format] if self.instance.format else [])})
            self.fields["format"] = forms.ChoiceField(
                choices=[(code, code) for code in codes],
                label=self.fields["format"].label,
                help_text=self.fields["format"].help_text,
            )

    def clean_theme_mapping(self):
        mapping = self.cleaned_data["theme_mapping"]
        errors = theme_mapping_errors(mapping, refs=CodeLookups())
        if errors:
            raise ValidationError([f"{error.field}: {error.message}" for error in errors])
        return mapping


class RecentSyncsFormSet(BaseInlineFormSet):
    def get_queryset(self):
        syncs = super().get_queryset()
        return syncs.filter(pk__in=list(syncs.values_list("pk", flat=True)[:SOURCE_RECENT_SYNCS]))


class SyncReadOnlyMixin:
    """Syncs are written by the sync service alone (their counts say what a sync did to the catalogue): shown,
    never added, changed or deleted by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


SYNC_COUNT_FIELDS = ["created", "updated", "archived", "unchanged", "skipped"]


class SourceSyncInline(SyncReadOnlyMixin, admin.TabularInline):
    model = SourceSync
    formset = RecentSyncsFormSet
    extra = 0
    show_change_link = True
    verbose_name_plural = _("recent syncs")
    fields = ["status", "trigger", "requested_at", "finished_at", *SYNC_COUNT_FIELDS, "failure_message"]
    readonly_fields = fields


class LastSyncStatusFilter(admin.SimpleListFilter):
    title = _("last sync status")
    parameter_name = "last_sync_status"

    def lookups(self, request, model_admin):
        return SyncStatus.choices

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(last_sync_status=self.value())
        return queryset


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    form = SourceAdminForm
    list_display = ["name", "code", "organisation", "format", "url", "last_sync_status", "last_sync_finished_at"]
    list_filter = ["organisation", ("format", admin.AllValuesFieldListFilter), LastSyncStatusFilter]
    search_fields = ["code", "name", "organisation__name"]
    autocomplete_fields = ["organisation"]
    readonly_fields = ["created_at", "updated_at"]
    list_select_related = ["organisation"]
    inlines = [SourceSyncInline]

    def get_readonly_fields(self, request, obj=None):
        # Its offers carry the code and the organisation: fixed once created (as through the API).
        return [*self.readonly_fields, "code", "organisation"] if obj else self.readonly_fields

    def get_queryset(self, request):
        last = SourceSync.objects.filter(source=OuterRef("pk")).order_by("-requested_at", "-id")
        return (
            super()
            .get_queryset(request)
            .annotate(
                last_sync_status=Subquery(last.values("status")[:1]),
                last_sync_finished_at=Subquery(last.values("finished_at")[:1]),
            )
        )

    @admin.display(description=_("last sync status"), ordering="last_sync_status")
    def last_sync_status(self, source):
        return SyncStatus(source.last_sync_status).label if source.last_sync_status else "-"

    @admin.display(description=_("last sync finished at"), ordering="last_sync_finished_at")
    def last_sync_finished_at(self, source):
        return source.last_sync_finished_at


@admin.register(SourceSync)
class SourceSyncAdmin(SyncReadOnlyMixin, admin.ModelAdmin):
    list_display = ["source", "status", "trigger", "requested_at", "finished_at", *SYNC_COUNT_FIELDS, "failure_code"]
    list_filter = ["status", "trigger", "source__organisation", ("source__format", admin.AllValuesFieldListFilter)]
    search_fields = ["source__code", "source__name", "failure_code", "failure_message"]
    list_select_related = ["source", "source__organisation"]
    date_hierarchy = "requested_at"
    fieldsets = [
        (None, {"fields": ["source", "status", "trigger", "requested_by", "catalogue_version"]}),
        (_("Counts"), {"fields": [*SYNC_COUNT_FIELDS, "skipped_records"]}),
        (_("Failure"), {"fields": ["failure_code", "failure_message"]}),
        (
            _("Progress"),
            {
                "fields": [
                    "phase",
                    "records_read",
                    "records_total",
                    "records_checked",
                    "requested_at",
                    "started_at",
                    "progressed_at",
                    "finished_at",
                ]
            },
        ),
    ]
