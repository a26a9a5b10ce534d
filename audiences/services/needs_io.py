"""Needs in files: the CSV/JSON import (validated whole, then upserted by source and external id, or nothing) and
the export, whose rows re-import as they are."""

from dataclasses import asdict, dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from api.cells import CellError, parse_choice, parse_date, parse_float, parse_int, parse_list, parse_text
from api.exceptions import ErrorItem, InvalidInput
from api.model_update import model_update, validation_messages
from api.tabular import Column, Row, read_upload
from api.text import fold_text
from audiences import selectors
from audiences.models import NEED_STATISTICS_FIELDS, JourneyStage, Need, NeedSource
from audiences.services.needs import _need_save, need_themes_check
from offers.models import Theme
from offers.selectors import AnalystScope, analyst_scope
from offers.services.lookups import CodeLookups

NEED_IMPORT_MAX_ROWS = 10_000

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
    *NEED_STATISTICS_FIELDS,
    "updated_at",
)
NEED_EXPORT_HEADER = [column.name for column in NEED_COLUMNS] + list(NEED_EXPORT_ONLY)


@dataclass
class _NeedRow:
    line: int
    key: tuple[str, str]
    values: dict
    themes: list[Theme]


_UNKNOWN_AUDIENCE = _("unknown audience code %(code)r")
_UNKNOWN_DOMAIN = _("unknown domain code %(code)r")


def _need_row_parse(
    row: Row, lookups: CodeLookups, errors: list[ErrorItem], scope: AnalystScope | None = None
) -> _NeedRow | None:
    raw = row.values
    problems: list[tuple[str, str]] = []
    values: dict = {}
    for name in ("external_id", "statement", "source_reference"):
        values[name] = parse_text(raw.get(name))
    if not values["external_id"]:
        problems.append(("external_id", gettext("required: the stable identifier of the need in your file")))
    elif len(values["external_id"]) > 128:
        problems.append(("external_id", gettext("at most 128 characters")))
    if not values["statement"]:
        problems.append(("statement", gettext("required")))
    for name, mapping, unknown in (
        ("audience", lookups.audiences, _UNKNOWN_AUDIENCE),
        ("domain", lookups.domains, _UNKNOWN_DOMAIN),
    ):
        code = parse_text(raw.get(name))
        values[name] = mapping.get(code)
        if values[name] is None:
            problems.append((name, (str(unknown) % {"code": code} if code else gettext("required"))))
    themes: list[Theme] = []
    for code in parse_list(raw.get("themes")):
        if code in lookups.themes:
            themes.append(lookups.themes[code])
        else:
            problems.append(("themes", (gettext("unknown theme code %(code)r") % {"code": code})))
    foreign = need_themes_check(domain=values["domain"], themes=themes)
    if foreign:
        problems.append(
            (
                "themes",
                (
                    gettext("theme(s) %(foreign)s do not belong to the domain %(code)r")
                    % {"foreign": ", ".join(foreign), "code": values["domain"].code}
                ),
            )
        )
    territory_code = parse_text(raw.get("territory"))
    values["territory"] = None
    if territory_code:
        try:
            values["territory"] = lookups.territory(territory_code)
        except CellError as exc:
            problems.append(("territory", str(exc)))
    if scope is not None and not any(field == "territory" for field, _ in problems):
        # The same rule as a need written through the API: within the uploader's territories.
        try:
            values["territory"] = scope.territory_check(values["territory"], field="territory", default=True)
        except InvalidInput as exc:
            problems.append(("territory", exc.errors[0].message))
    for name, choices, default in (
        ("stage", JourneyStage, JourneyStage.ANCHOR),
        ("source", NeedSource, None),
    ):
        try:
            values[name] = parse_choice(raw.get(name), choices.choices) or default
        except CellError as exc:
            problems.append((name, str(exc)))
            continue
        if values[name] is None:
            problems.append((name, gettext("required: one of %(codes)s") % {"codes": ", ".join(choices.values)}))
    for name, parse, required in (
        ("importance", parse_float, True),
        ("satisfaction", parse_float, False),
        ("demand_volume", parse_int, False),
    ):
        try:
            values[name] = parse(raw.get(name))
        except CellError:
            if parse is parse_int:
                message = gettext("%(value)r is not a whole number")
            else:
                message = gettext("%(value)r is not a number (decimal point or comma)")
            problems.append((name, message % {"value": raw.get(name)}))
            continue
        if values[name] is None and required:
            problems.append((name, gettext("required")))
        elif values[name] is not None and parse is parse_float and not 0 <= values[name] <= 1:
            problems.append((name, gettext("%(value)s is outside 0-1") % {"value": values[name]}))
        elif values[name] is not None and parse is parse_int and values[name] < 0:
            problems.append((name, gettext("must be positive or zero")))
    date_text = parse_text(raw.get("source_date"))
    try:
        values["source_date"] = parse_date(date_text)
    except CellError:
        problems.append(
            ("source_date", gettext("%(value)r is not a date (YYYY-MM-DD or DD/MM/YYYY)") % {"value": date_text})
        )
    if not problems:
        candidate = Need(**values)
        candidate.search_text = fold_text(values["statement"])
        try:
            candidate.full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            problems.extend(
                (field, message) for field, messages in validation_messages(exc).items() for message in messages
            )
    if problems:
        errors.extend(ErrorItem(line=row.line, field=field, message=message) for field, message in problems)
        return None
    return _NeedRow(line=row.line, key=(values["source"], values["external_id"]), values=values, themes=themes)


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
    user=None,
) -> ImportReport:
    """Upsert needs by (source, external_id) from a CSV/JSON upload.

    The whole file is validated first (same rules as the API); any problem refuses it with every bad line.
    A dry run validates and counts without writing. With `user` (an API caller), every row's territory must lie
    within theirs (empty: their territory when they have exactly one), and no row may update a need they cannot see.
    """
    parsed = read_upload(
        content=content,
        columns=NEED_COLUMNS + [Column(name) for name in NEED_EXPORT_ONLY],
        filename=filename,
        content_type=content_type,
        max_rows=NEED_IMPORT_MAX_ROWS,
        list_key="needs",
    )
    lookups = CodeLookups()
    scope = analyst_scope(user=user) if user is not None else None
    errors: list[ErrorItem] = []
    need_rows: list[_NeedRow] = []
    first_line: dict[tuple[str, str], int] = {}
    for row in parsed:
        need_row = _need_row_parse(row, lookups, errors, scope)
        if need_row is None:
            continue
        if need_row.key in first_line:
            errors.append(
                ErrorItem(
                    line=row.line,
                    field="external_id",
                    code="duplicate",
                    message=gettext("%(id)r (source %(source)s) already appears on line %(line)s.")
                    % {"id": need_row.key[1], "source": need_row.key[0], "line": first_line[need_row.key]},
                )
            )
            continue
        first_line[need_row.key] = row.line
        need_rows.append(need_row)
    if scope is not None:
        errors.extend(_hidden_keys_errors(need_rows, user=user))
    if errors:
        raise InvalidInput(
            errors, message=gettext("%(count)s problem(s) in the file; nothing was written.") % {"count": len(errors)}
        )

    report = ImportReport(dry_run=dry_run, rows=len(parsed))
    try:
        with transaction.atomic():
            _needs_upsert(need_rows, report)
            if dry_run:
                raise _DryRunRollback
    except _DryRunRollback:
        pass
    return report


