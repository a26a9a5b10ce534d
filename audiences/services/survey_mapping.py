"""The mapping of a survey's wide export (one row per respondent, one column per question) onto the survey: which
column is which item and measure, on which scale, which gives the respondent, audience, commune and weight, which
are open questions and which are ignored. Validated whole here, stored on `Survey.mapping`, proposed from a file.

A mapping names only column headers and codes (items, audiences, open questions), never a database id, so the next
wave of the same survey reuses it as it is.
"""

import re
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from api.exceptions import ErrorItem, InvalidInput, grouped_number
from api.tabular import Table, cell_text, header_text
from api.text import fold_text
from audiences import selectors
from audiences.likert import ExplicitScale, Recognised, ScaleError, label_key, numeric_bounds_guess, scale_recognise
from audiences.models import Survey, SurveyItem
from offers.models import Audience
from offers.selectors import COMMUNE_VALUE_KINDS

MEASURES = ("importance", "satisfaction")
MAPPING_KEYS = ("columns", "respondent", "audience", "commune", "weight", "questions", "open_questions", "ignored")
MAPPING_MAX_COLUMNS = 500
# Points are stored as small positive integers; no survey scale comes near this.
SCALE_MAX_POINT = 1000
OPEN_QUESTION_CODE = re.compile(r"^[-a-zA-Z0-9_]{1,64}$")


@dataclass(frozen=True)
class QuestionMapping:
    column: str
    item: SurveyItem
    measure: str
    # None = "auto": recognised from the labels the column uses.
    scale: ExplicitScale | None


@dataclass(frozen=True)
class OpenQuestionMapping:
    column: str
    code: str
    label: str


@dataclass(frozen=True)
class SurveyMapping:
    """A validated mapping, with the items and audiences it names already read."""

    columns: tuple[str, ...]
    respondent_column: str | None
    audience_column: str | None
    # Folded answer label -> audience (with an audience column), or the one audience of the whole file.
    audience_values: dict[str, Audience] = field(default_factory=dict)
    audience: Audience | None = None
    commune_column: str | None = None
    commune_kind: str = "auto"
    weight_column: str | None = None
    questions: tuple[QuestionMapping, ...] = ()
    open_questions: tuple[OpenQuestionMapping, ...] = ()
    ignored: tuple[str, ...] = ()
    # The mapping as stored: the request's, with headers normalised as files are read.
    document: dict = field(default_factory=dict)


class _Errors:
    def __init__(self):
        self.items: list[ErrorItem] = []

    def add(self, path: str | None, message: str, code: str = "invalid") -> None:
        self.items.append(ErrorItem(field=path, code=code, message=message))


# The messages of `audiences.likert.ScaleError` (a pure module) by code, with the same English text and parameters.
_SCALE_ERROR_MESSAGES = {
    "no_answer": _("The column has no answer to recognise a scale from."),
    "unreadable": _(
        "%(values)s is not a label of a known French scale (importance, satisfaction or agreement, 4, 5 or 7 points) "
        "nor a number: give the scale's `points`."
    ),
    "unreadable_many": _(
        "%(values)s are not a label of a known French scale (importance, satisfaction or agreement, 4, 5 or 7 points) "
        "nor a number: give the scale's `points`."
    ),
    "above_ten": _("Answers go up to %(high)s: numeric scales are recognised up to 10; give `min` and `max`."),
    "ambiguous_numbers": _(
        "Numbers from %(low)s to %(high)s fit several scales (1-5, 1-7, 1-10...): give the scale's `min` and `max`."
    ),
    "ambiguous_labels": _(
        "The labels %(values)s fit several scales (%(names)s) that give them different points: give the scale's "
        "`points`."
    ),
}


def scale_error_message(exc: ScaleError) -> str:
    """Why a column fits no scale, in the active language."""
    params = dict(exc.params)
    if params.get("more"):
        params["values"] = gettext("%(values)s and %(count)s more") % {
            "values": params["shown"],
            "count": params["more"],
        }
    return str(_SCALE_ERROR_MESSAGES[exc.code]) % params


def _text(value) -> str | None:
    return header_text(value) if isinstance(value, str) and value.strip() else None


