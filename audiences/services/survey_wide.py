"""Wide survey files (one row per respondent, one column per question, as LimeSurvey, Google Forms, Framaforms and
survey firms export them) read through the survey's mapping: previewed, or validated whole and stored as responses
and open answers before the needs are recomputed.

The file is read column by column: each question column's label -> point map is built once from its distinct
values, each distinct commune is resolved once, each distinct weight parsed once, so a file of 20,000 respondents x
60 questions costs dictionary look-ups, and a handful of bulk queries.
"""

from collections import defaultdict
from dataclasses import asdict, dataclass, field

from django.db import connection, transaction
from django.utils.translation import gettext, ngettext

from api.cells import CellError, parse_float
from api.exceptions import ErrorItem, InvalidInput, errors_capped, grouped_number
from api.tabular import Table, cell_text, read_table
from audiences import selectors
from audiences.likert import Recognised, ScaleError, explicit_values, is_blank, label_key, scale_recognise
from audiences.models import Survey, SurveyItem, SurveyOpenAnswer, SurveyResponse
from audiences.services.responses import RESPONSES_MAX_BYTES, survey_needs_compute
from audiences.services.survey_mapping import (
    SurveyMapping,
    scale_error_message,
    survey_mapping_get,
    survey_mapping_validate,
)
from offers.models import Audience, Territory
from offers.selectors import communes_resolve

WIDE_MAX_BYTES = RESPONSES_MAX_BYTES
WIDE_MAX_ROWS = 50_000
WIDE_MAX_COLUMNS = 500
WIDE_MAX_CELLS = 3_000_000
PREVIEW_ROWS_DEFAULT = 20
PREVIEW_ROWS_MAX = 200
RESPONDENT_ID_MAX_LENGTH = 64
# Lines named in one error before "and N more".
LINES_SHOWN = 5
WRITE_BATCH = 5000


def _lines_text(lines: list[int]) -> str:
    shown = ", ".join(str(line) for line in lines[:LINES_SHOWN])
    if len(lines) > LINES_SHOWN:
        more = len(lines) - LINES_SHOWN
        return gettext("lines %(lines)s and %(count)s more") % {
            "lines": shown,
            "count": grouped_number(more),
        }
    return ngettext("line %(lines)s", "lines %(lines)s", len(lines)) % {"lines": shown}


def _value_lines(cells: list, lines: list[int], wanted) -> dict:
    """Each value in `wanted` -> the lines holding it, in file order."""
    found: dict = defaultdict(list)
    for cell, line in zip(cells, lines, strict=True):
        if cell in wanted:
            found[cell].append(line)
    return found


def survey_wide_read(*, content: bytes, filename: str | None = None, sheet: str | None = None) -> Table:
    return read_table(
        content=content,
        filename=filename,
        sheet=sheet,
        max_bytes=WIDE_MAX_BYTES,
        max_rows=WIDE_MAX_ROWS,
        max_columns=WIDE_MAX_COLUMNS,
        max_cells=WIDE_MAX_CELLS,
    )


@dataclass(frozen=True)
class ColumnScale:
    """The scale a question column was read on, and how each of its distinct values reads."""

    column: str
    item: SurveyItem
    measure: str
    name: str
    scale_min: int
    scale_max: int
    values: dict


@dataclass
class WideParse:
    """A wide file read through a mapping, column by column (index i of each list is the file's i-th row)."""

    lines: list[int]
    respondent_ids: list[str | None]
    audiences: list[Audience | None]
    communes: list[Territory | None]
    commune_values: list[str | None]
    weights: list[float | None]
    # (item code, measure) -> the point of each row (None = no answer or unreadable).
    points: dict[tuple[str, str], list[int | None]] = field(default_factory=dict)
    scales: list[ColumnScale] = field(default_factory=list)
    # Open question code -> each row's text (None = blank).
    open_texts: dict[str, list[str | None]] = field(default_factory=dict)
    errors: list[ErrorItem] = field(default_factory=list)


def _column_set_errors(mapping: SurveyMapping, table: Table) -> list[ErrorItem]:
    expected, present = set(mapping.columns), set(table.headers)
    errors = []
    missing = [column for column in mapping.columns if column not in present]
    unexpected = [column for column in table.headers if column not in expected]
    if missing:
        errors.append(
            ErrorItem(
                line=1,
                field="columns",
                code="missing_columns",
                message=(
                    gettext("The file lacks %(count)s column(s) of the mapping: %(values)s.")
                    % {"count": len(missing), "values": ", ".join(map(repr, missing))}
                ),
            )
        )
    if unexpected:
        errors.append(
            ErrorItem(
                line=1,
                field="columns",
                code="unexpected_columns",
                message=(
                    gettext(
                        "The file has %(count)s column(s) the mapping does not know: %(values)s (map or ignore them)."
                    )
                    % {"count": len(unexpected), "values": ", ".join(map(repr, unexpected))}
                ),
            )
        )
    return errors


