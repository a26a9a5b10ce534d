"""Writes of the audiences app: audiences, needs (and their import), surveys, response uploads and their aggregation.

Every write validates first and writes in one transaction; uploads are refused whole, with every bad line listed.
"""

import datetime
import json
import math
import re
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from api.exceptions import Conflict, ErrorItem, InvalidInput
from api.tabular import Column, Row, read_upload
from api.text import fold_text
from audiences import selectors
from audiences.models import JourneyStage, Need, NeedSource, Survey, SurveyItem, SurveyResponse
from audiences.statistics import common_path, item_summary
from offers.models import Audience, Domain, Territory, TerritoryKind, Theme

DEMO_DIR = Path(__file__).resolve().parent / "data" / "demo"
NEED_IMPORT_MAX_ROWS = 10_000
RESPONSES_MAX_ROWS = 200_000
RESPONSES_MAX_BYTES = 20 * 1024 * 1024
LIST_SEPARATORS = re.compile(r"[|,;]")


def _full_clean(obj, **kwargs) -> None:
    try:
        obj.full_clean(**kwargs)
    except ValidationError as exc:
        raise InvalidInput(
            [
                ErrorItem(field=field, message=message)
                for field, messages in exc.message_dict.items()
                for message in messages
            ]
        ) from exc


# --- Audiences -------------------------------------------------------------------------------------------------


@transaction.atomic
def audience_create(
    *, code: str, label: str, description: str = "", data_inclusion_codes: list | None = None, position: int = 0
) -> Audience:
    audience = Audience(
        code=code,
        label=label,
        description=description,
        data_inclusion_codes=data_inclusion_codes or [],
        position=position,
    )
    _full_clean(audience)
    audience.save()
    return audience


@transaction.atomic
def audience_update(*, audience: Audience, values: dict) -> Audience:
    for name, value in values.items():
        setattr(audience, name, value)
    _full_clean(audience)
    audience.save()
    return audience


@transaction.atomic
def audience_delete(*, audience: Audience) -> None:
    """Delete an audience nothing refers to; otherwise 409 saying what still uses it."""
    usage = selectors.audience_usage(audience=audience)
    if usage:
        details = ", ".join(f"{count} {what.replace('_', ' ')}" for what, count in usage.items())
        raise Conflict(f"The audience {audience.code!r} is still used by {details}; reassign or delete them first.")
    audience.delete()


# --- Needs -----------------------------------------------------------------------------------------------------


NEED_FIELDS = (
    "audience",
    "domain",
    "statement",
    "territory",
    "stage",
    "importance",
    "satisfaction",
    "demand_volume",
    "source",
    "source_reference",
    "source_date",
    "external_id",
)


def need_themes_check(*, domain: Domain | None, themes: list[Theme]) -> list[str]:
    """Theme codes that do not belong to the need's domain (a theme of another domain is a classification error)."""
    if domain is None:
        return []
    return [theme.code for theme in themes if theme.domain_id != domain.pk]


def _need_save(need: Need, *, values: dict, themes: list[Theme] | None) -> Need:
    for name, value in values.items():
        setattr(need, name, value)
    need.search_text = fold_text(need.statement)
    errors = []
    if themes is not None:
        foreign = need_themes_check(domain=need.domain, themes=themes)
        if foreign:
            errors.append(
                ErrorItem(
                    field="themes",
                    code="invalid_theme",
                    message=f"Theme(s) {', '.join(foreign)} do not belong to the domain {need.domain.code!r}.",
                )
            )
    if errors:
        raise InvalidInput(errors)
    _full_clean(need)
    need.save()
    if themes is not None:
        need.themes.set(themes)
    return need


def _computed_guard(need: Need) -> None:
    if need.survey_item_id:
        raise Conflict(
            "This need is computed from survey responses; change the survey or upload its responses again instead."
        )