def _column_of(errors: _Errors, section: dict, path: str) -> str | None:
    column = _text(section.get("column"))
    if column is None:
        errors.add(f"{path}.column", gettext("Expected the header of a column of the file."), "required")
    return column


def _object(errors: _Errors, value, path: str, allowed: tuple[str, ...]) -> dict | None:
    if not isinstance(value, dict):
        errors.add(path, gettext("Expected an object."))
        return None
    for key in value:
        if key not in allowed:
            errors.add(
                f"{path}.{key}",
                (gettext("Unknown key (expected: %(allowed)s).") % {"allowed": ", ".join(allowed)}),
                "unknown_field",
            )
    return value


def _scale_parse(errors: _Errors, value, path: str) -> ExplicitScale | None:
    """`"auto"` -> None; `{"min", "max"}` or `{"points", "missing", "min"?, "max"?}` -> an ExplicitScale."""
    if value == "auto" or value is None:
        return None
    scale = _object(errors, value, path, ("points", "missing", "min", "max"))
    if scale is None:
        return None
    count = len(errors.items)
    points = scale.get("points", {})
    if not isinstance(points, dict):
        errors.add(f"{path}.points", gettext("Expected an object: answer label -> point."))
        points = {}
    seen: dict[str, tuple[str, int]] = {}
    for label, point in points.items():
        if not isinstance(point, int) or isinstance(point, bool) or not 0 <= point <= SCALE_MAX_POINT:
            errors.add(
                f"{path}.points.{label}",
                (
                    gettext("Expected a whole number from 0 to %(scale_max_point)s.")
                    % {"scale_max_point": SCALE_MAX_POINT}
                ),
            )
            continue
        key = label_key(label)
        if not key:
            errors.add(
                f"{path}.points",
                (gettext("The label %(label)r is blank once case, accents and punctuation go.") % {"label": label}),
            )
        elif key in seen and seen[key][1] != point:
            errors.add(
                f"{path}.points.{label}",
                (
                    gettext("%(label)r and %(seen)r read as the same label but give different points.")
                    % {"label": label, "seen": seen[key][0]}
                ),
                "conflict",
            )
        seen.setdefault(key, (label, point))
    missing = scale.get("missing", [])
    if not isinstance(missing, list) or not all(isinstance(label, str) for label in missing):
        errors.add(f"{path}.missing", gettext("Expected a list of answer labels meaning no answer."))
        missing = []
    for label in missing:
        if label_key(label) in seen:
            errors.add(
                f"{path}.missing",
                (gettext("%(label)r is both a point and a missing answer.") % {"label": label}),
                "conflict",
            )
    bounds = {}
    for name in ("min", "max"):
        bound = scale.get(name)
        if bound is not None and (not isinstance(bound, int) or isinstance(bound, bool) or not 0 <= bound <= 1000):
            errors.add(
                f"{path}.{name}",
                (
                    gettext("Expected a whole number from 0 to %(scale_max_point)s.")
                    % {"scale_max_point": SCALE_MAX_POINT}
                ),
            )
            bound = None
        bounds[name] = bound
    values = [point for _, point in seen.values()]
    scale_min = bounds["min"] if bounds["min"] is not None else min(values, default=None)
    scale_max = bounds["max"] if bounds["max"] is not None else max(values, default=None)
    if scale_min is None or scale_max is None:
        errors.add(
            path, gettext("Give the scale's `points` (answer label -> point), or its `min` and `max` for numbers.")
        )
        return None
    if scale_max <= scale_min:
        errors.add(
            path,
            (
                gettext("The scale goes from %(scale_min)s to %(scale_max)s: max must be greater than min.")
                % {"scale_min": scale_min, "scale_max": scale_max}
            ),
        )
    outside = sorted(label for label, point in seen.values() if not scale_min <= point <= scale_max)
    if outside:
        errors.add(
            f"{path}.points",
            (
                gettext("%(values)s fall outside the %(scale_min)s-%(scale_max)s scale.")
                % {"values": ", ".join(map(repr, outside)), "scale_min": scale_min, "scale_max": scale_max}
            ),
        )
    if len(errors.items) > count:
        return None
    return ExplicitScale(
        scale_min=scale_min,
        scale_max=scale_max,
        points={label: point for label, point in points.items()},
        missing=tuple(missing),
    )


