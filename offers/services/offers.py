"""Offers: the rules every write path applies (API, admin, imports, demo data), then create, update and delete.

Every path goes through `_offer_draft` (parse, resolve codes, apply the changes) and `offer_validate`, so the same
rules apply everywhere, and every write bumps the catalogue version.
"""

from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.translation import gettext
from rest_framework.exceptions import PermissionDenied

from api.cells import (
    CellError,
    blank,
    parse_bool,
    parse_choice,
    parse_date,
    parse_decimal,
    parse_float,
    parse_int,
    parse_list,
    parse_text,
)
from api.exceptions import ErrorItem, InvalidInput
from api.model_update import validation_messages
from api.permissions import is_admin
from api.text import fold_text
from offers.models import Audience, Offer, OfferStatus, Organisation, Territory, TerritoryKind, Theme
from offers.services.lookups import CodeLookups
from offers.services.reference_data import catalogue_changed

OFFER_SCALAR_FIELDS = (
    "title",
    "description",
    "latitude",
    "longitude",
    "remote",
    "is_free",
    "price_amount",
    "price_details",
    "capacity",
    "capacity_unit",
    "available_from",
    "available_until",
    "status",
    "url",
    "contact",
    "accessibility",
    "source",
    "external_id",
)
OFFER_RELATION_FIELDS = ("domain", "organisation", "commune")
OFFER_M2M_FIELDS = ("themes", "audiences", "service_area")
OFFER_INPUT_FIELDS = OFFER_SCALAR_FIELDS + OFFER_RELATION_FIELDS + OFFER_M2M_FIELDS

# Spellings of a status besides its code and its French label.
_STATUS_ALIASES = {"publie": OfferStatus.PUBLISHED, "en ligne": OfferStatus.PUBLISHED, "archive": OfferStatus.ARCHIVED}


def _parse_status(value) -> str | None:
    try:
        return parse_choice(value, OfferStatus.choices, aliases=_STATUS_ALIASES)
    except CellError:
        raise CellError(
            gettext("Unknown status %(value)s: use draft, published or archived (brouillon, publiée, archivée).")
            % {"value": repr(value)}
        ) from None


_PARSERS = {
    "latitude": parse_float,
    "longitude": parse_float,
    "remote": parse_bool,
    "is_free": parse_bool,
    "price_amount": parse_decimal,
    "capacity": parse_int,
    "available_from": parse_date,
    "available_until": parse_date,
    "status": _parse_status,
    "themes": parse_list,
    "audiences": parse_list,
    "service_area": parse_list,
}


@dataclass
class OfferDraft:
    """An offer with its changes applied but not saved, and its many-to-many relations."""

    offer: Offer
    themes: list[Theme]
    audiences: list[Audience]
    service_area: list[Territory]
    changed: bool = True
    # Whether anonymous callers could see the offer before this change (public list ETags follow only such changes).
    was_published: bool = False


