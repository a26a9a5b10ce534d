"""Small factory functions for offers-app objects."""

import itertools

from django.utils.text import slugify

from offers.models import Organisation, OrganisationKind, Territory

_sequence = itertools.count(1)


def make_organisation(*, name: str | None = None, territory_code: str = "23096", kind=OrganisationKind.ASSOCIATION):
    number = next(_sequence)
    name = name or f"Organisation {number}"
    return Organisation.objects.create(
        name=name,
        slug=f"{slugify(name)[:60]}-{number}",
        kind=kind,
        territory=Territory.objects.get(code=territory_code),
    )