def survey_mapping_validate(*, survey: Survey, mapping) -> SurveyMapping:
    """The mapping read whole against the survey, or InvalidInput listing every problem by its path
    (`questions.3.item`): unknown keys, items or audience codes, a measure the item does not measure, an (item,
    measure) given by two columns, a scale that does not read, a column mapped twice (both places named) or
    neither mapped nor ignored, a column used that is not in `columns`."""
    errors = _Errors()
    mapping = _object(errors, mapping, "mapping", MAPPING_KEYS)
    if mapping is None:
        raise InvalidInput(errors.items, message=gettext("The mapping is invalid."))
    raw_columns = mapping.get("columns")
    if not isinstance(raw_columns, list) or not raw_columns:
        errors.add("columns", gettext("Expected the list of the file's column headers."), "required")
        raw_columns = []
    if len(raw_columns) > MAPPING_MAX_COLUMNS:
        errors.add(
            "columns",
            (
                gettext("%(count)s columns; the limit is %(limit)s.")
                % {"count": grouped_number(len(raw_columns)), "limit": grouped_number(MAPPING_MAX_COLUMNS)}
            ),
        )
        raw_columns = []
    columns: list[str] = []
    for index, value in enumerate(raw_columns):
        column = _text(value)
        if column is None:
            errors.add(f"columns.{index}", gettext("Expected a non-blank header."))
        elif column in columns:
            errors.add(
                f"columns.{index}", (gettext("%(column)r is listed twice.") % {"column": column}), "duplicate_column"
            )
        else:
            columns.append(column)
    known_columns = set(columns)
    # Column -> where the mapping uses it, to name both places of a column used twice.
    uses: dict[str, str] = {}

    def use(column: str | None, path: str) -> None:
        if column is None:
            return
        if column not in known_columns and raw_columns:
            errors.add(
                path,
                (gettext("%(column)r is not in `columns` (the file's headers).") % {"column": column}),
                "unknown_column",
            )
        elif column in uses:
            errors.add(
                path,
                (
                    gettext("The column %(column)r is mapped twice: here and at %(uses)s.")
                    % {"column": column, "uses": uses[column]}
                ),
                "mapped_twice",
            )
        uses.setdefault(column, path)

    respondent_column = None
    if mapping.get("respondent") is not None:
        section = _object(errors, mapping["respondent"], "respondent", ("column",))
        if section is not None:
            respondent_column = _column_of(errors, section, "respondent")
            use(respondent_column, "respondent.column")

    survey_audiences = {audience.code: audience for audience in survey.audiences.all()}
    audiences = survey_audiences or {audience.code: audience for audience in Audience.objects.all()}
    where = gettext("targeted by this survey") if survey_audiences else gettext("known")

    def audience_get(code, path: str) -> Audience | None:
        audience = audiences.get(code) if isinstance(code, str) else None
        if audience is None:
            known = ", ".join(sorted(audiences)) or gettext("none")
            errors.add(
                path,
                (
                    gettext("Unknown audience %(code)r (audiences %(where)s: %(known)s).")
                    % {"code": code, "where": where, "known": known}
                ),
                "unknown_audience",
            )
        return audience

    audience_column, audience_values, audience = None, {}, None
    section = mapping.get("audience")
    if section is None:
        if len(survey_audiences) == 1:
            audience = next(iter(survey_audiences.values()))
        else:
            errors.add(
                "audience",
                gettext(
                    'Say which column gives the audience ({"column", "values"}) or the one audience of the whole file '
                    '({"code"}): the survey does not target exactly one audience to default to.'
                ),
                "required",
            )
    else:
        section = _object(errors, section, "audience", ("column", "values", "code"))
        if section is not None and "code" in section:
            if "column" in section or "values" in section:
                errors.add("audience", gettext('Give either "code" or "column" with "values", not both.'))
            audience = audience_get(section["code"], "audience.code")
        elif section is not None:
            audience_column = _column_of(errors, section, "audience")
            use(audience_column, "audience.column")
            values = section.get("values")
            if not isinstance(values, dict) or not values:
                errors.add(
                    "audience.values", gettext("Expected an object: answer label -> audience code."), "required"
                )
                values = {}
            for label, code in values.items():
                found = audience_get(code, f"audience.values.{label}")
                key = label_key(label)
                if found is not None and audience_values.get(key, found) != found:
                    errors.add(
                        f"audience.values.{label}", gettext("Two labels that read the same give different audiences.")
                    )
                if found is not None:
                    audience_values[key] = found

    commune_column, commune_kind = None, "auto"
    if mapping.get("commune") is not None:
        section = _object(errors, mapping["commune"], "commune", ("column", "kind"))
        if section is not None:
            commune_column = _column_of(errors, section, "commune")
            use(commune_column, "commune.column")
            commune_kind = section.get("kind", "auto")
            if commune_kind not in COMMUNE_VALUE_KINDS:
                errors.add(
                    "commune.kind",
                    (
                        gettext("Expected one of %(commune_value_kinds)s.")
                        % {"commune_value_kinds": ", ".join(COMMUNE_VALUE_KINDS)}
                    ),
                )

    weight_column = None
    if mapping.get("weight") is not None:
        section = _object(errors, mapping["weight"], "weight", ("column",))
        if section is not None:
            weight_column = _column_of(errors, section, "weight")
            use(weight_column, "weight.column")

    items = selectors.survey_item_map(survey=survey)
    questions: list[QuestionMapping] = []
    measured: dict[tuple[str, str], str] = {}
    raw_questions = mapping.get("questions", [])
    if not isinstance(raw_questions, list):
        errors.add("questions", gettext("Expected a list of {column, item, measure, scale}."))
        raw_questions = []
    for index, value in enumerate(raw_questions):
        path = f"questions.{index}"
        section = _object(errors, value, path, ("column", "item", "measure", "scale"))
        if section is None:
            continue
        column = _column_of(errors, section, path)
        use(column, f"{path}.column")
        item = items.get(section.get("item")) if isinstance(section.get("item"), str) else None
        if item is None:
            known = ", ".join(sorted(items)) or "none yet"
            code = section.get("item")
            message = (
                (gettext("Unknown item %(code)r (items of this survey: %(known)s).") % {"code": code, "known": known})
                if code
                else gettext("Expected an item code.")
            )
            errors.add(f"{path}.item", message, "unknown_item" if code else "required")
        measure = section.get("measure")
        if measure not in MEASURES:
            errors.add(
                f"{path}.measure",
                gettext("Expected importance or satisfaction."),
                "required" if not measure else "invalid",
            )
            measure = None
        if item is not None and measure is not None:
            if not getattr(item, f"measures_{measure}"):
                errors.add(
                    f"{path}.measure",
                    (gettext("Item %(code)r does not measure %(measure)s.") % {"code": item.code, "measure": measure}),
                    "not_measured",
                )
            elif (item.code, measure) in measured:
                errors.add(
                    f"{path}.item",
                    (
                        gettext("The %(measure)s of %(code)r is already given by %(measured)s.")
                        % {"measure": measure, "code": item.code, "measured": measured[(item.code, measure)]}
                    ),
                    "duplicate",
                )
            measured.setdefault((item.code, measure), f"{path} ({column!r})")
        scale = _scale_parse(errors, section.get("scale", "auto"), f"{path}.scale")
        if column and item is not None and measure is not None:
            questions.append(QuestionMapping(column=column, item=item, measure=measure, scale=scale))

    open_questions: list[OpenQuestionMapping] = []
    codes: set[str] = set()
    raw_open = mapping.get("open_questions", [])
    if not isinstance(raw_open, list):
        errors.add("open_questions", gettext("Expected a list of {column, code, label}."))
        raw_open = []
    for index, value in enumerate(raw_open):
        path = f"open_questions.{index}"
        section = _object(errors, value, path, ("column", "code", "label"))
        if section is None:
            continue
        column = _column_of(errors, section, path)
        use(column, f"{path}.column")
        code = section.get("code")
        if not isinstance(code, str) or not OPEN_QUESTION_CODE.match(code):
            errors.add(f"{path}.code", gettext("Expected a code of 1 to 64 letters, digits, '-' or '_'."), "required")
        elif code in codes:
            errors.add(
                f"{path}.code",
                (gettext("The open question code %(code)r is given twice.") % {"code": code}),
                "duplicate",
            )
        else:
            codes.add(code)
        label = section.get("label", "")
        if not isinstance(label, str):
            errors.add(f"{path}.label", gettext("Expected text."))
        elif column and isinstance(code, str) and OPEN_QUESTION_CODE.match(code):
            open_questions.append(OpenQuestionMapping(column=column, code=code, label=label or column))

    ignored: list[str] = []
    raw_ignored = mapping.get("ignored", [])
    if not isinstance(raw_ignored, list):
        errors.add("ignored", gettext("Expected a list of column headers."))
        raw_ignored = []
    for index, value in enumerate(raw_ignored):
        column = _text(value)
        if column is None:
            errors.add(f"ignored.{index}", gettext("Expected a non-blank header."))
            continue
        use(column, f"ignored.{index}")
        ignored.append(column)

    unmapped = [column for column in columns if column not in uses]
    if unmapped:
        errors.add(
            "columns",
            f"{len(unmapped)} column(s) neither mapped nor ignored: {', '.join(map(repr, unmapped[:20]))}"
            + (" ..." if len(unmapped) > 20 else "")
            + " (list them in `ignored` to skip them).",
            "unmapped_column",
        )
    if not questions and not open_questions and not errors.items:
        errors.add(
            "questions", gettext("The mapping reads no question: map at least one column to an item."), "required"
        )
    if errors.items:
        raise InvalidInput(
            errors.items,
            message=(
                gettext("The mapping has %(count)s problem(s); nothing was stored.") % {"count": len(errors.items)}
            ),
        )
    document = {key: mapping[key] for key in MAPPING_KEYS if key in mapping}
    document["columns"] = columns
    return SurveyMapping(
        columns=tuple(columns),
        respondent_column=respondent_column,
        audience_column=audience_column,
        audience_values=audience_values,
        audience=audience,
        commune_column=commune_column,
        commune_kind=commune_kind,
        weight_column=weight_column,
        questions=tuple(questions),
        open_questions=tuple(open_questions),
        ignored=tuple(ignored),
        document=document,
    )