def offer_validate(
    *,
    offer: Offer,
    themes: list[Theme],
    service_area: list[Territory] | None = None,
    constraints_checked: bool = False,
) -> list[Territory]:
    """The rules of an offer, for every write path (API, admin, imports, demo data).

    Fills the defaults (location = the commune's centroid, service area = the commune), then checks: the offer has
    a place (a commune) or a service area, or both (a remote or national service has only the territories it
    serves); the commune is a commune; latitude and longitude come together and lie in France (coordinates without
    a commune are kept: a mobile service's base; they never stand for a service area); the themes belong to the
    domain, the dates are ordered, capacity and price are coherent (Offer.clean), the organisation's (source,
    external_id) pair is free. Raises Django's ValidationError {field: [messages]}; returns the service area to
    store.
    """
    errors: dict[str, list[str]] = defaultdict(list)
    commune = offer.commune if offer.commune_id else None
    if commune is not None and commune.kind != TerritoryKind.COMMUNE:
        errors["commune"].append(
            gettext("%(territory)s (%(kind)s) is not a commune.")
            % {"territory": commune.name, "kind": commune.get_kind_display().lower()}
        )
        commune = None
    if commune is not None and (offer.latitude is None or offer.longitude is None):
        if offer.latitude is None and offer.longitude is None:
            if commune.latitude is None:  # a few overseas communes have no known centroid
                errors["latitude"].append(
                    f"{commune.name} has no known centre: give the offer's latitude and longitude."
                )
            offer.latitude, offer.longitude = commune.latitude, commune.longitude
        else:
            errors["latitude"].append(
                gettext("Give both latitude and longitude, or neither (the commune's centre is used).")
            )
    elif commune is None and (offer.latitude is None) != (offer.longitude is None):
        errors["latitude"].append(gettext("Give both latitude and longitude, or neither."))
    service_area = list(service_area or [])
    if not service_area and commune is not None:
        service_area = [commune]
    if not service_area and not offer.commune_id and "commune" not in errors:
        message = gettext(
            "An offer needs a commune (where it takes place) or a service_area (the territories it serves, e.g. "
            "FR for all of France), or both."
        )
        errors["commune"].append(message)
        errors["service_area"].append(message)
    if not themes:
        errors["themes"].append(gettext("An offer needs at least one theme."))
    if offer.domain_id:
        for theme in themes:
            if theme.domain_id != offer.domain_id:
                errors["themes"].append(
                    gettext("The theme %(theme)s does not belong to the domain %(domain)s.")
                    % {"theme": repr(theme.code), "domain": repr(offer.domain.code)}
                )
    checks = (
        # Foreign keys were resolved from the database already (origin and last_sync: set by source syncs from rows
        # they hold); re-checking them would cost a query each, two per record when a sync meets its offers again.
        lambda: offer.full_clean(
            exclude=["domain", "organisation", "commune", "origin", "last_sync", "search_text"],
            validate_constraints=False,
        ),
        # Constraints apart: one excluding the organisation would skip the organisation's import key.
        lambda: offer.validate_constraints(exclude=["search_text"]),
    )
    if constraints_checked:  # the caller checked them for a whole batch (source syncs): a query per offer saved
        checks = checks[:1]
    for check in checks:
        try:
            check()
        except DjangoValidationError as exc:
            for field, field_errors in exc.error_dict.items():
                for error in field_errors:
                    # The conditional constraint of the import key names no field: say which.
                    name = "external_id" if field == "__all__" and error.code == "duplicate" else field
                    errors[name].extend(error.messages)
    if errors:
        raise DjangoValidationError(dict(errors))
    return service_area


def offer_search_text(*, offer: Offer, themes: list[Theme]) -> str:
    """What `q` searches on SQLite and what the PostgreSQL tsvector indexes besides the title: folded text."""
    parts = [offer.title, offer.description]
    for theme in themes:
        parts.extend((theme.label, theme.keywords))
    return fold_text(" ".join(part for part in parts if part))


def _user_organisation_ids(user) -> set[int]:
    if not (user and user.is_authenticated):
        return set()
    cached = getattr(user, "_ancrage_organisation_ids", None)
    if cached is None:
        cached = set(
            Organisation.editors.through.objects.filter(user_id=user.pk).values_list("organisation_id", flat=True)
        )
        user._ancrage_organisation_ids = cached
    return cached


def offer_can_edit(*, user, organisation_id: int | None) -> bool:
    """Admins edit every offer; editors those of the organisations they belong to; nobody else any."""
    if user is None:  # management commands and loaders run as the system
        return True
    if is_admin(user):
        return True
    return organisation_id is not None and organisation_id in _user_organisation_ids(user)


