"""OpenAPI examples of the offers app's bodies (territories, taxonomy, offers, organisations): Guéret, its
agglomeration and its crèche, attached to the serializers with `extend_schema_serializer`."""

from api.examples import STAMP, request, response

TERRITORY_EXAMPLES = [
    response(
        "Guéret",
        {
            "kind": "commune",
            "code": "23096",
            "qualified_code": "commune:23096",
            "name": "Guéret",
            "parent_code": "epci:200034825",
            "latitude": 46.1697,
            "longitude": 1.8708,
            "population": 12955,
            "postal_codes": ["23000"],
            "retired": False,
            "successor_code": None,
            "members": [],
        },
    ),
    response(
        "A commune merged into another",
        {
            "kind": "commune",
            "code": "23023",
            "qualified_code": "commune:23023",
            "name": "Blaudeix",
            "parent_code": "epci:200067544",
            "latitude": 46.2366,
            "longitude": 2.0915,
            "population": None,
            "postal_codes": ["23140"],
            "retired": True,
            "successor_code": "commune:23149",
            "members": [],
        },
    ),
]

# Custom territories ------------------------------------------------------------------------------------------------

CUSTOM_TERRITORY_WRITE_EXAMPLES = [
    request(
        "Two EPCIs promoting together",
        {
            "kind": "custom",
            "code": "gueret-sud-ouest",
            "name": "Grand Guéret et Creuse Sud Ouest",
            "members": ["epci:200034825", "epci:200067189"],
        },
    ),
    request("Add a commune", {"members": ["epci:200034825", "epci:200067189", "23176"]}, name="add-a-commune"),
]

TAXONOMY_EXAMPLES = [
    response(
        "Daily life and families",
        {
            "domains": [
                {
                    "code": "daily-life",
                    "label": "Vie quotidienne",
                    "description": "Garde d'enfants, écoles, santé, mobilité, commerces et services du quotidien.",
                    "themes": [
                        {
                            "code": "childcare",
                            "label": "Garde d'enfants",
                            "keywords": "crèche micro-crèche assistante maternelle nounou garde bébé",
                        },
                    ],
                }
            ],
            "audiences": [
                {"code": "families", "label": "Familles avec enfants", "description": "Ménages avec enfants."}
            ],
        },
    )
]

_OFFER_FIELDS = {
    "title": "Crèche multi-accueil de Guéret",
    "description": "Accueil régulier et occasionnel des enfants de 10 semaines à 4 ans, du lundi au vendredi.",
    "domain": "daily-life",
    "themes": ["childcare"],
    "organisation": "ca-grand-gueret",
    "commune": "23096",
    "latitude": 46.1712,
    "longitude": 1.8725,
    "remote": False,
    "service_area": ["epci:200034825"],
    "audiences": ["families"],
    "is_free": False,
    "price_amount": "1.20",
    "price_details": "Tarif horaire selon le quotient familial (barème CAF)",
    "capacity": 40,
    "capacity_unit": "places",
    "available_from": "2025-01-06",
    "available_until": None,
    "status": "published",
    "url": "https://www.agglo-grandgueret.fr/petite-enfance",
    "contact": "05 55 41 04 48",
    "accessibility": "Locaux de plain-pied, accessibles en fauteuil roulant.",
    "source": "manual",
    "external_id": "creche-gueret",
}

OFFER_EXAMPLES = [
    response(
        "Crèche multi-accueil de Guéret",
        {
            "id": 42,
            **_OFFER_FIELDS,
            "organisation_name": "Communauté d'agglomération du Grand Guéret",
            "commune_name": "Guéret",
            "origin": None,
            "source_url": "",
            "last_sync": None,
            "created_at": STAMP,
            "updated_at": STAMP,
            "distance_km": None,
        },
    )
]

_REMOTE_OFFER_FIELDS = {
    **_OFFER_FIELDS,
    "title": "Ateliers en ligne : préparer ses entretiens d'embauche",
    "description": "Ateliers collectifs en visioconférence, chaque semaine, pour les demandeurs d'emploi.",
    "domain": "jobs",
    "themes": ["salaried-job", "training"],
    "organisation": "france-travail-gueret",
    "commune": None,
    "latitude": None,
    "longitude": None,
    "remote": True,
    "service_area": ["FR"],
    "audiences": ["jobseekers"],
    "is_free": True,
    "price_amount": None,
    "price_details": "",
    "capacity": None,
    "capacity_unit": "",
    "url": "https://www.francetravail.fr/",
    "contact": "3949",
    "accessibility": "",
    "external_id": "ateliers-entretien",
}

OFFER_EXAMPLES.append(
    response(
        "A remote service for all of France (no place)",
        {
            "id": 43,
            **_REMOTE_OFFER_FIELDS,
            "service_area": ["country:FR"],
            "organisation_name": "France Travail Guéret",
            "commune_name": None,
            "origin": None,
            "source_url": "",
            "last_sync": None,
            "created_at": STAMP,
            "updated_at": STAMP,
            "distance_km": None,
        },
        name="remote",
    )
)

