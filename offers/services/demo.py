"""The demo catalogue: organisations and offers, loaded through the rules of every import, dated from today."""

import datetime
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone

from api.exceptions import ErrorItem, InvalidInput
from api.model_update import model_update, validation_messages
from offers.models import Organisation, Territory, TerritoryKind
from offers.selectors import territory_resolve, territory_subtree_q
from offers.services.imports import OfferImportReport, _offers_upsert
from offers.services.offers import OFFER_INPUT_FIELDS
from offers.services.reference_data import DATA_DIR, catalogue_changed, read_json
from offers.source_formats.samples import dates_shift

DEMO_DIR = DATA_DIR / "demo"

DEMO_EDITOR_ORGANISATION_TERRITORY = "200034825"  # the Grand Guéret agglomeration


def offers_demo_load(
    *,
    organisations_path: Path | str = DEMO_DIR / "organisations.json",
    offers_path: Path | str = DEMO_DIR / "offers.json",
    today: datetime.date | None = None,
    editor_username: str | None = None,
) -> OfferImportReport:
    """Load the demo organisations (upsert by slug = key) and offers (upsert by source "demo" + external_id, with
    the validation of every import); idempotent. Dates are day offsets from `today` so the demo never expires.

    `editor_username`: that user becomes an editor of the Grand Guéret agglomeration's organisation (or of the
    first demo organisation when none is placed there).
    """
    today = today or timezone.localdate()
    organisations = read_json(Path(organisations_path), "demo organisations file")
    offers = read_json(Path(offers_path), "demo offers file")
    errors: list[ErrorItem] = []
    with transaction.atomic():
        catalogue_changed()
        keys = []
        for number, item in enumerate(organisations, start=1):
            slug = item.get("key")
            try:
                territory = territory_resolve(code=str(item.get("territory", "")), field="territory")
            except InvalidInput as exc:
                errors.extend(
                    ErrorItem(line=number, field=e.field, code=e.code, message=e.message) for e in exc.errors
                )
                continue
            values = {
                "name": item.get("name", ""),
                "kind": item.get("kind", ""),
                "territory": territory,
                "email": item.get("email") or "",
                "phone": item.get("phone") or "",
                "website": item.get("website") or "",
            }
            organisation = Organisation.objects.filter(slug=slug).first() or Organisation(slug=slug)
            model_update(instance=organisation, data=values, save=False)
            try:
                organisation.full_clean(exclude=["territory"])
            except DjangoValidationError as exc:
                for name, messages in validation_messages(exc).items():
                    errors.extend(ErrorItem(line=number, field=name, message=message) for message in messages)
                continue
            organisation.save()
            keys.append(slug)
        if errors:
            raise InvalidInput(errors, message="The demo organisations file is invalid; nothing was loaded.")

        def offset(days):
            return None if days is None else today + datetime.timedelta(days=int(days))

        records = []
        for number, item in enumerate(offers, start=1):
            values = {name: item[name] for name in OFFER_INPUT_FIELDS if name in item}
            values.update(
                source="demo",
                available_from=offset(item.get("available_from_days")),
                available_until=offset(item.get("available_until_days")),
            )
            records.append((number, values))
        report = _offers_upsert(records=records, user=None, dry_run=False)
        if editor_username:
            _demo_editor_attach(username=editor_username, slugs=keys)
    return report


def _demo_editor_attach(*, username: str, slugs: list[str]) -> None:
    user = get_user_model().objects.filter(username=username).first()
    if user is None or not slugs:
        return
    candidates = Organisation.objects.filter(slug__in=slugs).order_by("slug")
    epci = Territory.objects.filter(kind=TerritoryKind.EPCI, code=DEMO_EDITOR_ORGANISATION_TERRITORY).first()
    organisation = None
    if epci is not None:  # the agglomeration's own organisation, else one placed in one of its communes
        organisation = (
            candidates.filter(territory=epci).first()
            or candidates.filter(territory_subtree_q(epci, prefix="territory__")).first()
        )
    organisation = organisation or candidates.first()
    organisation.editors.add(user)


# The demo's sources: one of each kind, with a handful of Creuse records each (files under demo/sources/, named after
# the format: `france_travail.json`...). A kind whose format is not registered, or whose file is absent, is skipped.
DEMO_SOURCES_DIR = DEMO_DIR / "sources"
DEMO_SOURCES = (
    ("france-travail-creuse", "Offres d'emploi France Travail en Creuse", "france_travail", "france-travail-gueret"),
    ("datatourisme-creuse", "Lieux et hébergements touristiques DATAtourisme", "datatourisme", "ot-grand-gueret"),
    ("openagenda-creuse", "Agenda culturel OpenAgenda de la Creuse", "openagenda", "scene-nationale-aubusson"),
    ("data-inclusion-creuse", "Services d'insertion data·inclusion en Creuse", "data_inclusion", "departement-creuse"),
)


def sources_demo_load(
    *, directory: Path | str = DEMO_SOURCES_DIR, specs=DEMO_SOURCES, today: datetime.date | None = None
) -> list:
    """Create (or keep) the demo sources and sync each with its file; returns the syncs run. Idempotent: a second
    load finds every record unchanged."""
    from offers.models import Source
    from offers.services.sources import source_formats, source_sync

    formats = source_formats()
    syncs = []
    for code, name, format_code, organisation_slug in specs:
        files = sorted(Path(directory).glob(f"{format_code}.*"))
        organisation = Organisation.objects.filter(slug=organisation_slug).first()
        if format_code not in formats or not files or organisation is None:
            continue
        source, _created = Source.objects.get_or_create(
            code=code, defaults={"name": name, "format": format_code, "organisation": organisation}
        )
        content = dates_shift(
            files[0].read_bytes(), written_on=DEMO_SOURCES_WRITTEN_ON, today=today or timezone.localdate()
        )
        syncs.append(source_sync(source=source, content=content, today=today))
    return syncs


# The day the demo source files were written: their dates move with today by as many days (dates_shift), so that
# their events are never over and their job offers never years old (a reader skips an event whose last day is past).
DEMO_SOURCES_WRITTEN_ON = datetime.date(2026, 12, 1)