def survey_mapping_get(*, survey: Survey) -> SurveyMapping:
    """The survey's stored mapping, validated again (its items or audiences may have changed since)."""
    if not survey.mapping:
        message = gettext("The survey has no stored mapping: PUT one to /mapping/ (or give one with the file).")
        raise InvalidInput([ErrorItem(field="mapping", code="required", message=message)], message=message)
    return survey_mapping_validate(survey=survey, mapping=survey.mapping)


@transaction.atomic
def survey_mapping_set(*, survey: Survey, mapping) -> Survey:
    """Validate `mapping` against the survey and store it (the next wave copies it)."""
    validated = survey_mapping_validate(survey=survey, mapping=mapping)
    if survey.mapping != validated.document:
        survey.mapping = validated.document
        survey.save(update_fields=["mapping", "updated_at"])
    return survey


# Headers that say what a column holds, folded. A header holding one of these words (whole words) is proposed as
# the respondent, weight, commune or audience column.
_RESPONDENT_HEADERS = {
    "id",
    "id de la reponse",
    "response id",
    "respondent id",
    "respondent",
    "repondant",
    "id repondant",
    "identifiant",
    "numero",
    "n",
    "num",
    "ident",
}
_WEIGHT_WORDS = ("poids", "ponderation", "weight", "coef", "coefficient", "redressement")
_COMMUNE_WORDS = ("commune", "code postal", "code insee", "insee", "ville", "cp", "habitez vous", "residez vous")
_AUDIENCE_WORDS = ("vous etes", "profil", "statut", "public", "categorie", "type de repondant", "situation")
_POSTAL_WORDS = ("code postal", "cp")
# What survey tools add to every export (LimeSurvey, Google Forms, Framaforms): never a question.
_TOOL_HEADERS = {
    "submitdate",
    "lastpage",
    "startlanguage",
    "seed",
    "startdate",
    "datestamp",
    "ipaddr",
    "refurl",
    "token",
    "date de soumission",
    "derniere page",
    "langue de depart",
    "date de debut",
    "date de derniere action",
    "horodateur",
    "timestamp",
    "adresse e mail",
    "adresse email",
    "email address",
    "date",
    "heure",
    "submitted",
    "completed",
    "sid",
    "complete",
}
_SUBQUESTION = re.compile(r"^(?P<question>.*?)\s*\[(?P<sub>[^\]]+)\]\s*$")
_IMPORTANCE_WORDS = ("importan", "imp", "priorit")
_SATISFACTION_WORDS = ("satisf", "sat", "qualite", "note")
OPEN_ANSWER_MIN_DISTINCT = 20


