"""Surveys and their items: created, changed (their needs recomputed) and deleted, also from a JSON definition."""

import datetime

from django.db import transaction

from api.exceptions import ErrorItem, InvalidInput
from api.model_update import model_full_clean, model_update
from audiences import selectors
from audiences.models import JourneyStage, Survey, SurveyItem
from audiences.services.needs import need_themes_check
from audiences.services.responses import survey_needs_compute
from offers.models import Audience
from offers.services.lookups import CodeLookups

ITEM_FIELDS = ("domain", "statement", "measures_importance", "measures_satisfaction", "stage")


def _survey_items_write(survey: Survey, items: list[dict], *, replace: bool) -> None:
    """Upsert items by code; with `replace`, items absent from the list are deleted (with their responses)."""
    errors = []
    for index, item in enumerate(items):
        foreign = need_themes_check(domain=item["domain"], themes=item.get("themes", []))
        if foreign:
            errors.append(
                ErrorItem(
                    field=f"items.{index}.themes",
                    code="invalid_theme",
                    message=f"Theme(s) {', '.join(foreign)} do not belong to the domain {item['domain'].code!r}.",
                )
            )
        if not item.get("measures_importance", True) and not item.get("measures_satisfaction", True):
            errors.append(
                ErrorItem(field=f"items.{index}", message="An item must measure importance, satisfaction or both.")
            )
    codes = [item["code"] for item in items]
    for index, code in enumerate(codes):
        if code in codes[:index]:
            errors.append(
                ErrorItem(field=f"items.{index}.code", code="duplicate", message=f"Item {code!r} is given twice.")
            )
    if errors:
        raise InvalidInput(errors)
    existing = {item.code: item for item in survey.items.all()}
    if replace:
        survey.items.exclude(code__in=codes).delete()
    for data in items:
        item = existing.get(data["code"]) or SurveyItem(survey=survey, code=data["code"])
        model_update(instance=item, data={name: data[name] for name in ITEM_FIELDS if name in data}, save=False)
        model_full_clean(instance=item)
        item.save()
        if "themes" in data:
            item.themes.set(data["themes"])


@transaction.atomic
def survey_create(*, values: dict, audiences: list[Audience], items: list[dict], created_by=None) -> Survey:
    survey = Survey(created_by=created_by, **values)
    model_full_clean(instance=survey)
    survey.save()
    survey.audiences.set(audiences)
    _survey_items_write(survey, items, replace=True)
    return survey


@transaction.atomic
def survey_update(
    *, survey: Survey, values: dict, audiences: list[Audience] | None = None, items: list[dict] | None = None
) -> Survey:
    """Update a survey; `items` (when given) replaces the item set, matched by code. Needs are recomputed."""
    has_responses = selectors.survey_responses(survey=survey).exists()
    for name in ("scale_min", "scale_max"):
        if name in values and values[name] != getattr(survey, name) and has_responses:
            raise InvalidInput(
                [
                    ErrorItem(
                        field=name,
                        code="has_responses",
                        message="The scale cannot change once responses are stored: scores would change meaning.",
                    )
                ]
            )
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
                ErrorItem(field=f"segments.{index}", code="not_found", message=f"Unknown audience {code!r}.")
            )
        else:
            audiences.append(lookups.audiences[code])
    items = []
    for index, raw in enumerate(definition.get("items") or []):
        domain = lookups.domains.get(raw.get("domain"))
        if domain is None:
            errors.append(ErrorItem(field=f"items.{index}.domain", message=f"Unknown domain {raw.get('domain')!r}."))
            continue
        themes = []
        for code in raw.get("themes") or []:
            if code not in lookups.themes:
                errors.append(ErrorItem(field=f"items.{index}.themes", message=f"Unknown theme {code!r}."))
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
    if errors:
        raise InvalidInput(errors, message="The survey definition is invalid; nothing was loaded.")
    values = {
        "title": definition["title"],
        "reference": definition.get("reference", ""),
        "date": datetime.date.fromisoformat(str(definition["date"])),
        "scale_min": int(definition.get("scale_min", 1)),
        "scale_max": int(definition.get("scale_max", 5)),
    }
    lookup = {"reference": values["reference"]} if values["reference"] else {"title": values["title"]}
    survey = Survey.objects.filter(**lookup).first()
    if survey is None:
        return survey_create(values=values, audiences=audiences, items=items), True
    return survey_update(survey=survey, values=values, audiences=audiences, items=items), False
