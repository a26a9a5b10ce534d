"""Admin of the audiences app: needs, surveys and their items."""

from django.contrib import admin

from audiences.models import Need, Survey, SurveyItem


@admin.register(Need)
class NeedAdmin(admin.ModelAdmin):
    list_display = ["statement", "audience", "domain", "territory", "stage", "importance", "satisfaction", "source"]
    list_filter = ["source", "stage", "domain", "audience"]
    search_fields = ["statement", "source_reference", "external_id"]
    autocomplete_fields = ["territory"]
    filter_horizontal = ["themes"]
    readonly_fields = [
        "survey_item",
        "response_count",
        "importance_ci_low",
        "importance_ci_high",
        "satisfaction_response_count",
        "satisfaction_ci_low",
        "satisfaction_ci_high",
        "created_at",
        "updated_at",
    ]
    list_select_related = ["audience", "domain", "territory"]


class SurveyItemInline(admin.TabularInline):
    model = SurveyItem
    extra = 0
    fields = ["code", "domain", "statement", "measures_importance", "measures_satisfaction", "stage"]


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ["title", "date", "scale_min", "scale_max"]
    search_fields = ["title", "reference"]
    filter_horizontal = ["audiences"]
    inlines = [SurveyItemInline]
