"""The tabular offers import (CSV or JSON, French headers) and the data·inclusion one: validated whole with the rules
of the API, then written in one transaction, or nothing."""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext
from rest_framework.exceptions import PermissionDenied

from api.cells import CellError
from api.exceptions import ErrorItem, InvalidInput
from api.permissions import is_admin
from api.tabular import Column, read_upload
from offers.models import Offer, Organisation
from offers.services.data_inclusion import data_inclusion_columns, data_inclusion_service_map
from offers.services.lookups import CodeLookups
from offers.services.offers import OfferDraft, _offer_draft, _offer_save, _user_organisation_ids, offer_can_edit

OFFER_IMPORT_COLUMNS = [
    Column(
        "external_id",
        ("identifiant", "id", "id externe", "référence"),
        required=True,
        help="Your stable identifier of the offer: re-importing the same (source, identifiant) into the same "
        "organisation updates it.",
    ),
    Column("title", ("titre", "nom", "intitulé"), required=True, help="Title, 200 characters at most."),
    Column("description", ("descriptif", "présentation"), required=True, help="Free French text."),
    Column("domain", ("domaine",), required=True, help="Domain code: jobs, housing, culture, tourism, daily-life."),
    Column(
        "themes",
        ("thèmes", "thème", "theme"),
        required=True,
        help="Theme codes of that domain, separated by `|` or `,` (e.g. `childcare|schools`).",
    ),
    Column(
        "organisation",
        ("organisme", "structure", "fournisseur"),
        help="Slug of the providing organisation (optional when a default organisation is given).",
    ),
    Column(
        "commune",
        ("code commune", "code insee", "insee"),
        help="INSEE code of the commune where the offer takes place; empty for an offer without a place, which "
        "then needs a service_area.",
    ),
    Column("latitude", ("lat",), help="WGS 84; default: the commune's centre. `46.17` or `46,17`."),
    Column("longitude", ("lon", "lng"), help="WGS 84; default: the commune's centre."),
    Column(
        "remote",
        ("à distance", "a distance", "distanciel"),
        help="oui/non, true/false: delivered at a distance (online, by phone, at home); default non.",
    ),
    Column(
        "service_area",
        ("zone", "zone desservie", "zone d'intervention", "territoires"),
        help="Territory codes served (commune INSEE, EPCI SIREN, département, région, FR for all of France), "
        "separated by `|`; default: the commune. Required without a commune.",
    ),
    Column(
        "audiences", ("publics", "public", "publics cibles"), help="Audience codes separated by `|`; empty = everyone."
    ),
    Column("is_free", ("gratuit",), help="oui/non, true/false."),
    Column("price_amount", ("prix", "tarif", "montant"), help="Price in euros (`12,50`)."),
    Column(
        "price_details",
        ("détails du prix", "précisions tarif", "conditions tarifaires"),
        help="Price conditions in words.",
    ),
    Column("capacity", ("capacité",), help="Whole number ≥ 0 (3 dwellings, 12 places…)."),
    Column("capacity_unit", ("unité", "unité de capacité"), help="What the capacity counts (logements, places…)."),
    Column("available_from", ("date de début", "début", "disponible à partir du"), help="YYYY-MM-DD or DD/MM/YYYY."),
    Column("available_until", ("date de fin", "fin", "disponible jusqu'au"), help="YYYY-MM-DD or DD/MM/YYYY."),
    Column("status", ("statut",), help="draft/brouillon, published/publiée, archived/archivée; default draft."),
    Column("url", ("lien", "site", "site web"), help="Web page of the offer."),
    Column("contact", ("contact",), help="Phone, e-mail or person to contact."),
    Column("accessibility", ("accessibilité",), help="Accessibility notes."),
]

IMPORT_MAX_BYTES = 5 * 1024 * 1024
IMPORT_MAX_ROWS = 10_000
IMPORT_FORMATS = ("tabular", "data-inclusion")


@dataclass
class OfferImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    dry_run: bool = False
    total: int = 0
    warnings: list[ErrorItem] = field(default_factory=list)

    def __str__(self) -> str:
        prefix = "Dry run, nothing written: would have " if self.dry_run else ""
        return (
            f"{prefix}{self.created} created, {self.updated} updated, {self.unchanged} unchanged ({self.total} rows)"
        )


