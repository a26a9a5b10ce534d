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


_offer_sequence = itertools.count(1)


def make_offer(*, organisation, **overrides):
    """An offer written through the service (so search text, defaults and rules are the real ones)."""
    from offers.services import offer_create

    number = next(_offer_sequence)
    data = {
        "title": f"Offre {number}",
        "description": "Une offre du territoire.",
        "domain": "daily-life",
        "themes": ["childcare"],
        "organisation": organisation.slug,
        "commune": "23096",
        "is_free": True,
        "status": "published",
        **overrides,
    }
    return offer_create(user=None, data=data)
