"""Surveys and their items: created, changed (their needs recomputed) and deleted, also from a JSON definition."""

import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.translation import gettext

from api.exceptions import ErrorItem, InvalidInput
from api.model_update import model_full_clean, model_update, validation_messages
from audiences import selectors
from audiences.models import JourneyStage, Survey, SurveyItem
from audiences.services.needs import need_themes_check
from audiences.services.responses import survey_needs_compute
from offers.models import Audience
from offers.selectors import analyst_scope
from offers.services.lookups import CodeLookups

ITEM_FIELDS = ("domain", "statement", "measures_importance", "measures_satisfaction", "stage")


def _survey_items_validate(survey: Survey, items: list[dict]) -> list[tuple[SurveyItem, dict]]:
    """Every item as the instance to save with its data, or InvalidInput naming each problem as `items.<i>.<field>`.

    The one check of survey items for the API (whose PATCH lets an item lack fields), definitions and commands: the
    model's rules (SurveyItem.clean: required fields, choices, importance or satisfaction) and the themes' domain.
    """
    errors: list[ErrorItem] = []
    existing = {item.code: item for item in survey.items.prefetch_related("themes")}
    validated, seen = [], {}
    for index, data in enumerate(items):
        code = data.get("code")
        if not code:
            errors.append(
                ErrorItem(field=f"items.{index}.code", code="required", message=gettext("Every item needs a code."))
            )
            continue
        if code in seen:
            errors.append(
                ErrorItem(
                    field=f"items.{index}.code",
                    code="duplicate",
                    message=(gettext("Item %(code)r is given twice.") % {"code": code}),
                )
            )
            continue
        seen[code] = index
        item = existing.get(code) or SurveyItem(survey=survey, code=code)
        model_update(instance=item, data={name: data[name] for name in ITEM_FIELDS if name in data}, save=False)
        try:
            item.full_clean(validate_unique=False)  # codes are matched, and checked once above
        except DjangoValidationError as exc:
            for field, messages in validation_messages(exc).items():
                path = f"items.{index}" if field == "__all__" else f"items.{index}.{field}"
                error_code = "required" if field == "domain" and item.domain_id is None else "invalid"
                errors.extend(ErrorItem(field=path, code=error_code, message=message) for message in messages)
        if item.domain_id is not None:
            themes = data["themes"] if "themes" in data else (list(item.themes.all()) if item.pk else [])
            foreign = need_themes_check(domain=item.domain, themes=themes)
            if foreign:
                errors.append(
                    ErrorItem(
                        field=f"items.{index}.themes",
                        code="invalid_theme",
                        message=gettext("Theme(s) %(themes)s do not belong to the domain %(domain)r.")
                        % {"themes": ", ".join(foreign), "domain": item.domain.code},
                    )
                )
        validated.append((item, data))
    if errors:
        raise InvalidInput(errors)
    return validated


def _survey_items_write(survey: Survey, items: list[dict], *, replace: bool) -> None:
    """Upsert items by code once all are valid; with `replace`, items absent from the list are deleted (with their
    responses)."""
    validated = _survey_items_validate(survey, items)
    if replace:
        survey.items.exclude(code__in=[item.code for item, _ in validated]).delete()
    for item, data in validated:
        item.save()
        if "themes" in data:
            item.themes.set(data["themes"])


@transaction.atomic
def survey_create(*, values: dict, audiences: list[Audience], items: list[dict], created_by=None) -> Survey:
    """Create a survey and its items. With `created_by` (an API caller), its territory must lie within theirs; none
    given means their territory when they have exactly one."""
    if created_by is not None:
        scope = analyst_scope(user=created_by)
        values = {
            **values,
            "territory": scope.territory_check(values.get("territory"), field="territory", default=True),
        }
    survey = Survey(created_by=created_by, **values)
    model_full_clean(instance=survey)
    survey.save()
    survey.audiences.set(audiences)
    _survey_items_write(survey, items, replace=True)
    return survey


def survey_scale_check(*, survey: Survey, values: dict) -> list[ErrorItem]:
    """The scale of a survey with stored responses is fixed (its scores would change meaning): the API and the admin
    check it here."""
    changed = [name for name in ("scale_min", "scale_max") if name in values and values[name] != getattr(survey, name)]
    if not changed or not selectors.survey_responses(survey=survey).exists():
        return []
    return [
        ErrorItem(
            field=name,
            code="has_responses",
            message=gettext("The scale cannot change once responses are stored: scores would change meaning."),
        )
        for name in changed
    ]