@transaction.atomic
def need_create(*, values: dict, themes: list[Theme]) -> Need:
    """Create a need from validated values (keys of NEED_FIELDS; model instances for relations)."""
    return _need_save(Need(), values=values, themes=themes)


@transaction.atomic
def need_update(*, need: Need, values: dict, themes: list[Theme] | None = None) -> Need:
    """Update a hand-made need; needs computed from a survey are refused (409) since the next upload rewrites them."""
    _computed_guard(need)
    return _need_save(need, values=values, themes=themes)


@transaction.atomic
def need_delete(*, need: Need) -> None:
    _computed_guard(need)
    need.delete()


NEED_COLUMNS = [
    Column("external_id", ("identifiant", "id_externe", "identifiant_externe", "id"), required=True),
    Column("audience", ("public", "public_cible", "segment"), required=True),
    Column("domain", ("domaine",), required=True),
    Column("themes", ("theme", "thèmes", "thème")),
    Column("statement", ("besoin", "énoncé", "enonce", "libellé", "libelle"), required=True),
    Column("territory", ("territoire", "code_territoire", "périmètre", "perimetre")),
    Column("stage", ("étape", "etape", "étape_du_parcours", "parcours")),
    Column("importance", (), required=True),
    Column("satisfaction", ()),
    Column("demand_volume", ("volume", "volume_de_demande", "demande")),
    Column("source", (), required=True),
    Column("source_reference", ("référence_source", "reference_source", "référence", "reference")),
    Column("source_date", ("date_source", "date")),
]

# Computed columns of the export, accepted and ignored by the import so that an export re-imports as is.
NEED_EXPORT_ONLY = (
    "id",
    "response_count",
    "importance_ci_low",
    "importance_ci_high",
    "satisfaction_response_count",
    "satisfaction_ci_low",
    "satisfaction_ci_high",
    "updated_at",
)
NEED_EXPORT_HEADER = [column.name for column in NEED_COLUMNS] + list(NEED_EXPORT_ONLY)


def _choice(raw: str, choices) -> str | None:
    """A choice by its code or its French label, ignoring case and accents (`Accueillir` -> `welcome`)."""
    folded = fold_text(raw)
    for value, label in choices:
        if folded in (fold_text(value), fold_text(label)):
            return value
    return None


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _number(value, *, kind=float):
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError
    number = value if isinstance(value, int | float) else float(str(value).strip().replace(",", "."))
    if not math.isfinite(number):
        raise ValueError
    if kind is int:
        if number != int(number):
            raise ValueError
        return int(number)
    return float(number)


@dataclass
class _NeedRow:
    line: int
    key: tuple[str, str]
    values: dict
    themes: list[Theme]


class _Lookups:
    """Reference data fetched once per import, so validating 10,000 rows costs a handful of queries."""

    def __init__(self):
        self.audiences = {a.code: a for a in Audience.objects.all()}
        self.domains = {d.code: d for d in Domain.objects.all()}
        self.themes = {t.code: t for t in Theme.objects.all()}
        self._territories: dict[str, Territory | InvalidInput] = {}

    def territory(self, code: str) -> Territory:
        if code not in self._territories:
            try:
                self._territories[code] = selectors.territory_resolve(code=code)
            except InvalidInput as exc:
                self._territories[code] = exc
        found = self._territories[code]
        if isinstance(found, InvalidInput):
            raise found
        return found


