"""Admin of the audiences app: needs, surveys with their items inline, and stored responses (read-only)."""

from django import forms
from django.contrib import admin

from audiences.models import NEED_STATISTICS_FIELDS, CandidateNeedDecision, Need, Survey, SurveyItem, SurveyResponse
from audiences.services import need_themes_check, survey_needs_compute, survey_scale_check


class ThemesOfDomainForm(forms.ModelForm):
    """The rule the API and the services apply to needs and survey items: every theme belongs to the domain."""

    def clean(self):
        cleaned = super().clean()
        domain, themes = cleaned.get("domain"), cleaned.get("themes")
        foreign = need_themes_check(domain=domain, themes=list(themes or []))
        if foreign:
            self.add_error("themes", f"Theme(s) {', '.join(foreign)} do not belong to the domain {domain.code!r}.")
        return cleaned


class SurveyAdminForm(forms.ModelForm):
    """The survey rule of the API: the scale is fixed once responses are stored."""

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk:
            problems = survey_scale_check(
                survey=self.instance, values={name: cleaned.get(name) for name in ("scale_min", "scale_max")}
            )
            for problem in problems:
                self.add_error(problem.field, problem.message)
        return cleaned


@admin.register(Need)
class NeedAdmin(admin.ModelAdmin):
    form = ThemesOfDomainForm
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
    form = ThemesOfDomainForm
    extra = 0
    fields = ["code", "domain", "themes", "statement", "measures_importance", "measures_satisfaction", "stage"]
    filter_horizontal = ["themes"]


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    form = SurveyAdminForm
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


@admin.register(CandidateNeedDecision)
class CandidateNeedDecisionAdmin(admin.ModelAdmin):
    """Decisions are taken through the API (accept creates the need with the rules of every need): read-only here."""

    list_display = ["key", "survey", "status", "need", "answer_count", "decided_by", "decided_at"]
    list_filter = ["status", "survey"]
    search_fields = ["key", "survey__title"]
    list_select_related = ["survey", "need", "decided_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