def _offer_draft(
    *,
    data: dict,
    offer: Offer | None,
    refs: CodeLookups,
    default_organisation: Organisation | None = None,
    prefix: str = "",
    constraints_checked: bool = False,
) -> tuple[OfferDraft | None, list[ErrorItem]]:
    """Parse raw values (API JSON, CSV text, mapped data·inclusion records), resolve codes and apply every rule.

    `data` holds only the fields to set (a partial update leaves the others as they are). Returns the draft, or
    None and every problem found (field by field).
    """
    errors: list[ErrorItem] = []

    def error(field: str, message: str, code: str = "invalid") -> None:
        errors.append(ErrorItem(field=f"{prefix}{field}", message=message, code=code))

    parsed: dict = {}
    for name, raw in data.items():
        if name not in OFFER_INPUT_FIELDS:
            continue
        try:
            parsed[name] = _PARSERS.get(name, parse_text)(raw)
        except CellError as exc:
            error(name, str(exc))

    is_new = offer is None
    if is_new:
        offer = Offer()
        themes, audiences, service_area = [], [], []
    else:
        themes = list(offer.themes.all())
        audiences = list(offer.audiences.all())
        service_area = list(offer.service_area.all())
    before = {
        name: getattr(offer, name) for name in OFFER_SCALAR_FIELDS + ("domain_id", "organisation_id", "commune_id")
    }
    before_m2m = ({t.pk for t in themes}, {a.pk for a in audiences}, {s.pk for s in service_area})

    for name in OFFER_SCALAR_FIELDS:
        if name not in parsed:
            continue
        value = parsed[name]
        if name in ("is_free", "remote") and value is None:
            value = False
        if name == "status" and value is None:
            value = OfferStatus.DRAFT if is_new else offer.status
        if name == "source" and not value:
            value = "manual"
        if value is None and name in (
            "title",
            "description",
            "price_details",
            "capacity_unit",
            "url",
            "contact",
            "accessibility",
            "external_id",
        ):
            value = ""
        setattr(offer, name, value)

    for name, resolve in (("domain", refs.domain), ("commune", refs.territory), ("organisation", refs.organisation)):
        value = parsed.get(name)
        if name not in parsed or blank(value):
            if name == "organisation" and default_organisation is not None and not offer.organisation_id:
                offer.organisation = default_organisation
            elif name == "commune":
                # Optional: an offer without a place has a service area instead (offer_validate says which).
                if name in parsed:
                    offer.commune = None
            elif is_new or name in parsed:
                error(name, gettext("This field is required."), "required")
            continue
        try:
            setattr(offer, name, resolve(value))
        except CellError as exc:
            error(name, str(exc), "not_found")

    commune_changed = "commune" in parsed and not is_new and offer.commune_id != before["commune_id"]
    if commune_changed and "latitude" not in parsed and "longitude" not in parsed:
        offer.latitude = offer.longitude = None  # moved to another commune: its centroid, unless coordinates given
    for name, resolve in (("themes", refs.theme), ("audiences", refs.audience), ("service_area", refs.territory)):
        if name not in parsed:
            continue
        resolved = []
        for index, code in enumerate(parsed[name]):
            try:
                item = resolve(code)
            except CellError as exc:
                error(f"{name}.{index}", str(exc), "not_found")
                continue
            if item not in resolved:
                resolved.append(item)
        if name == "themes":
            themes = resolved
        elif name == "audiences":
            audiences = resolved
        else:
            service_area = resolved
    if commune_changed and "service_area" not in parsed and [s.pk for s in service_area] == [before["commune_id"]]:
        service_area = []  # the default follows the commune

    if any(error.field in (f"{prefix}domain", f"{prefix}commune") for error in errors):
        # The cross-field rules depend on them; still report every problem of the other fields.
        exclude = ["domain", "organisation", "commune", "search_text"]
        exclude += [name for name in ("latitude", "longitude") if getattr(offer, name) is None]
        try:
            offer.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
        except DjangoValidationError as exc:
            for name, messages in validation_messages(exc).items():
                for message in messages:
                    error("" if name == "__all__" else name, message)
        return None, errors
    try:
        service_area = offer_validate(
            offer=offer, themes=themes, service_area=service_area, constraints_checked=constraints_checked
        )
    except DjangoValidationError as exc:
        for field, messages in validation_messages(exc).items():
            for message in messages:
                error("" if field == "__all__" else field, message)
    if errors:
        return None, errors
    after = {name: getattr(offer, name) for name in before}
    after_m2m = ({t.pk for t in themes}, {a.pk for a in audiences}, {s.pk for s in service_area})
    changed = is_new or after != before or after_m2m != before_m2m
    draft = OfferDraft(
        offer=offer,
        themes=themes,
        audiences=audiences,
        service_area=service_area,
        changed=changed,
        was_published=before["status"] == OfferStatus.PUBLISHED,
    )
    return draft, []