ProgressCallback = Callable[[int, int], None]


def _record_organisation(values: dict, *, refs: CodeLookups, default: Organisation | None) -> Organisation | None:
    """The organisation a record names, else the default; None when it names none that exists (the draft says)."""
    named = values.get("organisation")
    if named is None or (isinstance(named, str) and not named.strip()):
        return default
    try:
        return refs.organisation(named)
    except CellError:
        return None


def _offers_by_key(keys: list[tuple[int, str, str]]) -> dict[tuple[int, str, str], Offer]:
    """The offers of these (organisation id, source, external_id) keys, in batches of 500 identifiers."""
    grouped: dict[tuple[int, str], list[str]] = defaultdict(list)
    for organisation_id, source, external_id in keys:
        grouped[(organisation_id, source)].append(external_id)
    found: dict[tuple[int, str, str], Offer] = {}
    for (organisation_id, source), external_ids in grouped.items():
        for start in range(0, len(external_ids), 500):
            for offer in Offer.objects.filter(
                organisation_id=organisation_id, source=source, external_id__in=external_ids[start : start + 500]
            ).prefetch_related("themes", "audiences", "service_area"):
                found[(offer.organisation_id, offer.source, offer.external_id)] = offer
    return found


def _offers_upsert(
    *,
    records: list[tuple[int, dict]],
    user,
    dry_run: bool,
    default_organisation: Organisation | None = None,
    refs: CodeLookups | None = None,
    errors: list[ErrorItem] | None = None,
    progress: ProgressCallback | None = None,
) -> OfferImportReport:
    """Validate every record (line, values with `source` and `external_id`) with the rules of the API, then write
    them all in one transaction, or nothing: any problem raises InvalidInput listing every bad line and field."""
    refs = refs or CodeLookups()
    errors = list(errors or [])
    report = OfferImportReport(dry_run=dry_run, total=len(records))
    # The key is (organisation, source, external_id): each record's organisation is resolved, and must be one the
    # user edits, before any offer is looked up, so nothing tells whether another organisation uses an identifier.
    keyed: list[tuple[int, dict, tuple[int, str, str] | None]] = []
    for line, values in records:
        external_id = str(values.get("external_id") or "").strip()
        if not external_id:
            errors.append(
                ErrorItem(
                    line=line,
                    field="external_id",
                    code="required",
                    message=gettext("Every imported offer needs an identifier (external_id)."),
                )
            )
            continue
        organisation = _record_organisation(values, refs=refs, default=default_organisation)
        if organisation is not None and not offer_can_edit(user=user, organisation_id=organisation.pk):
            errors.append(
                ErrorItem(
                    line=line,
                    field="organisation",
                    code="permission_denied",
                    message=_not_an_editor(organisation),
                )
            )
            continue
        key = (organisation.pk, values.get("source") or "manual", external_id) if organisation else None
        keyed.append((line, values, key))
    existing = _offers_by_key([key for _, _, key in keyed if key])

    drafts: list[OfferDraft] = []
    seen: dict[tuple[int, str, str], int] = {}
    total = len(records) * (1 if dry_run else 2)
    for index, (line, values, key) in enumerate(keyed, start=1):
        if progress:
            progress(index, total)
        if key in seen:
            errors.append(
                ErrorItem(
                    line=line,
                    field="external_id",
                    code="duplicate",
                    message=gettext("The identifier %(identifier)s is already used on line %(line)s.")
                    % {"identifier": repr(key[2]), "line": seen[key]},
                )
            )
            continue
        if key is not None:
            seen[key] = line
        offer = existing.get(key)
        draft, row_errors = _offer_draft(
            data=values, offer=offer, refs=refs, default_organisation=default_organisation
        )
        if row_errors:
            errors.extend(
                ErrorItem(line=line, field=e.field or None, code=e.code, message=e.message) for e in row_errors
            )
            continue
        if not offer_can_edit(user=user, organisation_id=draft.offer.organisation_id):
            errors.append(
                ErrorItem(
                    line=line,
                    field="organisation",
                    code="permission_denied",
                    message=_not_an_editor(draft.offer.organisation),
                )
            )
            continue
        if offer is None:
            report.created += 1
        elif draft.changed:
            report.updated += 1
        else:
            report.unchanged += 1
        drafts.append(draft)
    if errors:
        bad_lines = len({error.line for error in errors})
        raise InvalidInput(
            sorted(errors, key=lambda e: e.line or 0),
            message=gettext("%(problems)s problem(s) on %(records)s record(s); nothing was written.")
            % {"problems": len(errors), "records": bad_lines},
        )
    if dry_run:
        return report
    with transaction.atomic():
        for index, draft in enumerate(drafts, start=len(records) + 1):
            if draft.changed:
                _offer_save(draft)
            if progress:
                progress(index, total)
    return report