def _column_scale(question, cells: list, lines: list[int], errors: list[ErrorItem]) -> ColumnScale | None:
    distinct = {cell for cell in cells if not is_blank(cell)}
    if question.scale is None:
        if not distinct:
            return ColumnScale(question.column, question.item, question.measure, "empty", 0, 0, {})
        try:
            recognised: Recognised = scale_recognise(distinct)
        except ScaleError as exc:
            message = gettext("Column %(column)r (%(code)s %(measure)s): %(error)s") % {
                "column": question.column,
                "code": question.item.code,
                "measure": question.measure,
                "error": scale_error_message(exc),
            }
            errors.append(ErrorItem(field=question.column, code="unknown_scale", message=message))
            return None
        return ColumnScale(
            question.column,
            question.item,
            question.measure,
            recognised.name,
            recognised.scale_min,
            recognised.scale_max,
            recognised.values,
        )
    scale = question.scale
    values, unknown = explicit_values(scale, distinct)
    if unknown:
        found = _value_lines(cells, lines, set(unknown))
        if scale.points:
            expected = gettext("a label of its `points`")
        else:
            expected = gettext("a whole number from %(min)s to %(max)s") % {
                "min": scale.scale_min,
                "max": scale.scale_max,
            }
        for value in unknown:
            errors.append(
                ErrorItem(
                    line=found[value][0],
                    field=question.column,
                    code="unknown_label",
                    message=(
                        gettext(
                            "The answer %(value)r of column %(column)r is not in the mapping (expected %(expected)s, "
                            "or a `missing` label): %(lines)s."
                        )
                        % {
                            "value": cell_text(value),
                            "column": question.column,
                            "expected": expected,
                            "lines": _lines_text(found[value]),
                        }
                    ),
                )
            )
    return ColumnScale(
        question.column, question.item, question.measure, "explicit", scale.scale_min, scale.scale_max, values
    )


def wide_parse(*, survey: Survey, mapping: SurveyMapping, table: Table) -> WideParse:
    """Read every row of `table` through `mapping`, collecting every problem (with its line and column) instead of
    stopping at the first; values that do not read are None in the result."""
    lines = [line for line, _ in table.rows]
    count = len(lines)
    parsed = WideParse(
        lines=lines,
        respondent_ids=[str(line) for line in lines],
        audiences=[mapping.audience] * count,
        communes=[None] * count,
        commune_values=[None] * count,
        weights=[1.0] * count,
    )
    errors = parsed.errors
    errors.extend(_column_set_errors(mapping, table))
    if errors:
        return parsed
    position = {header: index for index, header in enumerate(table.headers)}

    def column(name: str) -> list:
        index = position[name]
        return [row[index] for _, row in table.rows]

    if mapping.respondent_column:
        _respondents_read(parsed, mapping.respondent_column, column(mapping.respondent_column))
    if mapping.audience_column:
        _audiences_read(parsed, mapping, column(mapping.audience_column))
    if mapping.commune_column:
        _communes_read(parsed, survey, mapping, column(mapping.commune_column))
    if mapping.weight_column:
        _weights_read(parsed, mapping.weight_column, column(mapping.weight_column))
    for question in mapping.questions:
        cells = column(question.column)
        scale = _column_scale(question, cells, lines, errors)
        if scale is None:
            parsed.points[(question.item.code, question.measure)] = [None] * count
            continue
        parsed.scales.append(scale)
        values = scale.values
        # Cells are stripped: a blank one is "" or None, which `values` (of the distinct answers) never holds.
        parsed.points[(question.item.code, question.measure)] = [values.get(cell) for cell in cells]
    for question in mapping.open_questions:
        parsed.open_texts[question.code] = [
            None if is_blank(cell) else cell_text(cell) for cell in column(question.column)
        ]
    return parsed


