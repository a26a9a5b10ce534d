"""OpenAPI examples of the main request and response bodies: realistic data of the Creuse (Guéret, its
agglomeration, the demo organisations), attached to the serializers with `extend_schema_serializer`."""

from drf_spectacular.utils import OpenApiExample

RUN_ID = "5f0c6a9e-8d1b-4c3e-9a57-2b8e4f1d7c60"
BASELINE_RUN_ID = "0b7d3e52-61a4-4f8e-b2c9-7a1e5d9c3f28"
STAMP = "2025-05-12T09:30:00+02:00"


def response(summary: str, value, *, status_codes=(200, 201), name: str | None = None) -> OpenApiExample:
    return OpenApiExample(
        name or summary, summary=summary, value=value, response_only=True, status_codes=[str(c) for c in status_codes]
    )


def request(summary: str, value, *, name: str | None = None) -> OpenApiExample:
    return OpenApiExample(name or summary, summary=summary, value=value, request_only=True)


# Errors: one example per status, so each error response of the schema shows its own case. ----------------------


def error(status: int, code: str, summary: str, message: str, errors: tuple = ()) -> OpenApiExample:
    body = {"status": status, "code": code, "message": message, "errors": list(errors)}
    return response(summary, body, status_codes=[status], name=code)


ERROR_EXAMPLES = [
    error(
        400,
        "invalid",
        "Invalid input: every problem, with its field",
        "The request is invalid; see errors.",
        (
            {"field": "commune", "line": None, "code": "not_found", "message": "No commune has the code '23999'."},
            {"field": "themes.0", "line": None, "code": "invalid", "message": "Unknown theme 'creche'."},
        ),
    ),
    error(401, "not_authenticated", "Missing or unknown token", "Authentication credentials were not provided."),
    error(
        403,
        "permission_denied",
        "Role not allowed",
        "This resource is reserved to analysts: your account does not have the analyst role.",
    ),
    error(404, "not_found", "Unknown resource", "No territory has the code '99999'."),
    error(
        409,
        "conflict",
        "Resource in a state that refuses the request",
        "The run has not succeeded yet: its report is not available.",
    ),
    error(413, "payload_too_large", "File too large", "The file is 12,582,912 bytes; the limit is 10,485,760 bytes."),
    error(
        415,
        "unsupported_media_type",
        "Body in a media type the operation does not read",
        'Unsupported media type "text/plain" in request.',
    ),
    error(429, "throttled", "Too many requests", "Request was throttled. Expected available in 42 seconds."),
]

# Cross-cutting ----------------------------------------------------------------------------------------------------

HEALTH_EXAMPLES = [
    response("Healthy", {"status": "ok", "database": "ok", "version": "1.0.0"}, status_codes=[200]),
    response(
        "Database unreachable",
        {"status": "unavailable", "database": "unavailable", "version": "1.0.0"},
        status_codes=[503],
    ),
]

API_ROOT_EXAMPLES = [
    response(
        "Entry points",
        {
            "name": "Ancrage API",
            "version": "1.0.0",
            "links": {
                "offers": "https://api.ancrage.example/api/v1/offers/",
                "territories": "https://api.ancrage.example/api/v1/territories/",
                "matching_search": "https://api.ancrage.example/api/v1/matching/search/",
                "schema": "https://api.ancrage.example/api/schema/",
            },
        },
    )
]

TOKEN_REQUEST_EXAMPLES = [request("Analyst credentials", {"username": "analyste", "password": "ancrage-demo"})]
TOKEN_RESPONSE_EXAMPLES = [response("A token", {"token": "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"})]

# Reference data and offers -------------------------------------------------------------------------------------------

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
        },
    )
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
            "created_at": STAMP,
            "updated_at": STAMP,
            "distance_km": None,
        },
    )
]