def _hidden_keys_errors(need_rows: list[_NeedRow], *, user) -> list[ErrorItem]:
    """Rows whose key (source, external_id) belongs to a need outside the uploader's territories: upserting would
    overwrite (and move) another team's need. The error names the row, never the other need's content."""
    if not need_rows or analyst_scope(user=user).instance_wide:
        return []
    keys = Q()
    for source in {row.key[0] for row in need_rows}:
        keys |= Q(source=source, external_id__in=[row.key[1] for row in need_rows if row.key[0] == source])
    visible = selectors.need_visible_q(user=user)
    hidden = set(Need.objects.filter(keys).exclude(visible).values_list("source", "external_id"))
    return [
        ErrorItem(
            line=row.line,
            field="external_id",
            code="outside_territories",
            message=gettext(
                "%(id)r (source %(source)s) identifies a need outside your territories: use another identifier."
            )
            % {"id": row.key[1], "source": row.key[0]},
        )
        for row in need_rows
        if row.key in hidden
    ]


def _needs_upsert(need_rows: list[_NeedRow], report: ImportReport) -> None:
    existing: dict[tuple[str, str], Need] = {}
    for source in {row.key[0] for row in need_rows}:
        ids = [row.key[1] for row in need_rows if row.key[0] == source]
        for need in Need.objects.filter(source=source, external_id__in=ids).prefetch_related("themes"):
            existing[(need.source, need.external_id)] = need
    for row in need_rows:
        need = existing.get(row.key)
        if need is None:
            _need_save(Need(**row.values), themes=row.themes)
            report.created += 1
            continue
        _, changed = model_update(instance=need, data=row.values, save=False)
        if not changed and {theme.pk for theme in need.themes.all()} == {theme.pk for theme in row.themes}:
            report.unchanged += 1
            continue
        _need_save(need, themes=row.themes)
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
            *(getattr(need, name) for name in NEED_STATISTICS_FIELDS),
            need.updated_at.isoformat(),
        ]
        for need in needs
    ]