def _words_in(folded: str, words) -> bool:
    padded = f" {folded} "
    return any(f" {word} " in padded for word in words)


def _singular(text: str) -> str:
    """'Familles avec enfants' and 'Famille avec enfant' compare equal: plurals are what answers and labels differ
    by most."""
    return " ".join(word[:-1] if len(word) > 3 and word[-1] in "sx" else word for word in label_key(text).split())


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold_text(text)).strip("-")[:64] or "question"


def _item_guess(header: str, items: dict[str, SurveyItem]) -> SurveyItem | None:
    """The item a header names: LimeSurvey's `IMP[creche]` / `Q1[SQ001]`, Google Forms' `Question [Crèche]`, an
    item code or statement within the header."""
    by_code = {fold_text(code): item for code, item in items.items()}
    by_statement = {fold_text(item.statement): item for item in items.values()}
    match = _SUBQUESTION.match(header)
    parts = [match["sub"], match["question"]] if match else []
    for part in [*parts, header]:
        folded = fold_text(part)
        if folded in by_code:
            return by_code[folded]
        if folded in by_statement:
            return by_statement[folded]
    folded = fold_text(header)
    found = [item for code, item in by_code.items() if _words_in(folded, [code])]
    found += [item for statement, item in by_statement.items() if statement and statement in folded]
    unique = {item.pk: item for item in found}
    return next(iter(unique.values())) if len(unique) == 1 else None