OFFER_WRITE_EXAMPLES = [
    request(
        "Crèche multi-accueil de Guéret",
        {**_OFFER_FIELDS, "service_area": ["200034825"], "organisation": "ca-grand-gueret"},
    )
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

# Audiences, needs, surveys ---------------------------------------------------------------------------------------

_AUDIENCE = {
    "code": "remote-workers",
    "label": "Télétravailleurs",
    "description": "Actifs qui travaillent à distance depuis la Creuse, à temps plein ou partiel.",
    "data_inclusion_codes": [],
    "position": 4,
}
AUDIENCE_EXAMPLES = [response("Remote workers", _AUDIENCE), request("Remote workers", _AUDIENCE)]

_NEED_FIELDS = {
    "audience": "families",
    "domain": "daily-life",
    "themes": ["childcare"],
    "statement": "Trouver une place en crèche près de Guéret",
    "territory": "epci:200034825",
    "stage": "welcome",
    "importance": 0.85,
    "satisfaction": 0.3,
    "demand_volume": 120,
    "source": "workshop",
    "source_reference": "Atelier familles, Guéret, mars 2025",
    "source_date": "2025-03-18",
    "external_id": "atelier-2025-creche",
}
# A hand-made need: no survey answers behind it.
_NO_SURVEY_STATISTICS = dict.fromkeys(
    (
        "response_count",
        "importance_ci_low",
        "importance_ci_high",
        "satisfaction_response_count",
        "satisfaction_ci_low",
        "satisfaction_ci_high",
    )
)
NEED_EXAMPLES = [
    response(
        "Childcare near Guéret",
        {
            "id": 7,
            **_NEED_FIELDS,
            "territory_name": "CA du Grand Guéret",
            "survey": None,
            "survey_item": None,
            **_NO_SURVEY_STATISTICS,
            "created_at": STAMP,
            "updated_at": STAMP,
        },
    ),
    request("Childcare near Guéret", {**_NEED_FIELDS, "territory": "200034825"}),
]

NEEDS_IMPORT_REPORT_EXAMPLES = [
    response("Needs imported", {"dry_run": False, "rows": 48, "created": 40, "updated": 6, "unchanged": 2})
]

NEED_EXPORT_EXAMPLES = [
    response(
        "One exported need",
        {
            **{key: value for key, value in _NEED_FIELDS.items() if key != "themes"},
            "themes": "childcare",
            "id": 7,
            **_NO_SURVEY_STATISTICS,
            "updated_at": STAMP,
        },
    )
]

_SURVEY_FIELDS = {
    "title": "Enquête besoins des nouveaux habitants du Grand Guéret",
    "reference": "ENQ-2025-GG",
    "date": "2025-03-01",
    "audiences": ["families", "remote-workers"],
    "scale_min": 1,
    "scale_max": 5,
    "items": [
        {
            "code": "creche",
            "domain": "daily-life",
            "themes": ["childcare"],
            "statement": "Trouver une place en crèche près de chez soi",
            "measures_importance": True,
            "measures_satisfaction": True,
            "stage": "welcome",
        }
    ],
}
SURVEY_EXAMPLES = [
    response(
        "Newcomers' survey",
        {
            "id": 3,
            **_SURVEY_FIELDS,
            "response_count": 412,
            "respondent_count": 206,
            "created_at": STAMP,
            "updated_at": STAMP,
        },
    ),
    request("Newcomers' survey", _SURVEY_FIELDS),
]

SURVEY_RESPONSES_REPORT_EXAMPLES = [
    response(
        "Responses uploaded and needs recomputed",
        {
            "rows": 412,
            "responses_created": 400,
            "responses_updated": 12,
            "responses_unchanged": 0,
            "needs_created": 8,
            "needs_updated": 2,
            "needs_unchanged": 0,
            "needs_deleted": 0,
        },
    )
]

# Matching --------------------------------------------------------------------------------------------------------

MATCHING_RUN_CREATE_EXAMPLES = [
    request(
        "Families' needs in the Grand Guéret",
        {
            "scope_territory": "200034825",
            "scope_audiences": ["families"],
            "scope_domains": ["daily-life"],
            "parameters": {},
        },
    )
]

MATCHING_RUN_EXAMPLES = [
    response(
        "A succeeded run",
        {
            "id": RUN_ID,
            "url": f"https://api.ancrage.example/api/v1/matching/runs/{RUN_ID}/",
            "needs_url": f"https://api.ancrage.example/api/v1/matching/runs/{RUN_ID}/needs/",
            "status": "succeeded",
            "progress": {"needs_done": 64, "needs_total": 64, "chunks_done": 1, "chunks_total": 1, "percent": 100.0},
            "scope_territory": "200034825",
            "scope_audiences": ["families"],
            "scope_domains": ["daily-life"],
            "parameters": {"ipa_rule": "mean", "max_attempts": 3},
            "reference_date": "2025-05-12",
            "algorithm_version": "1.0",
            "chunk_size": 500,
            "snapshot": {"offers": 312, "needs": 64, "catalogue_version": "2025-05-12T07:12:40Z"},
            "timings": {"index": 0.84, "score": 1.92},
            "error": "",
            "launched_by": "analyste",
            "created_at": STAMP,
            "started_at": STAMP,
            "finished_at": "2025-05-12T09:30:03+02:00",
        },
        status_codes=[200, 202],
    )
]

_NEED_RESULT = {
    "id": 1031,
    "url": f"https://api.ancrage.example/api/v1/matching/runs/{RUN_ID}/needs/1031/",
    "need": 7,
    "statement": "Trouver une place en crèche près de Guéret",
    "audience_code": "families",
    "domain_code": "daily-life",
    "theme_codes": ["childcare"],
    "territory_path": "r75/d23/e200034825/",
    "epci_code": "200034825",
    "commune_code": "",
    "importance": 0.85,
    "satisfaction": 0.3,
    "demand_volume": 120,
    "coverage": 0.4,
    "gap": 0.51,
    "best_relevance": 0.62,
    "recommendation": "adjust",
    "reasons": [
        {
            "code": "capacity",
            "message": "L'offre la plus pertinente est complète : 40 places pour 120 familles.",
            "offers": [42],
            "constraint": "capacity",
        }
    ],
    "ipa_quadrant": "concentrate-here",
    "ipa_gap": 0.55,
}
NEED_RESULT_EXAMPLES = [response("Childcare: adjust the existing offer", _NEED_RESULT)]
NEED_RESULT_DETAIL_EXAMPLES = [
    response(
        "Childcare: adjust the existing offer",
        {
            **_NEED_RESULT,
            "matched_offers": [
                {
                    "rank": 1,
                    "offer": 42,
                    "offer_title": "Crèche multi-accueil de Guéret",
                    "score": 0.4,
                    "relevance": 0.62,
                    "text": 0.58,
                    "theme": 1.0,
                    "audience": 1.0,
                    "geography": 1.0,
                    "availability": 1.0,
                    "capacity": 0.33,
                    "distance_km": 1.2,
                }
            ],
        },
    )
]

MATCHING_SEARCH_EXAMPLES = [
    request(
        "A newcomer's own words",
        {"text": "faire garder mon bébé près de Guéret", "audience": "families", "territory": "23096", "limit": 5},
    )
]
MATCHING_SEARCH_RESPONSE_EXAMPLES = [
    response(
        "Childcare offers around Guéret",
        {
            "count": 1,
            "results": [
                {
                    "id": 42,
                    "title": "Crèche multi-accueil de Guéret",
                    "commune": {"code": "23096", "name": "Guéret"},
                    "distance_km": 0.3,
                    "score": 0.81,
                    "breakdown": {
                        "relevance": 0.64,
                        "text": 0.58,
                        "theme": None,
                        "audience": 1.0,
                        "geography": 1.0,
                        "availability": 1.0,
                        "capacity": 1.0,
                    },
                }
            ],
        },
    )
]

_FIGURES = {
    "need_count": 2,
    "importance_total": 1.55,
    "demand_volume_total": 120,
    "demand_volume_known": 1,
    "coverage_mean": 0.45,
    "gap_total": 0.87,
    "gap_mean": 0.435,
    "satisfaction_mean": 0.3,
    "recommendations": {"create": 1, "adjust": 1, "promote": 0, "maintain": 0},
    "top_gaps": [
        {
            "need_id": 7,
            "statement": "Trouver une place en crèche près de Guéret",
            "gap": 0.51,
            "coverage": 0.4,
            "importance": 0.85,
            "recommendation": "adjust",
            "recommendation_label": "Adapter l'offre existante",
        }
    ],
}
MATCHING_REPORT_EXAMPLES = [
    response(
        "Gaps by domain",
        {
            "run": RUN_ID,
            "group_by": ["domain"],
            "territory_level": "epci",
            "top": 1,
            "totals": _FIGURES,
            "groups": [
                {**_FIGURES, "dimensions": [{"dimension": "domain", "code": "daily-life", "label": "Vie quotidienne"}]}
            ],
        },
    )
]

_STATUS_COUNTS = {"opened": 0, "closed": 1, "grew": 0, "shrank": 1, "unchanged": 3, "new": 0, "removed": 0}
MATCHING_COMPARE_EXAMPLES = [
    response(
        "After the new crèche opened",
        {
            "run": RUN_ID,
            "baseline": BASELINE_RUN_ID,
            "group_by": ["domain"],
            "territory_level": "epci",
            "gap_floor": 0.05,
            "gap_delta": 0.05,
            "summary": {
                "statuses": _STATUS_COUNTS,
                "status_labels": {
                    "opened": "Écart apparu",
                    "closed": "Écart résorbé",
                    "grew": "Écart creusé",
                    "shrank": "Écart réduit",
                    "unchanged": "Stable",
                    "new": "Nouveau besoin",
                    "removed": "Besoin retiré",
                },
                "gap_before_total": 1.62,
                "gap_after_total": 0.87,
                "gap_delta": -0.75,
            },
            "groups": [
                {
                    "dimensions": [{"dimension": "domain", "code": "daily-life", "label": "Vie quotidienne"}],
                    "need_count": 5,
                    "gap_before_total": 1.62,
                    "gap_after_total": 0.87,
                    "gap_delta": -0.75,
                    "statuses": _STATUS_COUNTS,
                }
            ],
            "needs": [
                {
                    "need_id": 7,
                    "statement": "Trouver une place en crèche près de Guéret",
                    "domain_code": "daily-life",
                    "audience_code": "families",
                    "status": "shrank",
                    "status_label": "Écart réduit",
                    "gap_before": 0.85,
                    "gap_after": 0.51,
                    "gap_delta": -0.34,
                    "coverage_before": 0.0,
                    "coverage_after": 0.4,
                    "recommendation_before": "create",
                    "recommendation_after": "adjust",
                    "recommendation_before_label": "Créer une offre",
                    "recommendation_after_label": "Adapter l'offre existante",
                }
            ],
        },
    )
]

MATCHING_IPA_EXAMPLES = [
    response(
        "Importance-performance of the families' needs",
        {
            "run": RUN_ID,
            "crosshair": {"rule": "mean", "importance": 0.72, "satisfaction": 0.48},
            "quadrants": [
                {"code": "concentrate-here", "label": "Concentrer les efforts", "need_count": 1},
                {"code": "keep-up-the-good-work", "label": "Maintenir le bon travail", "need_count": 0},
                {"code": "low-priority", "label": "Faible priorité", "need_count": 0},
                {"code": "possible-overkill", "label": "Effort peut-être excessif", "need_count": 1},
                {"code": "", "label": "Non classé", "need_count": 0},
            ],
            "needs": [
                {
                    "need_id": 7,
                    "statement": "Trouver une place en crèche près de Guéret",
                    "domain_code": "daily-life",
                    "audience_code": "families",
                    "importance": 0.85,
                    "satisfaction": 0.3,
                    "quadrant": "concentrate-here",
                    "quadrant_label": "Concentrer les efforts",
                    "ipa_gap": 0.55,
                }
            ],
        },
    )
]
