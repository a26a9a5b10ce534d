"""OpenAPI examples of the matching app's bodies (runs, per-need results, search, reports): one succeeded run on
the families' needs of the Grand Guéret, attached to the serializers with `extend_schema_serializer`."""

from api.examples import STAMP, error, request, response

RUN_ID = "5f0c6a9e-8d1b-4c3e-9a57-2b8e4f1d7c60"
BASELINE_RUN_ID = "0b7d3e52-61a4-4f8e-b2c9-7a1e5d9c3f28"

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

TOO_MANY_RUNS_EXAMPLES = [
    error(
        409,
        "too_many_runs",
        "Too many active runs: the caller's own limit, or the limit in all",
        "You already have 2 active matching runs (queued or running); the limit is 2 per user "
        "(DJANGO_MAX_ACTIVE_RUNS_PER_USER). Launch this one when one of them has finished.",
    )
]

# A run whose second chunk scored after three catalogue edits committed during the run.
CATALOGUE_STATES = {
    "at_start": 4180,
    "first": 4180,
    "last": 4183,
    "used": [
        {"state": 4180, "version": "live-4180-tfidf-3", "chunks": 1},
        {"state": 4183, "version": "live-4183-tfidf-3", "chunks": 1},
    ],
}

MATCHING_RUN_EXAMPLES = [
    response(
        "A succeeded run",
        {
            "id": RUN_ID,
            "url": f"https://api.ancrage.example/api/v1/matching/runs/{RUN_ID}/",
            "needs_url": f"https://api.ancrage.example/api/v1/matching/runs/{RUN_ID}/needs/",
            "status": "succeeded",
            "status_label": "Terminé",
            "progress": {"needs_done": 64, "needs_total": 64, "chunks_done": 2, "chunks_total": 2, "percent": 100.0},
            "scope_territory": "200034825",
            "scope_audiences": ["families"],
            "scope_domains": ["daily-life"],
            "parameters": {"ipa_rule": "mean", "max_attempts": 3},
            "reference_date": "2025-05-12",
            "algorithm_version": "1.0",
            "chunk_size": 32,
            "snapshot": {"offers": 312, "needs": 64, "catalogue_version": "2025-05-12T07:12:40Z"},
            "catalogue_states": CATALOGUE_STATES,
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
    "stage": "welcome",
    "coverage": 0.4,
    "gap": 0.51,
    "best_relevance": 0.62,
    "recommendation": "adjust",
    "recommendation_label": "Adapter l'offre existante",
    "reasons": [
        {
            "code": "capacity",
            "message": "1 offre(s) pertinente(s) mais de capacité insuffisante pour la demande (120) : « Crèche "
            "Les Lutins ». Adapter ces offres couvrirait le besoin.",
            "offers": [42],
            "constraint": "capacity",
        }
    ],
    "ipa_quadrant": "concentrate-here",
    "ipa_quadrant_label": "Concentrer les efforts",
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
                    "matched_words": ["crèche", "enfants"],
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
                    "score": 0.75,
                    "breakdown": {
                        "relevance": 0.75,
                        "text": 0.58,
                        "semantic": 0.71,
                        "theme": 1.0,
                        "audience": 1.0,
                        "geography": 1.0,
                        "availability": 1.0,
                        "capacity": 1.0,
                        "matched_words": ["garder"],
                        "themes": [{"code": "childcare", "label": "Garde d'enfants", "confidence": 0.82}],
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
    "population": 29000,
    "offer_count": 12,
    "demand_volume_per_1000": 4.1379,
    "gap_per_1000": 0.03,
    "offers_per_10000": 4.1379,
    "top_gaps": [
        {
            "need_id": 7,
            "statement": "Trouver une place en crèche près de Guéret",
            "gap": 0.51,
            "coverage": 0.4,
            "importance": 0.85,
            "recommendation": "adjust",
            "recommendation_label": "Adapter l'offre existante",
            "audience_label": "Familles avec enfants",
            "territory_label": "Communauté d'agglomération du Grand Guéret",
        }
    ],
}
MATCHING_REPORT_EXAMPLES = [
    response(
        "Gaps by domain",
        {
            "run": RUN_ID,
            "catalogue_states": CATALOGUE_STATES,
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

_STATUS_COUNTS = {
    "opened": 0,
    "closed": 1,
    "grew": 0,
    "shrank": 1,
    "unchanged": 3,
    "new": 0,
    "removed": 0,
    "out_of_scope": 0,
}
_GRAND_GUERET_FAMILIES = {
    "territory": "200034825",
    "territory_label": "CA du Grand Guéret",
    "audiences": ["families"],
    "domains": ["daily-life"],
}
_COMPARE_BODY = {
    "run": RUN_ID,
    "baseline": BASELINE_RUN_ID,
    "scope": _GRAND_GUERET_FAMILIES,
    "baseline_scope": _GRAND_GUERET_FAMILIES,
    "group_by": ["domain"],
    "territory_level": "epci",
    "gap_floor": 0.05,
    "gap_delta": 0.05,
    "scopes_differ": False,
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
            "out_of_scope": "Hors du périmètre commun",
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
            "baseline_need_id": 4,
            "importance_before": 0.88,
            "importance_after": 0.9,
            "satisfaction_before": 0.31,
            "satisfaction_after": 0.44,
            "coverage_before": 0.0,
            "coverage_after": 0.4,
            "recommendation_before": "create",
            "recommendation_after": "adjust",
            "recommendation_before_label": "Créer une offre",
            "recommendation_after_label": "Adapter l'offre existante",
        }
    ],
}
_OUT_OF_SCOPE_COUNTS = {**_STATUS_COUNTS, "out_of_scope": 41}
MATCHING_COMPARE_EXAMPLES = [
    response("After the new crèche opened", _COMPARE_BODY),
    response(
        "Against a baseline on every need: the scopes differ",
        {
            **_COMPARE_BODY,
            "baseline_scope": {"territory": None, "territory_label": None, "audiences": [], "domains": []},
            "scopes_differ": True,
            "summary": {**_COMPARE_BODY["summary"], "statuses": _OUT_OF_SCOPE_COUNTS},
            "needs": [
                *_COMPARE_BODY["needs"],
                {
                    "need_id": 31,
                    "statement": "Trouver un emploi saisonnier à Aubusson",
                    "domain_code": "jobs",
                    "audience_code": "young-workers",
                    "status": "out_of_scope",
                    "status_label": "Hors du périmètre commun",
                    "gap_before": 0.42,
                    "gap_after": None,
                    "gap_delta": -0.42,
                    "baseline_need_id": 31,
                    "importance_before": 0.7,
                    "importance_after": None,
                    "satisfaction_before": 0.4,
                    "satisfaction_after": None,
                    "coverage_before": 0.3,
                    "coverage_after": None,
                    "recommendation_before": "adjust",
                    "recommendation_after": None,
                    "recommendation_before_label": "Adapter l'offre existante",
                    "recommendation_after_label": None,
                },
            ],
        },
        name="scopes-differ",
    ),
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

MATCHING_MAP_EXAMPLES = [
    response(
        "The gap by intercommunality of a Creuse run",
        {
            "run": RUN_ID,
            "baseline": None,
            "level": "epci",
            "areas": [
                {
                    "code": "200034825",
                    "label": "CA du Grand Guéret",
                    "gap_total": 4.82,
                    "before": None,
                    "after": None,
                    "change": None,
                    "latitude": 46.17,
                    "longitude": 1.87,
                },
                {
                    "code": "200035103",
                    "label": "CC Creuse Sud Ouest",
                    "gap_total": 3.1,
                    "before": None,
                    "after": None,
                    "change": None,
                    "latitude": 45.98,
                    "longitude": 1.78,
                },
            ],
            "wider_areas": [
                {
                    "code": "departement:23",
                    "label": "Creuse",
                    "gap_total": 1.25,
                    "before": None,
                    "after": None,
                    "change": None,
                }
            ],
        },
    ),
    response(
        "The change of the gap by intercommunality since a baseline run",
        {
            "run": RUN_ID,
            "baseline": BASELINE_RUN_ID,
            "level": "epci",
            "areas": [
                {
                    "code": "200034825",
                    "label": "CA du Grand Guéret",
                    "gap_total": 3.02,
                    "before": 4.82,
                    "after": 3.02,
                    "change": -1.8,
                    "latitude": 46.17,
                    "longitude": 1.87,
                },
                {
                    "code": "200035103",
                    "label": "CC Creuse Sud Ouest",
                    "gap_total": 3.6,
                    "before": 3.1,
                    "after": 3.6,
                    "change": 0.5,
                    "latitude": 45.98,
                    "longitude": 1.78,
                },
            ],
            "wider_areas": [],
        },
    ),
]
