"""Small factory functions for offers-app objects."""

import itertools

from django.utils.text import slugify

from offers.models import Organisation, OrganisationKind, Territory
from offers.services import taxonomy_load, territories_load_geojson

_sequence = itertools.count(1)


def reference_ensure() -> None:
    """Load the Creuse territories and the taxonomy unless they are there (a flushed database has lost them)."""
    if not Territory.objects.filter(kind="commune", code="23096").exists():
        territories_load_geojson()
        taxonomy_load()


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


# Two data·inclusion services: one job service of the Grand Guéret, one childcare service of the whole département.
DATA_INCLUSION_SERVICES = [
    {
        "source": "dora",
        "id": "dora--svc-1",
        "structure_id": "dora--42",
        "nom": "Aide à la recherche d'emploi",
        "description": "Accompagnement individuel des demandeurs d'emploi : CV, candidatures, entretiens.",
        "date_maj": "2025-02-14",
        "thematiques": [
            "trouver-un-emploi--repondre-a-des-offres-demploi",
            "preparer-sa-candidature--realiser-un-cv-et-ou-une-lettre-de-motivation",
        ],
        "publics": ["demandeurs-emploi", "jeunes"],
        "frais": "gratuit",
        "zone_eligibilite": ["200034825"],
        "code_insee": "23096",
        "latitude": 46.171,
        "longitude": 1.871,
        "lien_source": "https://dora.inclusion.beta.gouv.fr/services/svc-1",
        "telephone": "05 55 00 00 00",
        "courriel": "contact@example.org",
    },
    {
        "source": "france-travail",
        "id": "ft--garde",
        "structure_id": "ft--1",
        "nom": "Garde d'enfants pour parents en reprise d'emploi",
        "description": "Solutions de garde pendant la reprise d'emploi.",
        "date_maj": "2025-03-01",
        "thematiques": ["famille--garde-denfants", "trouver-un-emploi--maintien-dans-lemploi"],
        "publics": ["tous-publics"],
        "frais": "payant",
        "frais_precisions": "Selon quotient familial",
        "zone_eligibilite": ["23"],
        "code_insee": "23008",
    },
]