def _respondents_read(parsed: WideParse, name: str, cells: list) -> None:
    first_line: dict[str, int] = {}
    blank_lines, long_lines = [], []
    for index, (cell, line) in enumerate(zip(cells, parsed.lines, strict=True)):
        if is_blank(cell):
            blank_lines.append(line)
            parsed.respondent_ids[index] = None
            continue
        respondent_id = cell_text(cell)
        parsed.respondent_ids[index] = respondent_id
        if len(respondent_id) > RESPONDENT_ID_MAX_LENGTH:
            long_lines.append(line)
        elif respondent_id in first_line:
            parsed.errors.append(
                ErrorItem(
                    line=line,
                    field=name,
                    code="duplicate_respondent",
                    message=(
                        gettext("Respondent %(respondent_id)r is already on line %(first_line)s.")
                        % {"respondent_id": respondent_id, "first_line": first_line[respondent_id]}
                    ),
                )
            )
        else:
            first_line[respondent_id] = line
    if blank_lines:
        message = gettext("No respondent id in column %(name)r: %(lines)s.") % {
            "name": name,
            "lines": _lines_text(blank_lines),
        }
        parsed.errors.append(ErrorItem(line=blank_lines[0], field=name, code="required", message=message))
    if long_lines:
        message = gettext("Respondent ids of more than %(respondent_id_max_length)s characters: %(lines)s.") % {
            "respondent_id_max_length": RESPONDENT_ID_MAX_LENGTH,
            "lines": _lines_text(long_lines),
        }
        parsed.errors.append(ErrorItem(line=long_lines[0], field=name, code="invalid", message=message))


def _audiences_read(parsed: WideParse, mapping: SurveyMapping, cells: list) -> None:
    name = mapping.audience_column
    by_value: dict = {}
    for value in {cell for cell in cells if not is_blank(cell)}:
        by_value[value] = mapping.audience_values.get(label_key(cell_text(value)))
    # `"": code` in the mapping's values gives respondents who left the profile question blank an audience.
    unanswered = mapping.audience_values.get("")
    parsed.audiences = [unanswered if is_blank(cell) else by_value[cell] for cell in cells]
    blank_lines = [line for cell, line in zip(cells, parsed.lines, strict=True) if is_blank(cell)]
    if blank_lines and unanswered is None:
        message = gettext("No answer to the audience question %(name)r: %(lines)s.") % {
            "name": name,
            "lines": _lines_text(blank_lines),
        }
        parsed.errors.append(ErrorItem(line=blank_lines[0], field=name, code="required", message=message))
    unknown = {value for value, audience in by_value.items() if audience is None}
    found = _value_lines(cells, parsed.lines, unknown)
    for value in sorted(unknown, key=lambda value: found[value][0]):
        parsed.errors.append(
            ErrorItem(
                line=found[value][0],
                field=name,
                code="unknown_label",
                message=(
                    gettext(
                        "The answer %(value)r of column %(name)r is not in the mapping's audience `values`: %(lines)s."
                    )
                    % {"value": cell_text(value), "name": name, "lines": _lines_text(found[value])}
                ),
            )
        )


def _communes_read(parsed: WideParse, survey: Survey, mapping: SurveyMapping, cells: list) -> None:
    name = mapping.commune_column
    texts = {cell: cell_text(cell) for cell in {cell for cell in cells if not is_blank(cell)}}
    resolved = communes_resolve(set(texts.values()), kind=mapping.commune_kind, within=survey.territory)
    outside = _communes_outside(survey, mapping, {text for text, value in resolved.items() if isinstance(value, str)})
    resolved.update(outside)
    parsed.commune_values = [None if is_blank(cell) else texts[cell] for cell in cells]
    parsed.communes = [
        None if is_blank(cell) or isinstance(resolved.get(texts[cell]), str) else resolved.get(texts[cell])
        for cell in cells
    ]
    unresolved = {cell for cell, text in texts.items() if not isinstance(resolved.get(text), Territory)}
    found = _value_lines(cells, parsed.lines, unresolved)
    for value in sorted(unresolved, key=lambda value: found[value][0]):
        reason = resolved.get(texts[value]) or gettext("not a commune")
        parsed.errors.append(
            ErrorItem(
                line=found[value][0],
                field=name,
                code="outside_territory" if texts[value] in outside else "unknown_commune",
                message=(
                    gettext("%(texts)r: %(reason)s (%(lines)s).")
                    % {"texts": texts[value], "reason": reason, "lines": _lines_text(found[value])}
                ),
            )
        )


