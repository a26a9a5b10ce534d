"""Organisations, the providers of offers: admins write them; their editors keep their contact fields up to date."""

from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext, ngettext
from rest_framework.exceptions import PermissionDenied

from api.exceptions import Conflict, ErrorItem, InvalidInput
from api.model_update import model_update
from api.permissions import is_admin
from offers.models import Organisation, Territory
from offers.selectors import territory_resolve
from offers.services.offers import offer_can_edit
from offers.services.reference_data import catalogue_changed

ORGANISATION_FIELDS = ("name", "slug", "kind", "territory", "email", "phone", "website")
ORGANISATION_CONTACT_FIELDS = ("email", "phone", "website")


def organisation_save(*, user, data: dict, organisation: Organisation | None = None) -> Organisation:
    """Create or change an organisation. Admins change everything; an editor of the organisation may change its
    contact fields (email, phone, website) only, since they are the ones who see them go stale."""
    if not is_admin(user):
        allowed = organisation is not None and offer_can_edit(user=user, organisation_id=organisation.pk)
        if not allowed:
            raise PermissionDenied(
                gettext("Only administrators can create organisations or change other organisations.")
            )
        forbidden = sorted(set(data) - set(ORGANISATION_CONTACT_FIELDS))
        if forbidden:
            raise PermissionDenied(
                gettext("Editors can change the contact fields (email, phone, website) only, not %(fields)s.")
                % {"fields": ", ".join(forbidden)}
            )
    organisation = organisation or Organisation()
    errors: list[ErrorItem] = []
    values = {}
    for name, value in data.items():
        if name not in ORGANISATION_FIELDS:
            continue
        if name == "territory":
            try:
                value = territory_resolve(code=value.qualified_code if isinstance(value, Territory) else value)
            except InvalidInput as exc:
                errors.extend(exc.errors)
                continue
        values[name] = value
    model_update(instance=organisation, data=values, save=False)
    if not organisation.slug and organisation.name:
        organisation.slug = slugify(organisation.name)[:80]
    if errors:
        raise InvalidInput(errors)
    organisation.full_clean(exclude=["territory"] if organisation.territory_id else None)
    with transaction.atomic():
        organisation.save()
        catalogue_changed()  # offers show their organisation's name
    return organisation


def organisation_delete(*, user, organisation: Organisation) -> None:
    if not is_admin(user):
        raise PermissionDenied(gettext("Only administrators can delete organisations."))
    count = organisation.offers.count()
    if count:
        raise Conflict(
            ngettext(
                "The organisation %(organisation)s still has %(count)s offer; delete or move it first.",
                "The organisation %(organisation)s still has %(count)s offers; delete or move them first.",
                count,
            )
            % {"organisation": repr(organisation.slug), "count": count}
        )
    with transaction.atomic():
        organisation.delete()
        catalogue_changed()