def _need_row_parse(row: Row, lookups: _Lookups, errors: list[ErrorItem]) -> _NeedRow | None:
    raw = row.values
    problems: list[tuple[str, str]] = []
    values: dict = {}
    for name in ("external_id", "statement", "source_reference"):
        values[name] = _text(raw.get(name))
    if not values["external_id"]:
        problems.append(("external_id", "required: the stable identifier of the need in your file"))
    elif len(values["external_id"]) > 128:
        problems.append(("external_id", "at most 128 characters"))
    if not values["statement"]:
        problems.append(("statement", "required"))
    for name, mapping in (("audience", lookups.audiences), ("domain", lookups.domains)):
        code = _text(raw.get(name))
        values[name] = mapping.get(code)
        if values[name] is None:
            problems.append((name, f"unknown {name} code {code!r}" if code else "required"))
    themes: list[Theme] = []
    raw_themes = raw.get("themes")
    theme_codes = raw_themes if isinstance(raw_themes, list) else LIST_SEPARATORS.split(_text(raw_themes))
    for code in filter(None, (_text(code) for code in theme_codes)):
        if code in lookups.themes:
            themes.append(lookups.themes[code])
        else:
            problems.append(("themes", f"unknown theme code {code!r}"))
    foreign = need_themes_check(domain=values["domain"], themes=themes)
    if foreign:
        problems.append(
            ("themes", f"theme(s) {', '.join(foreign)} do not belong to the domain {values['domain'].code!r}")
        )
    territory_code = _text(raw.get("territory"))
    values["territory"] = None
    if territory_code:
        try:
            values["territory"] = lookups.territory(territory_code)
        except InvalidInput as exc:
            problems.append(("territory", exc.errors[0].message))
    for name, choices, default in (
        ("stage", JourneyStage.choices, JourneyStage.ANCHOR),
        ("source", NeedSource.choices, None),
    ):
        text = _text(raw.get(name))
        values[name] = _choice(text, choices) if text else default
        if values[name] is None:
            codes = ", ".join(value for value, _ in choices)
            problems.append((name, f"{text!r} is not one of {codes}" if text else f"required: one of {codes}"))
    for name, kind, required in (
        ("importance", float, True),
        ("satisfaction", float, False),
        ("demand_volume", int, False),
    ):
        try:
            values[name] = _number(raw.get(name), kind=kind)
        except (TypeError, ValueError):
            expected = "a whole number" if kind is int else "a number (decimal point or comma)"
            problems.append((name, f"{raw.get(name)!r} is not {expected}"))
            continue
        if values[name] is None and required:
            problems.append((name, "required"))
        elif values[name] is not None and kind is float and not 0 <= values[name] <= 1:
            problems.append((name, f"{values[name]} is outside 0-1"))
        elif values[name] is not None and kind is int and values[name] < 0:
            problems.append((name, "must be positive or zero"))
    date_text = _text(raw.get("source_date"))
    values["source_date"] = None
    if date_text:
        try:
            values["source_date"] = _date(date_text)
        except ValueError:
            problems.append(("source_date", f"{date_text!r} is not a date (YYYY-MM-DD or DD/MM/YYYY)"))
    if not problems:
        candidate = Need(**values)
        candidate.search_text = fold_text(values["statement"])
        try:
            candidate.full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            problems.extend((field, message) for field, messages in exc.message_dict.items() for message in messages)
    if problems:
        errors.extend(ErrorItem(line=row.line, field=field, message=message) for field, message in problems)
        return None
    return _NeedRow(line=row.line, key=(values["source"], values["external_id"]), values=values, themes=themes)


def _date(text: str) -> datetime.date:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(text)


@dataclass
class ImportReport:
    dry_run: bool
    rows: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


class _DryRunRollback(Exception):
    pass