OFFER_WRITE_EXAMPLES = [
    request(
        "Crèche multi-accueil de Guéret",
        {**_OFFER_FIELDS, "service_area": ["200034825"], "organisation": "ca-grand-gueret"},
    ),
    request("A remote service for all of France (no place)", _REMOTE_OFFER_FIELDS, name="remote"),
]

OFFER_IMPORT_REPORT_EXAMPLES = [
    response(
        "A catalogue file imported", {"created": 12, "updated": 3, "unchanged": 27, "total": 42, "dry_run": False}
    )
]

ORGANISATION_EXAMPLES = [
    response(
        "Grand Guéret agglomeration",
        {
            "slug": "ca-grand-gueret",
            "name": "Communauté d'agglomération du Grand Guéret",
            "kind": "local-authority",
            "territory": "epci:200034825",
            "territory_name": "CA du Grand Guéret",
            "email": "contact@agglo-grandgueret.fr",
            "phone": "05 55 41 04 48",
            "website": "https://www.agglo-grandgueret.fr/",
            "created_at": STAMP,
            "updated_at": STAMP,
        },
    ),
    request(
        "Grand Guéret agglomeration",
        {
            "slug": "ca-grand-gueret",
            "name": "Communauté d'agglomération du Grand Guéret",
            "kind": "local-authority",
            "territory": "200034825",
            "email": "contact@agglo-grandgueret.fr",
            "phone": "05 55 41 04 48",
            "website": "https://www.agglo-grandgueret.fr/",
        },
    ),
]

ACCOUNT_EXAMPLES = [
    response(
        "An analyst of the Grand Guéret agglomeration",
        {
            "username": "analyste-gueret",
            "is_admin": False,
            "is_analyst": True,
            "organisations": [],
            "territories": [
                {
                    "qualified_code": "epci:200034825",
                    "name": "CA du Grand Guéret",
                    "kind": "epci",
                }
            ],
            "sees_every_territory": False,
        },
    ),
    response(
        "An editor (no strategy material)",
        {
            "username": "editeur",
            "is_admin": False,
            "is_analyst": False,
            "organisations": ["office-de-tourisme-du-grand-gueret"],
            "territories": [],
            "sees_every_territory": False,
        },
        name="editor",
    ),
]

# Sources and their syncs --------------------------------------------------------------------------------------------

_SOURCE_FIELDS = {
    "code": "france-travail-creuse",
    "name": "Offres d'emploi France Travail en Creuse",
    "organisation": "ca-grand-gueret",
    "format": "france_travail",
    "url": "https://exports.example.org/france-travail/creuse.json",
    "theme_mapping": {"K2111": ["training"]},
    "failure_share_max": 0.05,
    "fetch_timeout_seconds": 60,
}

SOURCE_EXAMPLES = [
    response(
        "France Travail job offers of the Creuse",
        {
            "id": 3,
            **_SOURCE_FIELDS,
            "organisation_name": "Communauté d'agglomération du Grand Guéret",
            "default_theme_mapping": {"K2111": ["training"], "J1501": ["salaried-job"]},
            "offers": 812,
            "last_sync": 41,
            "created_at": STAMP,
            "updated_at": STAMP,
        },
    ),
    request("France Travail job offers of the Creuse", _SOURCE_FIELDS),
]

SOURCE_SYNC_EXAMPLES = [
    response(
        "A sync that skipped two records",
        {
            "id": 41,
            "source": "france-travail-creuse",
            "trigger": "url",
            "status": "succeeded",
            "phase": "",
            "progress": {"records_read": 814, "records_checked": 814, "records_total": 814},
            "counts": {"created": 12, "updated": 30, "archived": 9, "unchanged": 761, "skipped": 2},
            "skipped_records": [
                {
                    "position": 17,
                    "external_id": "187XKPL",
                    "code": "unknown_commune",
                    "message": "No commune has the INSEE code '99999'.",
                },
                {
                    "position": 402,
                    "external_id": None,
                    "code": "no_identifier",
                    "message": "The record has no identifier.",
                },
            ],
            "failure": None,
            "catalogue_version": 1532,
            "requested_by": "editor-gueret",
            "requested_at": STAMP,
            "started_at": STAMP,
            "finished_at": STAMP,
        },
        status_codes=(200, 202),
    ),
    response(
        "A sync that failed whole",
        {
            "id": 42,
            "source": "france-travail-creuse",
            "trigger": "url",
            "status": "failed",
            "phase": "",
            "progress": {"records_read": 0, "records_checked": 0, "records_total": None},
            "counts": {"created": 0, "updated": 0, "archived": 0, "unchanged": 0, "skipped": 0},
            "skipped_records": [],
            "failure": {
                "code": "timeout",
                "message": "The source did not send its file within 60 s "
                "(https://exports.example.org/france-travail/creuse.json).",
            },
            "catalogue_version": None,
            "requested_by": "editor-gueret",
            "requested_at": STAMP,
            "started_at": STAMP,
            "finished_at": STAMP,
        },
        status_codes=(200,),
        name="failed-sync",
    ),
]