def _communes_outside(survey: Survey, mapping: SurveyMapping, unresolved: set[str]) -> dict[str, str]:
    """Of the values not found within the survey's territory, those naming a commune elsewhere, each with the message
    of the long format's check (`selectors.survey_communes_outside`) rather than "not known"."""
    if survey.territory_id is None or not unresolved:
        return {}
    elsewhere = {
        text: commune
        for text, commune in communes_resolve(unresolved, kind=mapping.commune_kind).items()
        if isinstance(commune, Territory)
    }
    messages = selectors.survey_communes_outside(survey=survey, communes=elsewhere.values())
    return {text: messages[commune.pk] for text, commune in elsewhere.items() if commune.pk in messages}


def _weights_read(parsed: WideParse, name: str, cells: list) -> None:
    by_value: dict = {}
    problems: dict = {}
    for value in {cell for cell in cells if not is_blank(cell)}:
        try:
            weight = parse_float(value)
        except CellError:
            problems[value] = gettext("The weight %(value)r is not a number: %(lines)s.")
            continue
        if weight <= 0:
            problems[value] = gettext(
                "The weight %(value)r is not a positive number (a weight must be greater than 0): %(lines)s."
            )
        else:
            by_value[value] = weight
    parsed.weights = [by_value.get(cell) for cell in cells]
    blank_lines = [line for cell, line in zip(cells, parsed.lines, strict=True) if is_blank(cell)]
    if blank_lines:
        message = gettext("No weight in column %(name)r: %(lines)s.") % {
            "name": name,
            "lines": _lines_text(blank_lines),
        }
        parsed.errors.append(ErrorItem(line=blank_lines[0], field=name, code="required", message=message))
    found = _value_lines(cells, parsed.lines, set(problems))
    for value in sorted(problems, key=lambda value: found[value][0]):
        parsed.errors.append(
            ErrorItem(
                line=found[value][0],
                field=name,
                code="invalid_weight",
                message=(problems[value] % {"value": cell_text(value), "lines": _lines_text(found[value])}),
            )
        )


def _mapping_for(survey: Survey, mapping) -> SurveyMapping:
    return (
        survey_mapping_get(survey=survey)
        if mapping is None
        else survey_mapping_validate(survey=survey, mapping=mapping)
    )


def survey_wide_preview(
    *,
    survey: Survey,
    content: bytes,
    filename: str | None = None,
    sheet: str | None = None,
    mapping=None,
    rows: int = PREVIEW_ROWS_DEFAULT,
) -> dict:
    """What importing the file would produce on its first `rows` rows, with every problem of the whole file;
    nothing is written. The mapping is the one given, else the stored one (an invalid mapping is a 400)."""
    table = survey_wide_read(content=content, filename=filename, sheet=sheet)
    validated = _mapping_for(survey, mapping)
    parsed = wide_parse(survey=survey, mapping=validated, table=table)
    headers = {header: index for index, header in enumerate(table.headers)}
    preview = []
    for index in range(min(rows, len(parsed.lines))):
        _, cells = table.rows[index]
        commune = parsed.communes[index]
        answers = []
        for question in validated.questions:
            if question.column not in headers:  # a column the file lacks (listed in the errors)
                continue
            cell = cells[headers[question.column]]
            points = parsed.points.get((question.item.code, question.measure))
            answers.append(
                {
                    "column": question.column,
                    "item": question.item.code,
                    "measure": question.measure,
                    "value": None if is_blank(cell) else cell_text(cell),
                    "point": points[index] if points else None,
                }
            )
        audience = parsed.audiences[index]
        preview.append(
            {
                "line": parsed.lines[index],
                "respondent_id": parsed.respondent_ids[index],
                "audience": audience.code if audience else None,
                "commune_value": parsed.commune_values[index],
                "commune": commune.qualified_code if commune else None,
                "commune_name": commune.name if commune else None,
                "weight": parsed.weights[index],
                "answers": answers,
                "open_answers": [
                    {"code": code, "text": texts[index]} for code, texts in parsed.open_texts.items() if texts[index]
                ],
            }
        )
    return {
        "rows": len(parsed.lines),
        "sheet": table.sheet,
        "valid": not parsed.errors,
        "error_count": len(parsed.errors),
        "errors": [asdict(error) for error in errors_capped(parsed.errors)],
        "scales": [
            {
                "column": scale.column,
                "item": scale.item.code,
                "measure": scale.measure,
                "scale": scale.name,
                "min": scale.scale_min,
                "max": scale.scale_max,
                "values": {cell_text(value): point for value, point in scale.values.items()},
            }
            for scale in parsed.scales
        ],
        "preview": preview,
    }