def _measure_guess(header: str, scale_name: str, item: SurveyItem | None, taken: set) -> str | None:
    folded = fold_text(header)
    family = scale_name.split("-")[0]
    if family in MEASURES:
        measure = family
    elif any(word in folded.split() or folded.startswith(word) for word in _IMPORTANCE_WORDS):
        measure = "importance"
    elif any(word in folded.split() or folded.startswith(word) for word in _SATISFACTION_WORDS):
        measure = "satisfaction"
    elif item is not None and item.measures_importance != item.measures_satisfaction:
        measure = "importance" if item.measures_importance else "satisfaction"
    else:
        measure = None
    if item is not None and measure is not None and (item.code, measure) in taken:
        return None
    return measure


def survey_mapping_suggest(*, survey: Survey, table: Table) -> dict:
    """A mapping proposed from a file, for the analyst to check and edit before storing it: the respondent, weight,
    commune and audience columns guessed from their headers, a question wherever the answers fit a known scale
    (with its points written out, unused labels included), open questions where answers are varied free text, the
    rest ignored. Each column comes back with its role, what was seen in it and a note saying what to check."""
    items = selectors.survey_item_map(survey=survey)
    survey_audiences = list(survey.audiences.all())
    candidates = survey_audiences or list(Audience.objects.all())
    mapping: dict = {"columns": list(table.headers), "questions": [], "open_questions": [], "ignored": []}
    report: list[dict] = []
    taken: set[tuple[str, str]] = set()
    open_codes: set[str] = set()
    for position, header in enumerate(table.headers):
        cells = [row[position] for _, row in table.rows]
        distinct = {value for value in cells if value is not None and value != ""}
        folded = fold_text(header)
        seen_values = sorted({cell_text(value) for value in distinct})
        entry = {"column": header, "position": position + 1, "distinct_values": len(distinct)}
        entry["values_seen"] = seen_values[:12]
        role, note = "ignored", ""
        if "respondent" not in mapping and folded in _RESPONDENT_HEADERS and len(distinct) == len(cells):
            mapping["respondent"] = {"column": header}
            role = "respondent"
        elif "weight" not in mapping and _words_in(folded, _WEIGHT_WORDS):
            mapping["weight"] = {"column": header}
            role = "weight"
        elif "commune" not in mapping and _words_in(folded, _COMMUNE_WORDS):
            kind = "postal_code" if _words_in(folded, _POSTAL_WORDS) else "auto"
            mapping["commune"] = {"column": header, "kind": kind}
            role, note = "commune", gettext("Values are resolved as INSEE codes, postal codes or names (`kind`).")
        elif "audience" not in mapping and _words_in(folded, _AUDIENCE_WORDS) and len(distinct) <= 30:
            values = {}
            for value in seen_values:
                key = _singular(value)
                match = next(
                    (
                        audience
                        for audience in candidates
                        if key in (_singular(audience.code), _singular(audience.label))
                        or (key and _singular(audience.label).startswith(key))
                    ),
                    None,
                )
                values[value] = match.code if match else None
            mapping["audience"] = {"column": header, "values": values}
            role = "audience"
            unmatched = [value for value, code in values.items() if code is None]
            if unmatched:
                note = gettext("Give an audience code for %(values)s.") % {"values": ", ".join(map(repr, unmatched))}
        elif folded in _TOOL_HEADERS or not distinct:
            note = gettext("Added by the survey tool.") if distinct else gettext("No answer in the file.")
        else:
            guessed = False
            try:
                recognised = scale_recognise(distinct)
            except ScaleError as exc:
                recognised, scale_error = None, scale_error_message(exc)
                bounds = numeric_bounds_guess(distinct)
                if bounds is not None:
                    # LimeSurvey's answer codes of a 5-point array are 1 to 5: propose the bounds reached.
                    recognised = Recognised(
                        name=f"numeric-{bounds[0]}-{bounds[1]}", scale_min=bounds[0], scale_max=bounds[1]
                    )
                    guessed = True
            if recognised is not None:
                item = _item_guess(header, items)
                measure = _measure_guess(header, recognised.name, item, taken)
                if recognised.points:
                    scale = {"points": recognised.points, "missing": list(recognised.missing)}
                else:
                    scale = {"min": recognised.scale_min, "max": recognised.scale_max}
                    if recognised.missing:
                        scale["missing"] = list(recognised.missing)
                if item is not None and measure is not None:
                    taken.add((item.code, measure))
                mapping["questions"].append(
                    {"column": header, "item": item.code if item else None, "measure": measure, "scale": scale}
                )
                role = "question"
                entry["scale"] = recognised.name
                checks = [gettext("Recognised as %(scale)s.") % {"scale": recognised.name}]
                if guessed:
                    checks = [
                        gettext(
                            "Numbers from %(min)s to %(max)s: check the scale's `min` and `max` (answers may not "
                            "reach an end of the scale)."
                        )
                        % {"min": recognised.scale_min, "max": recognised.scale_max}
                    ]
                if item is None:
                    checks.append(gettext("Give the item code."))
                if measure is None:
                    checks.append(gettext("Give the measure (importance or satisfaction)."))
                note = " ".join(checks)
            elif len(distinct) >= OPEN_ANSWER_MIN_DISTINCT or any(len(cell_text(v)) > 60 for v in distinct):
                code = _slug(_SUBQUESTION.sub(r"\g<question> \g<sub>", header))
                while code in open_codes:
                    code = f"{code[:60]}-{len(open_codes)}"
                open_codes.add(code)
                mapping["open_questions"].append({"column": header, "code": code, "label": header})
                role, note = "open_question", gettext("Varied free-text answers.")
            else:
                note = gettext("Not recognised as a question: %(error)s") % {"error": scale_error}
        if role == "ignored":
            mapping["ignored"].append(header)
        entry["role"], entry["note"] = role, note
        report.append(entry)
    if "audience" not in mapping and len(survey_audiences) == 1:
        mapping["audience"] = {"code": survey_audiences[0].code}
    return {"mapping": mapping, "columns": report}
