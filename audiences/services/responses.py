"""Survey responses: the upload of raw answers (validated whole, upserted by item and respondent), and their
aggregation into needs, one per item x audience for the whole survey area and one per EPCI."""

from collections import defaultdict
from dataclasses import asdict, dataclass

import numpy as np
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from api.cells import CellError, parse_int, parse_text
from api.exceptions import ErrorItem, InvalidInput
from api.model_update import model_update
from api.tabular import Column, Row, read_upload
from api.text import fold_text
from audiences import selectors, statistics
from audiences.models import NEED_STATISTICS_FIELDS, Need, NeedSource, Survey, SurveyItem, SurveyResponse
from offers.models import Audience, Territory, TerritoryKind
from offers.selectors import territories_by_path, territory_paths_canonical
from offers.territory_paths import common_path, path_upto

RESPONSES_MAX_ROWS = 200_000
RESPONSES_MAX_BYTES = 20 * 1024 * 1024

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
    commune_codes = {parse_text(row.values.get("commune")) for row in rows} - {""}
    communes = {
        territory.code: territory
        for territory in Territory.objects.filter(kind=TerritoryKind.COMMUNE, code__in=commune_codes)
    }
    communes_outside = selectors.survey_communes_outside(survey=survey, communes=communes.values())
    errors: list[ErrorItem] = []
    result: list[_ResponseRow] = []
    respondents: dict[str, tuple[int, Audience | None, Territory | None]] = {}
    seen: dict[tuple[str, str], int] = {}

    for row in rows:
        problems: list[tuple[str, str, str]] = []
        respondent_id = parse_text(row.values.get("respondent_id"))
        if not respondent_id:
            problems.append(("respondent_id", "required", gettext("required")))
        elif len(respondent_id) > 64:
            problems.append(("respondent_id", "invalid", gettext("at most 64 characters")))
        item_code = parse_text(row.values.get("item"))
        item = items.get(item_code)
        if item is None:
            known = ", ".join(sorted(items)) or gettext("none yet")
            message = (
                gettext("unknown item %(code)r (items of this survey: %(known)s)")
                % {"code": item_code, "known": known}
                if item_code
                else gettext("required")
            )
            problems.append(("item", "unknown_item" if item_code else "required", message))
        audience_code = parse_text(row.values.get("audience"))
        audience = audiences.get(audience_code) if audience_code else None
        if audience_code and audience is None:
            if allowed:
                message = gettext("unknown audience %(code)r (audiences targeted by this survey: %(known)s)")
            else:
                message = gettext("unknown audience %(code)r (audiences known: %(known)s)")
            problems.append(
                (
                    "audience",
                    "unknown_audience",
                    message % {"code": audience_code, "known": ", ".join(sorted(audiences))},
                )
            )
        elif not audience_code:
            if len(survey_audiences) == 1:
                audience = survey_audiences[0]
            else:
                problems.append(
                    (
                        "audience",
                        "required",
                        gettext("required: the survey does not target exactly one audience to default to"),
                    )
                )
        commune_code = parse_text(row.values.get("commune"))
        commune = communes.get(commune_code) if commune_code else None
        if commune_code and commune is None:
            problems.append(
                ("commune", "unknown_commune", gettext("unknown commune INSEE code %(code)r") % {"code": commune_code})
            )
        elif commune is not None and commune.pk in communes_outside:
            problems.append(("commune", "outside_territory", communes_outside[commune.pk]))
        scores: dict[str, int | None] = {}
        for name in ("importance", "satisfaction"):
            raw = row.values.get(name)
            # The item's own scale for this measure when it has one (set by a wide file's mapping).
            low, high = item.scale(name) if item is not None else (survey.scale_min, survey.scale_max)
            scale = f"{low}-{high}"
            try:
                scores[name] = parse_int(raw)
            except CellError:
                problems.append(
                    (
                        name,
                        "not_integer",
                        gettext("%(value)r is not a whole number of the %(scale)s scale")
                        % {"value": raw, "scale": scale},
                    )
                )
                continue
            if scores[name] is None:
                continue
            if not low <= scores[name] <= high:
                problems.append(
                    (
                        name,
                        "out_of_scale",
                        gettext("%(value)s is outside the %(scale)s scale") % {"value": scores[name], "scale": scale},
                    )
                )
            elif item is not None and not getattr(item, f"measures_{name}"):
                problems.append(
                    (
                        name,
                        "not_measured",
                        gettext("item %(code)r does not measure %(measure)s") % {"code": item.code, "measure": name},
                    )
                )
        if respondent_id and item is not None:
            key = (respondent_id, item.code)
            if key in seen:
                problems.append(
                    (
                        "item",
                        "duplicate",
                        gettext("respondent %(respondent)r already answered %(item)r on line %(line)s")
                        % {"respondent": respondent_id, "item": item.code, "line": seen[key]},
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
                        gettext("respondent %(respondent)r had audience %(value)r on line %(line)s")
                        % {
                            "respondent": respondent_id,
                            "value": first[1].code if first[1] else None,
                            "line": first[0],
                        },
                    )
                )
            if first[2] != commune:
                problems.append(
                    (
                        "commune",
                        "inconsistent",
                        gettext("respondent %(respondent)r had commune %(value)r on line %(line)s")
                        % {
                            "respondent": respondent_id,
                            "value": first[2].code if first[2] else None,
                            "line": first[0],
                        },
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
        raise InvalidInput(
            errors,
            message=gettext("%(count)s line(s) of the file are invalid; nothing was written.") % {"count": lines},
        )
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
    *NEED_STATISTICS_FIELDS,
)


def _survey_groups(columns: dict[str, np.ndarray], *, survey_path: str | None = None):
    """Each answer's groups: (item, audience) for the whole area, and (item, audience, EPCI) when its commune lies in
    an EPCI other than the area. The whole area is the survey's territory when it has one (so its team sees the
    need), else the smallest territory holding every respondent's commune. Returns the answers' positions (an
    answer appears once per group it is in), their group numbers, and the (item id, audience id, territory path)
    of each group."""
    item_ids, item_positions = np.unique(columns["item_id"], return_inverse=True)
    audience_ids, audience_positions = np.unique(columns["audience_id"], return_inverse=True)
    commune_ids, commune_positions = np.unique(columns["commune_id"], return_inverse=True)
    paths = dict(Territory.objects.filter(pk__in=commune_ids.tolist()).values_list("pk", "path"))
    area_path = survey_path or common_path(paths.values())
    # An EPCI straddling two départements files its communes under both: group them under its one territory.
    canonical = territory_paths_canonical({area_path, *(path_upto(path, "epci") for path in paths.values())})
    epci_of = {commune_id: canonical.get(path_upto(path, "epci")) for commune_id, path in paths.items()}
    if not survey_path:
        area_path = canonical.get(area_path, area_path)
        epcis = set(epci_of.values())
        if len(epcis) == 1 and None not in epcis and not (area_path or "").startswith(next(iter(epcis))):
            area_path = next(iter(epcis))  # all in one EPCI, on both sides of a border: that EPCI, not the région
    slots = [area_path]  # territory slot 0 is the whole area
    slot_of_path: dict[str, int] = {}
    commune_slots = np.full(len(commune_ids), -1, dtype=np.int64)
    for position, commune_id in enumerate(commune_ids.tolist()):
        epci_path = epci_of.get(commune_id)
        if epci_path and epci_path != area_path:
            if epci_path not in slot_of_path:
                slot_of_path[epci_path] = len(slots)
                slots.append(epci_path)
            commune_slots[position] = slot_of_path[epci_path]
    epci_slots = commune_slots[commune_positions]
    in_epci = np.flatnonzero(epci_slots >= 0)
    answers = np.concatenate([np.arange(len(item_positions)), in_epci])
    territory_slots = np.concatenate([np.zeros(len(item_positions), dtype=np.int64), epci_slots[in_epci]])
    combined = (item_positions[answers] * len(audience_ids) + audience_positions[answers]) * len(slots)
    keys, groups = np.unique(combined + territory_slots, return_inverse=True)
    described = [
        (
            int(item_ids[key // len(slots) // len(audience_ids)]),
            int(audience_ids[key // len(slots) % len(audience_ids)]),
            slots[key % len(slots)],
        )
        for key in keys.tolist()
    ]
    return answers, groups.reshape(-1), described


@transaction.atomic
def survey_needs_compute(*, survey: Survey) -> NeedsComputeReport:
    """(Re)compute the needs of a survey from its stored responses.

    For each item x audience: one need for the whole survey area (territory = the survey's territory, else the
    smallest territory containing every respondent's commune, null when neither is known) and one per EPCI with
    respondents. Groups without
    any importance answer give no need. Each measure is normalised on its item's scale and weighted by the
    respondents' weights (audiences.statistics, docs/surveys.md): weighted mean, Kish effective sample size,
    interval; demand_volume = weighted respondents in the top-2 box of importance, rounded. Needs are upserted by
    (item, audience, territory); needs of groups that no longer exist are deleted.
    """
    items = {item.pk: item for item in survey.items.prefetch_related("themes")}
    columns = selectors.survey_response_columns(survey=survey)
    # An answer without audience belongs to no need (the upload refuses them; an admin edit could leave one).
    columns = {name: array[columns["audience_id"] >= 0] for name, array in columns.items()}
    survey_path = survey.territory.path if survey.territory_id else None
    answers, groups, described = _survey_groups(columns, survey_path=survey_path)
    estimates = {
        measure: statistics.measure_estimates(
            item_ids=columns["item_id"][answers],
            scores=columns[measure][answers],
            weights=columns["weight"][answers],
            groups=groups,
            group_count=len(described),
            scales={item_id: item.scale(measure) for item_id, item in items.items()},
        )
        for measure in ("importance", "satisfaction")
    }
    territories = territories_by_path(path for _, _, path in described)
    source_reference = f"{survey.title} ({survey.reference})" if survey.reference else survey.title
    wanted: dict[tuple[int, int, int | None], tuple[dict, SurveyItem]] = {}
    for group, (item_id, audience_id, path) in enumerate(described):
        importance = statistics.estimate_at(estimates["importance"], group)
        if importance is None:
            continue
        satisfaction = statistics.estimate_at(estimates["satisfaction"], group)
        item = items[item_id]
        territory_id = territories[path].pk if path else None
        wanted[(item_id, audience_id, territory_id)] = (
            {
                "domain_id": item.domain_id,
                "statement": item.statement,
                "search_text": fold_text(item.statement),
                "stage": item.stage,
                "importance": importance.mean,
                "satisfaction": satisfaction.mean if satisfaction else None,
                "demand_volume": statistics.volume_rounded(float(estimates["importance"].top_box[group])),
                "source": NeedSource.SURVEY,
                "source_reference": source_reference[:300],
                "source_date": survey.date,
                "response_count": importance.count,
                "weighted_response_count": importance.weight_total,
                "effective_response_count": importance.effective_count,
                "importance_ci_low": importance.ci_low,
                "importance_ci_high": importance.ci_high,
                "satisfaction_response_count": satisfaction.count if satisfaction else 0,
                "satisfaction_effective_response_count": satisfaction.effective_count if satisfaction else None,
                "satisfaction_ci_low": satisfaction.ci_low if satisfaction else None,
                "satisfaction_ci_high": satisfaction.ci_high if satisfaction else None,
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
        _, changed = model_update(instance=need, data=values, save=False)
        if changed or themes_changed:
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