def needs_import(
    *,
    content: bytes,
    filename: str | None = None,
    content_type: str | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Upsert needs by (source, external_id) from a CSV/JSON upload.

    The whole file is validated first (same rules as the API); any problem refuses it with every bad line.
    A dry run validates and counts without writing.
    """
    parsed = read_upload(
        content=content,
        columns=NEED_COLUMNS + [Column(name) for name in NEED_EXPORT_ONLY],
        filename=filename,
        content_type=content_type,
        max_rows=NEED_IMPORT_MAX_ROWS,
        list_key="needs",
    )
    lookups = _Lookups()
    errors: list[ErrorItem] = []
    need_rows: list[_NeedRow] = []
    first_line: dict[tuple[str, str], int] = {}
    for row in parsed:
        need_row = _need_row_parse(row, lookups, errors)
        if need_row is None:
            continue
        if need_row.key in first_line:
            errors.append(
                ErrorItem(
                    line=row.line,
                    field="external_id",
                    code="duplicate",
                    message=f"{need_row.key[1]!r} (source {need_row.key[0]}) already appears on line "
                    f"{first_line[need_row.key]}.",
                )
            )
            continue
        first_line[need_row.key] = row.line
        need_rows.append(need_row)
    if errors:
        raise InvalidInput(errors, message=f"{len(errors)} problem(s) in the file; nothing was written.")

    report = ImportReport(dry_run=dry_run, rows=len(parsed))
    try:
        with transaction.atomic():
            _needs_upsert(need_rows, report)
            if dry_run:
                raise _DryRunRollback
    except _DryRunRollback:
        pass
    return report


def _needs_upsert(need_rows: list[_NeedRow], report: ImportReport) -> None:
    existing: dict[tuple[str, str], Need] = {}
    for source in {row.key[0] for row in need_rows}:
        ids = [row.key[1] for row in need_rows if row.key[0] == source]
        for need in Need.objects.filter(source=source, external_id__in=ids).prefetch_related("themes"):
            existing[(need.source, need.external_id)] = need
    for row in need_rows:
        need = existing.get(row.key)
        if need is None:
            _need_save(Need(), values=row.values, themes=row.themes)
            report.created += 1
            continue
        same_values = all(getattr(need, name) == value for name, value in row.values.items())
        same_themes = {theme.pk for theme in need.themes.all()} == {theme.pk for theme in row.themes}
        if same_values and same_themes:
            report.unchanged += 1
            continue
        _need_save(need, values=row.values, themes=row.themes)
        report.updated += 1


def need_export_rows(*, needs) -> list[list]:
    """Rows of the needs export, in NEED_EXPORT_HEADER order (themes joined by `|`); re-importable as is."""
    return [
        [
            need.external_id,
            need.audience.code,
            need.domain.code,
            "|".join(theme.code for theme in need.themes.all()),
            need.statement,
            need.territory.qualified_code if need.territory_id else "",
            need.stage,
            need.importance,
            need.satisfaction,
            need.demand_volume,
            need.source,
            need.source_reference,
            need.source_date.isoformat() if need.source_date else "",
            need.pk,
            need.response_count,
            need.importance_ci_low,
            need.importance_ci_high,
            need.satisfaction_response_count,
            need.satisfaction_ci_low,
            need.satisfaction_ci_high,
            need.updated_at.isoformat(),
        ]
        for need in needs
    ]


# --- Surveys ---------------------------------------------------------------------------------------------------


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
        for name in ITEM_FIELDS:
            if name in data:
                setattr(item, name, data[name])
        _full_clean(item)
        item.save()
        if "themes" in data:
            item.themes.set(data["themes"])


@transaction.atomic
def survey_create(*, values: dict, audiences: list[Audience], items: list[dict], created_by=None) -> Survey:
    survey = Survey(created_by=created_by, **values)
    _full_clean(survey)
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
    for name, value in values.items():
        setattr(survey, name, value)
    _full_clean(survey)
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


# --- Survey responses ------------------------------------------------------------------------------------------


RESPONSE_COLUMNS = [
    Column("respondent_id", ("repondant", "répondant", "id_repondant", "id_répondant", "respondent"), required=True),
    Column("audience", ("public", "segment", "public_cible")),
    Column("commune", ("code_commune", "insee", "code_insee")),
    Column("item", ("question", "code_question"), required=True),
    Column("importance", ()),
    Column("satisfaction", ()),
]


@dataclass(frozen=True)
class _ResponseRow:
    line: int
    respondent_id: str
    item: SurveyItem
    audience: Audience
    commune: Territory | None
    importance: int | None
    satisfaction: int | None


@dataclass
class ResponsesReport:
    rows: int
    responses_created: int = 0
    responses_updated: int = 0
    responses_unchanged: int = 0
    needs_created: int = 0
    needs_updated: int = 0
    needs_unchanged: int = 0
    needs_deleted: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def _responses_validate(survey: Survey, rows: list[Row]) -> list[_ResponseRow]:
    items = selectors.survey_item_map(survey=survey)
    survey_audiences = list(survey.audiences.all())
    allowed = {audience.code: audience for audience in survey_audiences}
    audiences = allowed or {audience.code: audience for audience in Audience.objects.all()}
    commune_codes = {_text(row.values.get("commune")) for row in rows} - {""}
    communes = {
        territory.code: territory
        for territory in Territory.objects.filter(kind=TerritoryKind.COMMUNE, code__in=commune_codes)
    }
    errors: list[ErrorItem] = []
    result: list[_ResponseRow] = []
    respondents: dict[str, tuple[int, Audience | None, Territory | None]] = {}
    seen: dict[tuple[str, str], int] = {}
    scale = f"{survey.scale_min}-{survey.scale_max}"

    for row in rows:
        problems: list[tuple[str, str, str]] = []
        respondent_id = _text(row.values.get("respondent_id"))
        if not respondent_id:
            problems.append(("respondent_id", "required", "required"))
        elif len(respondent_id) > 64:
            problems.append(("respondent_id", "invalid", "at most 64 characters"))
        item_code = _text(row.values.get("item"))
        item = items.get(item_code)
        if item is None:
            known = ", ".join(sorted(items)) or "none yet"
            message = f"unknown item {item_code!r} (items of this survey: {known})" if item_code else "required"
            problems.append(("item", "unknown_item" if item_code else "required", message))
        audience_code = _text(row.values.get("audience"))
        audience = audiences.get(audience_code) if audience_code else None
        if audience_code and audience is None:
            where = "targeted by this survey" if allowed else "known"
            problems.append(
                (
                    "audience",
                    "unknown_audience",
                    f"unknown audience {audience_code!r} (audiences {where}: {', '.join(sorted(audiences))})",
                )
            )
        elif not audience_code:
            if len(survey_audiences) == 1:
                audience = survey_audiences[0]
            else:
                problems.append(
                    ("audience", "required", "required: the survey does not target exactly one audience to default to")
                )
        commune_code = _text(row.values.get("commune"))
        commune = communes.get(commune_code) if commune_code else None
        if commune_code and commune is None:
            problems.append(("commune", "unknown_commune", f"unknown commune INSEE code {commune_code!r}"))
        scores: dict[str, int | None] = {}
        for name in ("importance", "satisfaction"):
            raw = row.values.get(name)
            try:
                scores[name] = _number(raw, kind=int)
            except (TypeError, ValueError):
                problems.append((name, "not_integer", f"{raw!r} is not a whole number of the {scale} scale"))
                continue
            if scores[name] is None:
                continue
            if not survey.scale_min <= scores[name] <= survey.scale_max:
                problems.append((name, "out_of_scale", f"{scores[name]} is outside the {scale} scale"))
            elif item is not None and not getattr(item, f"measures_{name}"):
                problems.append((name, "not_measured", f"item {item.code!r} does not measure {name}"))
        if respondent_id and item is not None:
            key = (respondent_id, item.code)
            if key in seen:
                problems.append(
                    (
                        "item",
                        "duplicate",
                        f"respondent {respondent_id!r} already answered {item.code!r} on line {seen[key]}",
                    )
                )
            else:
                seen[key] = row.line
        if respondent_id and not any(field in ("audience", "commune") for field, _, _ in problems):
            first = respondents.setdefault(respondent_id, (row.line, audience, commune))
            if first[1] != audience:
                problems.append(
                    (
                        "audience",
                        "inconsistent",
                        f"respondent {respondent_id!r} had audience "
                        f"{first[1].code if first[1] else None!r} on line {first[0]}",
                    )
                )
            if first[2] != commune:
                problems.append(
                    (
                        "commune",
                        "inconsistent",
                        f"respondent {respondent_id!r} had commune "
                        f"{first[2].code if first[2] else None!r} on line {first[0]}",
                    )
                )
        if problems:
            errors.extend(
                ErrorItem(line=row.line, field=field, code=code, message=message) for field, code, message in problems
            )
            continue
        result.append(
            _ResponseRow(
                line=row.line,
                respondent_id=respondent_id,
                item=item,
                audience=audience,
                commune=commune,
                importance=scores["importance"],
                satisfaction=scores["satisfaction"],
            )
        )
    if errors:
        lines = len({error.line for error in errors})
        raise InvalidInput(errors, message=f"{lines} line(s) of the file are invalid; nothing was written.")
    return result


def survey_responses_import(
    *, survey: Survey, content: bytes, filename: str | None = None, content_type: str | None = None
) -> ResponsesReport:
    """Store a file of raw responses (one row per respondent and item) and recompute the survey's needs.

    Validated whole before anything is written; then responses are upserted by (item, respondent) and the needs
    recomputed, in one transaction. Re-uploading the same file changes nothing; a corrected file updates.
    Responses absent from the file are kept (a survey may arrive in several batches).
    """
    rows = read_upload(
        content=content,
        columns=RESPONSE_COLUMNS,
        filename=filename,
        content_type=content_type,
        max_bytes=RESPONSES_MAX_BYTES,
        max_rows=RESPONSES_MAX_ROWS,
        list_key="responses",
    )
    valid = _responses_validate(survey, rows)
    report = ResponsesReport(rows=len(rows))
    with transaction.atomic():
        _responses_upsert(survey, valid, report)
        needs = survey_needs_compute(survey=survey)
    report.needs_created, report.needs_updated = needs.created, needs.updated
    report.needs_unchanged, report.needs_deleted = needs.unchanged, needs.deleted
    return report


def _responses_upsert(survey: Survey, rows: list[_ResponseRow], report: ResponsesReport) -> None:
    fields = ("audience_id", "commune_id", "importance", "satisfaction")
    existing = {
        (item_id, respondent_id): (pk, values)
        for pk, item_id, respondent_id, *values in selectors.survey_responses(survey=survey)
        .filter(respondent_id__in={row.respondent_id for row in rows})
        .values_list("pk", "item_id", "respondent_id", *fields)
    }
    to_create, to_update = [], []
    for row in rows:
        values = {
            "audience_id": row.audience.pk,
            "commune_id": row.commune.pk if row.commune else None,
            "importance": row.importance,
            "satisfaction": row.satisfaction,
        }
        pk, stored = existing.get((row.item.pk, row.respondent_id), (None, None))
        if pk is None:
            to_create.append(SurveyResponse(item=row.item, respondent_id=row.respondent_id, **values))
        elif list(values.values()) != stored:
            to_update.append(SurveyResponse(pk=pk, **values))
        else:
            report.responses_unchanged += 1
    SurveyResponse.objects.bulk_create(to_create, batch_size=1000)
    SurveyResponse.objects.bulk_update(
        to_update, ["audience", "commune", "importance", "satisfaction"], batch_size=1000
    )
    report.responses_created, report.responses_updated = len(to_create), len(to_update)
    # The file is authoritative about who a respondent is: their other stored answers follow.
    respondents = {row.respondent_id: row for row in rows}
    stale = (
        selectors.survey_responses(survey=survey)
        .filter(respondent_id__in=respondents)
        .values_list("respondent_id", "audience_id", "commune_id")
        .distinct()
    )
    for respondent_id, audience_id, commune_id in list(stale):
        row = respondents[respondent_id]
        if (audience_id, commune_id) != (row.audience.pk, row.commune.pk if row.commune else None):
            selectors.survey_responses(survey=survey).filter(respondent_id=respondent_id).update(
                audience=row.audience, commune=row.commune
            )


@dataclass
class NeedsComputeReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0


COMPUTED_FIELDS = (
    "domain_id",
    "statement",
    "search_text",
    "stage",
    "importance",
    "satisfaction",
    "demand_volume",
    "source",
    "source_reference",
    "source_date",
    "response_count",
    "importance_ci_low",
    "importance_ci_high",
    "satisfaction_response_count",
    "satisfaction_ci_low",
    "satisfaction_ci_high",
)


@transaction.atomic
def survey_needs_compute(*, survey: Survey) -> NeedsComputeReport:
    """(Re)compute the needs of a survey from its stored responses.

    For each item x audience: one need for the whole survey area (territory = the smallest territory containing
    every respondent's commune, null when no commune is known) and one per EPCI with respondents. Groups without
    any importance answer give no need. Needs are upserted by (item, audience, territory); needs of groups that
    no longer exist are deleted.
    """
    items = {item.pk: item for item in survey.items.prefetch_related("themes")}
    responses = list(
        selectors.survey_responses(survey=survey).values_list(
            "item_id", "audience_id", "commune__path", "importance", "satisfaction"
        )
    )
    area_path = common_path(path for _, _, path, _, _ in responses if path)
    epci_prefix = "e"
    groups: dict[tuple[int, int, str | None], tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for item_id, audience_id, path, importance, satisfaction in responses:
        keys = [(item_id, audience_id, area_path)]
        epci_path = _epci_path(path, epci_prefix) if path else None
        if epci_path and epci_path != area_path:
            keys.append((item_id, audience_id, epci_path))
        for key in keys:
            if importance is not None:
                groups[key][0].append(importance)
            if satisfaction is not None:
                groups[key][1].append(satisfaction)
    territories = {
        territory.path: territory
        for territory in Territory.objects.filter(path__in={key[2] for key in groups} - {None})
    }
    source_reference = f"{survey.title} ({survey.reference})" if survey.reference else survey.title
    wanted: dict[tuple[int, int, int | None], tuple[dict, SurveyItem]] = {}
    for (item_id, audience_id, path), (importance, satisfaction) in groups.items():
        if not importance:
            continue
        item = items[item_id]
        summary = item_summary(
            importance=importance, satisfaction=satisfaction, scale_min=survey.scale_min, scale_max=survey.scale_max
        )
        territory_id = territories[path].pk if path else None
        wanted[(item_id, audience_id, territory_id)] = (
            {
                "domain_id": item.domain_id,
                "statement": item.statement,
                "search_text": fold_text(item.statement),
                "stage": item.stage,
                "importance": summary.importance.mean,
                "satisfaction": summary.satisfaction.mean if summary.satisfaction else None,
                "demand_volume": summary.demand_volume,
                "source": NeedSource.SURVEY,
                "source_reference": source_reference[:300],
                "source_date": survey.date,
                "response_count": summary.importance.count,
                "importance_ci_low": summary.importance.ci_low,
                "importance_ci_high": summary.importance.ci_high,
                "satisfaction_response_count": summary.satisfaction.count if summary.satisfaction else 0,
                "satisfaction_ci_low": summary.satisfaction.ci_low if summary.satisfaction else None,
                "satisfaction_ci_high": summary.satisfaction.ci_high if summary.satisfaction else None,
            },
            item,
        )
    report = NeedsComputeReport()
    existing = {
        (need.survey_item_id, need.audience_id, need.territory_id): need
        for need in Need.objects.filter(survey_item__survey=survey)
    }
    # Theme ids read as plain pairs: a prefetch would build thousands of related managers.
    need_themes: dict[int, set[int]] = defaultdict(set)
    through = Need.themes.through
    for need_id, theme_id in through.objects.filter(need__survey_item__survey=survey).values_list(
        "need_id", "theme_id"
    ):
        need_themes[need_id].add(theme_id)
    item_themes = {item_id: {theme.pk for theme in item.themes.all()} for item_id, item in items.items()}
    stale = [need.pk for key, need in existing.items() if key not in wanted]
    if stale:
        Need.objects.filter(pk__in=stale).delete()
        report.deleted = len(stale)
    now = timezone.now()
    to_create, to_update, theme_links, themes_reset = [], [], [], []
    for key, (values, item) in wanted.items():
        item_theme_ids = item_themes[item.pk]
        need = existing.get(key)
        if need is None:
            need = Need(survey_item_id=key[0], audience_id=key[1], territory_id=key[2], **values)
            to_create.append((need, item_theme_ids))
            continue
        themes_changed = need_themes[need.pk] != item_theme_ids
        if themes_changed:
            themes_reset.append(need.pk)
            theme_links.extend((need.pk, theme_id) for theme_id in item_theme_ids)
        if any(getattr(need, name) != value for name, value in values.items()) or themes_changed:
            for name, value in values.items():
                setattr(need, name, value)
            need.updated_at = now
            to_update.append(need)
        else:
            report.unchanged += 1
    created = Need.objects.bulk_create([need for need, _ in to_create], batch_size=500)
    for need, (_, theme_ids) in zip(created, to_create, strict=True):
        theme_links.extend((need.pk, theme_id) for theme_id in theme_ids)
    Need.objects.bulk_update(to_update, [*COMPUTED_FIELDS, "updated_at"], batch_size=500)
    through.objects.filter(need_id__in=themes_reset).delete()
    through.objects.bulk_create([through(need_id=need_id, theme_id=theme_id) for need_id, theme_id in theme_links])
    report.created, report.updated = len(to_create), len(to_update)
    return report


def _epci_path(path: str, prefix: str) -> str | None:
    segments = path.strip("/").split("/")
    for depth, segment in enumerate(segments):
        if segment.startswith(prefix):
            return "/".join(segments[: depth + 1]) + "/"
    return None


# --- Demo ------------------------------------------------------------------------------------------------------


@dataclass
class DemoReport:
    survey_created: bool
    responses: ResponsesReport
    workshop_needs: ImportReport

    def __str__(self) -> str:
        r, w = self.responses, self.workshop_needs
        return (
            f"survey {'created' if self.survey_created else 'kept'}; {r.rows} responses read "
            f"({r.responses_created} created, {r.responses_updated} updated); survey needs {r.needs_created} created, "
            f"{r.needs_updated} updated, {r.needs_deleted} deleted; workshop needs {w.created} created, "
            f"{w.updated} updated, {w.unchanged} unchanged"
        )


def survey_upsert_from_definition(*, definition: dict) -> tuple[Survey, bool]:
    """Create or update a survey and its items from a JSON definition (as audiences/data/demo/survey.json).

    Upserted by reference (by title when there is none); the items listed replace the survey's items.
    """
    errors: list[ErrorItem] = []
    lookups = _Lookups()
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


def audiences_demo_load(*, directory: Path = DEMO_DIR) -> DemoReport:
    """Load the demo survey (definition + responses.csv, through the upload service) and the workshop needs.

    Idempotent: the survey is upserted by reference (or title), responses by (item, respondent), workshop
    needs by (source, external_id).
    """
    with transaction.atomic():
        survey, created = survey_upsert_from_definition(
            definition=json.loads((directory / "survey.json").read_text(encoding="utf-8"))
        )
        responses_path = directory / "responses.csv"
        responses = survey_responses_import(
            survey=survey, content=responses_path.read_bytes(), filename=responses_path.name
        )
        needs_path = directory / "workshop_needs.json"
        workshop = needs_import(content=needs_path.read_bytes(), filename=needs_path.name)
    return DemoReport(survey_created=created, responses=responses, workshop_needs=workshop)