@dataclass
class WideImportReport:
    rows: int
    respondents: int = 0
    responses_created: int = 0
    responses_updated: int = 0
    responses_unchanged: int = 0
    responses_deleted: int = 0
    open_answers: int = 0
    mapping_stored: bool = False
    needs_created: int = 0
    needs_updated: int = 0
    needs_unchanged: int = 0
    needs_deleted: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def survey_wide_import(
    *, survey: Survey, content: bytes, filename: str | None = None, sheet: str | None = None, mapping=None
) -> WideImportReport:
    """Store a wide file's responses and open answers, then recompute the survey's needs.

    The file is validated whole against the mapping (the one given, then stored; else the survey's): any problem
    and nothing is written. The file is authoritative for the respondents it holds: their responses to the mapped
    items are replaced (an answer left blank is deleted), their open answers too; other respondents' are kept (a
    survey may arrive in batches). Each item measure's scale is set from the scale its column was read on.
    """
    table = survey_wide_read(content=content, filename=filename, sheet=sheet)
    validated = _mapping_for(survey, mapping)
    parsed = wide_parse(survey=survey, mapping=validated, table=table)
    if parsed.errors:
        lines = len({error.line for error in parsed.errors if error.line})
        raise InvalidInput(
            parsed.errors,
            message=(
                gettext("%(count)s problem(s) in the file (%(lines)s line(s)); nothing was written.")
                % {"count": len(parsed.errors), "lines": lines}
            ),
        )
    report = WideImportReport(rows=len(parsed.lines), respondents=len(parsed.lines))
    with transaction.atomic():
        if mapping is not None and survey.mapping != validated.document:
            survey.mapping = validated.document
            survey.save(update_fields=["mapping", "updated_at"])
            report.mapping_stored = True
        item_ids = {question.item.pk for question in validated.questions}
        existing, others = _responses_existing(survey, item_ids, set(parsed.respondent_ids))
        conflicts = _scale_conflicts(survey, parsed, others)
        if conflicts:
            raise InvalidInput(
                conflicts,
                message=(
                    gettext("%(count)s scale(s) differ from stored answers; nothing was written.")
                    % {"count": len(conflicts)}
                ),
            )
        _item_scales_set(parsed)
        _responses_replace(validated, parsed, existing, report)
        report.open_answers = _open_answers_replace(survey, parsed)
        needs = survey_needs_compute(survey=survey)
    report.needs_created, report.needs_updated = needs.created, needs.updated
    report.needs_unchanged, report.needs_deleted = needs.unchanged, needs.deleted
    return report


def _item_scales_set(parsed: WideParse) -> None:
    changed: dict[int, SurveyItem] = {}
    for scale in parsed.scales:
        if scale.name == "empty":
            continue
        item = scale.item
        bounds = (f"{scale.measure}_scale_min", f"{scale.measure}_scale_max")
        if (getattr(item, bounds[0]), getattr(item, bounds[1])) != (scale.scale_min, scale.scale_max):
            setattr(item, bounds[0], scale.scale_min)
            setattr(item, bounds[1], scale.scale_max)
            changed[item.pk] = item
    SurveyItem.objects.bulk_update(
        changed.values(),
        ["importance_scale_min", "importance_scale_max", "satisfaction_scale_min", "satisfaction_scale_max"],
    )


def _batches(values: list, size: int = WRITE_BATCH):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _responses_existing(
    survey: Survey, item_ids: set[int], respondents: set[str]
) -> tuple[dict, set[tuple[int, str]]]:
    """The stored responses of the file's respondents to the mapped items by (item id, respondent id) -> (pk,
    values), and the (item id, measure) pairs other respondents answered (in one read). Items the mapping does not
    name keep their responses: the file says nothing of them."""
    existing: dict[tuple[int, str], tuple[int, tuple]] = {}
    others: set[tuple[int, str]] = set()
    rows = (
        selectors.survey_responses(survey=survey)
        .filter(item_id__in=item_ids)
        .values_list(
            "pk", "item_id", "respondent_id", "audience_id", "commune_id", "importance", "satisfaction", "weight"
        )
    )
    for pk, item_id, respondent_id, *values in rows.iterator(chunk_size=10_000):
        if respondent_id in respondents:
            existing[(item_id, respondent_id)] = (pk, tuple(values))
        else:
            if values[2] is not None:
                others.add((item_id, "importance"))
            if values[3] is not None:
                others.add((item_id, "satisfaction"))
    return existing, others


