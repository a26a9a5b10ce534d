"""Admin of the audiences app: needs, surveys with their items inline, and stored responses (read-only)."""

from django.contrib import admin

from audiences.models import NEED_STATISTICS_FIELDS, Need, Survey, SurveyItem, SurveyResponse
from audiences.services import survey_needs_compute


@admin.register(Need)
class NeedAdmin(admin.ModelAdmin):
    list_display = [
        "statement",
        "audience",
        "domain",
        "territory",
        "stage",
        "importance",
        "satisfaction",
        "demand_volume",
        "response_count",
        "source",
    ]
    list_filter = ["source", "stage", "domain", "audience", "territory__kind", "survey_item__survey"]
    search_fields = ["statement", "search_text", "source_reference", "external_id"]
    autocomplete_fields = ["territory"]
    filter_horizontal = ["themes"]
    readonly_fields = [
        "survey_item",
        *NEED_STATISTICS_FIELDS,
        "created_at",
        "updated_at",
    ]
    list_select_related = ["audience", "domain", "territory"]


class SurveyItemInline(admin.TabularInline):
    model = SurveyItem
    extra = 0
    fields = ["code", "domain", "themes", "statement", "measures_importance", "measures_satisfaction", "stage"]
    filter_horizontal = ["themes"]


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ["title", "reference", "date", "scale_min", "scale_max"]
    list_filter = ["audiences", "date"]
    search_fields = ["title", "reference"]
    filter_horizontal = ["audiences"]
    date_hierarchy = "date"
    inlines = [SurveyItemInline]

    def save_related(self, request, form, formsets, change) -> None:
        # items edited here change the statements, domains and stages of the computed needs
        super().save_related(request, form, formsets, change)
        survey_needs_compute(survey=form.instance)


@admin.register(SurveyResponse)
class SurveyResponseAdmin(admin.ModelAdmin):
    """Responses come from uploads (so the needs stay in step with them): read-only here."""

    list_display = ["respondent_id", "item", "audience", "commune", "importance", "satisfaction"]
    list_filter = ["item__survey", "audience"]
    search_fields = ["respondent_id", "item__code", "commune__name"]
    list_select_related = ["item", "audience", "commune"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