@transaction.atomic
def survey_update(
    *,
    survey: Survey,
    values: dict,
    audiences: list[Audience] | None = None,
    items: list[dict] | None = None,
    user=None,
) -> Survey:
    """Update a survey; `items` (when given) replaces the item set, matched by code. Needs are recomputed. With
    `user`, a new territory must lie within theirs."""
    if user is not None and "territory" in values:
        analyst_scope(user=user).territory_check(values["territory"], field="territory")
    problems = survey_scale_check(survey=survey, values=values)
    if problems:
        raise InvalidInput(problems)
    model_update(instance=survey, data=values, save=False)
    model_full_clean(instance=survey)
    survey.save()
    if audiences is not None:
        survey.audiences.set(audiences)
    if items is not None:
        _survey_items_write(survey, items, replace=True)
    survey_needs_compute(survey=survey)
    return survey


@transaction.atomic
def survey_delete(*, survey: Survey) -> None:
    """Delete a survey with its items, responses and the needs computed from them."""
    survey.delete()


def survey_upsert_from_definition(*, definition: dict) -> tuple[Survey, bool]:
    """Create or update a survey and its items from a JSON definition (as audiences/data/demo/survey.json).

    Upserted by reference (by title when there is none); the items listed replace the survey's items.
    """
    errors: list[ErrorItem] = []
    lookups = CodeLookups()
    audiences = []
    for index, segment in enumerate(definition.get("segments") or definition.get("audiences") or []):
        # a segment is an audience code, or an object with an `audience` code (and generator parameters)
        code = segment.get("audience") if isinstance(segment, dict) else segment
        if code not in lookups.audiences:
            errors.append(
                ErrorItem(
                    field=f"segments.{index}",
                    code="not_found",
                    message=(gettext("Unknown audience %(code)r.") % {"code": code}),
                )
            )
        else:
            audiences.append(lookups.audiences[code])
    items = []
    for index, raw in enumerate(definition.get("items") or []):
        domain = lookups.domains.get(raw.get("domain"))
        if domain is None:
            errors.append(
                ErrorItem(
                    field=f"items.{index}.domain",
                    message=(gettext("Unknown domain %(code)r.") % {"code": raw.get("domain")}),
                )
            )
            continue
        themes = []
        for code in raw.get("themes") or []:
            if code not in lookups.themes:
                errors.append(
                    ErrorItem(
                        field=f"items.{index}.themes", message=(gettext("Unknown theme %(code)r.") % {"code": code})
                    )
                )
            else:
                themes.append(lookups.themes[code])
        measures = raw.get("measures", "both")
        items.append(
            {
                "code": raw.get("code", ""),
                "domain": domain,
                "themes": themes,
                "statement": raw.get("statement", ""),
                "measures_importance": measures in ("both", "importance"),
                "measures_satisfaction": measures in ("both", "satisfaction"),
                "stage": raw.get("stage") or JourneyStage.ANCHOR,
            }
        )
    values = {"title": definition.get("title"), "reference": definition.get("reference") or ""}
    if not isinstance(values["title"], str) or not values["title"].strip():
        errors.append(ErrorItem(field="title", code="required", message=gettext("The survey needs a title.")))
    try:
        values["date"] = datetime.date.fromisoformat(str(definition.get("date")))
    except ValueError:
        errors.append(
            ErrorItem(
                field="date",
                message=(gettext("Expected a YYYY-MM-DD date, not %(value)r.") % {"value": definition.get("date")}),
            )
        )
    for name, default in (("scale_min", 1), ("scale_max", 5)):
        value = definition.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(
                ErrorItem(field=name, message=(gettext("Expected a whole number, not %(value)r.") % {"value": value}))
            )
        values[name] = value
    if errors:
        raise InvalidInput(errors, message=gettext("The survey definition is invalid; nothing was loaded."))
    lookup = {"reference": values["reference"]} if values["reference"] else {"title": values["title"]}
    survey = Survey.objects.filter(**lookup).first()
    if survey is None:
        return survey_create(values=values, audiences=audiences, items=items), True
    return survey_update(survey=survey, values=values, audiences=audiences, items=items), False