def _scale_conflicts(survey: Survey, parsed: WideParse, others: set[tuple[int, str]]) -> list[ErrorItem]:
    """An item measure other respondents answered on one scale cannot take this file's answers on another: their
    points would be mixed (a batch read « auto » on 4 points after one read on 5)."""
    errors = []
    for scale in parsed.scales:
        item, measure = scale.item, scale.measure
        if scale.name == "empty" or (item.pk, measure) not in others:
            continue
        stored_min = getattr(item, f"{measure}_scale_min")
        stored_max = getattr(item, f"{measure}_scale_max")
        stored = (
            stored_min if stored_min is not None else survey.scale_min,
            stored_max if stored_max is not None else survey.scale_max,
        )
        if stored != (scale.scale_min, scale.scale_max):
            errors.append(
                ErrorItem(
                    field=scale.column,
                    code="scale_conflict",
                    message=(
                        gettext(
                            "The %(measure)s of %(code)r is stored on a %(stored)s-%(stored2)s scale for respondents "
                            "not in this file; column %(column)r reads it on %(scale_min)s-%(scale_max)s (%(name)s): "
                            "give the column's scale explicitly with those bounds."
                        )
                        % {
                            "measure": measure,
                            "code": item.code,
                            "stored": stored[0],
                            "stored2": stored[1],
                            "column": scale.column,
                            "scale_min": scale.scale_min,
                            "scale_max": scale.scale_max,
                            "name": scale.name,
                        }
                    ),
                )
            )
    return errors


def _responses_replace(mapping: SurveyMapping, parsed: WideParse, existing: dict, report: WideImportReport) -> None:
    items = {question.item.code: question.item for question in mapping.questions}
    wanted: dict[tuple[int, str], tuple] = {}
    for code, item in items.items():
        importance = parsed.points.get((code, "importance"))
        satisfaction = parsed.points.get((code, "satisfaction"))
        for index, respondent_id in enumerate(parsed.respondent_ids):
            points = (
                importance[index] if importance else None,
                satisfaction[index] if satisfaction else None,
            )
            if points == (None, None):
                continue
            audience, commune = parsed.audiences[index], parsed.communes[index]
            wanted[(item.pk, respondent_id)] = (
                audience.pk if audience else None,
                commune.pk if commune else None,
                *points,
                parsed.weights[index],
            )
    stale = []
    to_create: list[tuple] = []
    for key, values in wanted.items():
        pk, stored = existing.pop(key, (None, None))
        if stored == values:
            report.responses_unchanged += 1
            continue
        if pk is None:
            report.responses_created += 1
        else:
            stale.append(pk)
            report.responses_updated += 1
        to_create.append((*key, *values))
    # What is left of the stored answers of the file's respondents, they no longer give.
    report.responses_deleted = len(existing)
    stale.extend(pk for pk, _ in existing.values())
    for batch in _batches(stale):
        SurveyResponse.objects.filter(pk__in=batch).delete()
    _responses_insert(to_create)


RESPONSE_INSERT_FIELDS = (
    "item_id",
    "respondent_id",
    "audience_id",
    "commune_id",
    "importance",
    "satisfaction",
    "weight",
)


def _responses_insert(rows: list[tuple]) -> None:
    """Insert responses given as tuples of RESPONSE_INSERT_FIELDS: PostgreSQL's COPY (half a million rows in
    seconds, where building as many model instances for bulk_create takes most of a minute), else bulk_create."""
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(SurveyResponse._meta.db_table)
        columns = ", ".join(connection.ops.quote_name(name) for name in RESPONSE_INSERT_FIELDS)
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    SurveyResponse.objects.bulk_create(
        (SurveyResponse(**dict(zip(RESPONSE_INSERT_FIELDS, row, strict=True))) for row in rows),
        batch_size=WRITE_BATCH,
    )


def _open_answers_replace(survey: Survey, parsed: WideParse) -> int:
    for batch in _batches(sorted(set(parsed.respondent_ids))):
        SurveyOpenAnswer.objects.filter(survey=survey, respondent_id__in=batch).delete()
    answers = [
        SurveyOpenAnswer(
            survey=survey,
            question=code,
            respondent_id=parsed.respondent_ids[index],
            text=text,
            audience=parsed.audiences[index],
            commune=parsed.communes[index],
            weight=parsed.weights[index],
        )
        for code, texts in parsed.open_texts.items()
        for index, text in enumerate(texts)
        if text
    ]
    SurveyOpenAnswer.objects.bulk_create(answers, batch_size=WRITE_BATCH)
    return len(answers)