def offers_import(
    *,
    content: bytes,
    user=None,
    filename: str | None = None,
    content_type: str | None = None,
    source: str = "import",
    dry_run: bool = False,
    organisation: Organisation | None = None,
    format: str = "tabular",
    max_bytes: int = IMPORT_MAX_BYTES,
    max_rows: int = IMPORT_MAX_ROWS,
    progress: ProgressCallback | None = None,
) -> OfferImportReport:
    """Import offers from a CSV/JSON file (OFFER_IMPORT_COLUMNS, French headers accepted) or a data·inclusion
    services file (format="data-inclusion"); upsert by (organisation, source, external_id); all or nothing.

    `user` None = the system (management command). `organisation` is the default organisation of rows that do not
    name one (required for data·inclusion, whose services name structures we do not know).
    """
    if format not in IMPORT_FORMATS:
        raise InvalidInput(
            [
                ErrorItem(
                    field="format",
                    message=gettext("Unknown format %(format)s: use %(formats)s.")
                    % {"format": repr(format), "formats": ", ".join(IMPORT_FORMATS)},
                )
            ]
        )
    source = slugify(source or "")
    if format == "tabular" and not source:
        raise InvalidInput(
            [ErrorItem(field="source", message=gettext("The source must be a short name such as `cd23`."))]
        )
    if organisation is not None and not offer_can_edit(user=user, organisation_id=organisation.pk):
        raise PermissionDenied(_not_an_editor(organisation))
    if user is not None and not is_admin(user) and not _user_organisation_ids(user):
        raise PermissionDenied(gettext("Importing offers is for editors of an organisation and administrators."))
    refs = CodeLookups()
    if format == "data-inclusion":
        rows = read_upload(
            content=content,
            columns=data_inclusion_columns(),
            filename=filename or "services.json",
            content_type=content_type,
            max_bytes=max_bytes,
            max_rows=max_rows,
            list_key="items",
        )
        if organisation is None:
            raise InvalidInput(
                [
                    ErrorItem(
                        field="organisation",
                        code="required",
                        message=gettext(
                            "A data·inclusion import needs the organisation (slug) that will hold the services."
                        ),
                    )
                ]
            )
        records, errors = [], []
        for row in rows:
            values, row_errors = data_inclusion_service_map(values=row.values, refs=refs)
            if row_errors:
                errors.extend(
                    ErrorItem(line=row.line, field=e.field, code=e.code, message=e.message) for e in row_errors
                )
            else:
                records.append((row.line, values))
        return _offers_upsert(
            records=records,
            user=user,
            dry_run=dry_run,
            default_organisation=organisation,
            refs=refs,
            errors=errors,
            progress=progress,
        )
    rows = read_upload(
        content=content,
        columns=OFFER_IMPORT_COLUMNS,
        filename=filename,
        content_type=content_type,
        max_bytes=max_bytes,
        max_rows=max_rows,
        list_key="offers",
    )
    records = [(row.line, {**row.values, "source": source}) for row in rows]
    return _offers_upsert(
        records=records, user=user, dry_run=dry_run, default_organisation=organisation, refs=refs, progress=progress
    )


def _not_an_editor(organisation: Organisation) -> str:
    return gettext("You are not an editor of the organisation %(organisation)s.") % {
        "organisation": repr(organisation.slug)
    }