def _offer_save(draft: OfferDraft) -> Offer:
    offer = draft.offer
    offer.search_text = offer_search_text(offer=offer, themes=draft.themes)
    offer.save()
    offer.themes.set(draft.themes)
    offer.audiences.set(draft.audiences)
    offer.service_area.set(draft.service_area)
    catalogue_changed(public=draft.was_published or offer.status == OfferStatus.PUBLISHED, offers=[offer.pk])
    return offer


def _target_organisation_check(*, user, data: dict, refs: CodeLookups, message: str) -> None:
    """Refuse (403) a write into an organisation the user does not edit before validating anything else: the rules
    (the organisation's (source, external_id) is free...) would otherwise answer about offers they cannot read."""
    try:
        organisation = refs.organisation(data["organisation"]) if "organisation" in data else None
    except CellError:
        return  # unknown or malformed: the draft says so, and there is nothing of another organisation to reveal
    if organisation is not None and not offer_can_edit(user=user, organisation_id=organisation.pk):
        raise PermissionDenied(message)


def offer_create(*, user, data: dict) -> Offer:
    """Create an offer for one of the user's organisations (any organisation for admins)."""
    refs = CodeLookups()
    message = gettext("You can only create offers for an organisation you are an editor of.")
    _target_organisation_check(user=user, data=data, refs=refs, message=message)
    draft, errors = _offer_draft(data=data, offer=None, refs=refs)
    if errors:
        raise InvalidInput([ErrorItem(field=e.field or None, message=e.message, code=e.code) for e in errors])
    if not offer_can_edit(user=user, organisation_id=draft.offer.organisation_id):
        raise PermissionDenied(message)
    with transaction.atomic():
        return _offer_save(draft)


def offer_update(*, user, offer: Offer, data: dict) -> Offer:
    """Change an offer; editors cannot move it to an organisation they do not belong to."""
    if not offer_can_edit(user=user, organisation_id=offer.organisation_id):
        raise PermissionDenied(gettext("You can only change the offers of the organisations you are an editor of."))
    refs = CodeLookups()
    message = gettext("You cannot move an offer to an organisation you are not an editor of.")
    _target_organisation_check(user=user, data=data, refs=refs, message=message)
    draft, errors = _offer_draft(data=data, offer=offer, refs=refs)
    if errors:
        raise InvalidInput([ErrorItem(field=e.field or None, message=e.message, code=e.code) for e in errors])
    if not offer_can_edit(user=user, organisation_id=draft.offer.organisation_id):
        raise PermissionDenied(message)
    with transaction.atomic():
        return _offer_save(draft) if draft.changed else draft.offer


def offer_delete(*, user, offer: Offer) -> None:
    if not offer_can_edit(user=user, organisation_id=offer.organisation_id):
        raise PermissionDenied(gettext("You can only delete the offers of the organisations you are an editor of."))
    with transaction.atomic():
        offer_id = offer.pk
        offer.delete()
        catalogue_changed(public=offer.status == OfferStatus.PUBLISHED, removed=[offer_id])


def offer_search_text_refresh(*, offer: Offer) -> None:
    """Recompute the search text after its themes changed outside `_offer_save` (the admin saves them last)."""
    search_text = offer_search_text(offer=offer, themes=list(offer.themes.all()))
    if search_text != offer.search_text:
        Offer.objects.filter(pk=offer.pk).update(search_text=search_text)
        offer.search_text = search_text
        catalogue_changed(public=offer.status == OfferStatus.PUBLISHED, offers=[offer.pk])
