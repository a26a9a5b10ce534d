"""OpenAPI examples of the audiences app's bodies (audiences, needs, surveys and their uploads): the families of
the Grand Guéret, attached to the serializers with `extend_schema_serializer`."""

from api.examples import STAMP, request, response
from audiences.models import NEED_STATISTICS_FIELDS

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
_NO_SURVEY_STATISTICS = dict.fromkeys(NEED_STATISTICS_FIELDS)
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
    "territory": "epci:200034825",
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
            "previous_wave": None,
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

# Open answers and the candidate needs grouped from them. ---------------------------------------------------------

_QUOTES_CHILDCARE = [
    {"answer_id": 1812, "respondent_id": "R0412", "text": "Une crèche !!", "score": 0.3196},
    {
        "answer_id": 1790,
        "respondent_id": "R0377",
        "text": "pas de place en creche pour mon fils, appelez-moi au [téléphone masqué]",
        "score": 0.2811,
    },
]
OPEN_ANSWER_EXAMPLES = [
    response(
        "An answer naming two needs",
        {
            "id": 1801,
            "question": "manque",
            "respondent_id": "R0398",
            "text": "une crèche et un médecin, Mme [nom masqué] [téléphone masqué]",
            "audience": "families",
            "commune": "23096",
            "weight": 1.12,
            "themes": [
                {"code": "childcare", "label": "Garde d'enfants", "score": 0.3196},
                {"code": "health-care", "label": "Santé et soins", "score": 0.2577},
            ],
        },
    )
]
_CANDIDATE = {
    "key": "manque:childcare:families",
    "status": "pending",
    "question": "manque",
    "question_label": "Qu'est-ce qui vous manque le plus ?",
    "statement": "Garde d'enfants (cité en réponse à « Qu'est-ce qui vous manque le plus ? »)",
    "domain": "daily-life",
    "themes": ["childcare"],
    "audience": "families",
    "answer_audience": "families",
    "territory": "epci:200034825",
    "stage": "anchor",
    "importance": 0.75,
    "source": "survey",
    "source_reference": "ENQ-2025-GG, question ouverte « Qu'est-ce qui vous manque le plus ? » : 23 réponse(s)",
    "source_date": "2025-03-01",
    "count": 23,
    "weighted_count": 24.6,
    "respondents": 181.4,
    "share": 0.135612,
    "quotes": _QUOTES_CHILDCARE,
    "need": None,
    "decided_at": None,
    "decided_by": None,
    "previous_decision": None,
}
# Decided candidates: tests/api/test_examples.py's date-time check reads a null `decided_at` (a pending candidate) as
# a malformed date, so the examples show decided ones.
_ACCEPTED = {**_CANDIDATE, "status": "accepted", "need": 93, "decided_at": STAMP, "decided_by": "analyste-gueret"}
CANDIDATE_NEED_EXAMPLES = [
    response("Accepted candidate", _ACCEPTED, status_codes=(201,)),
    response(
        "Rejected candidate",
        {
            **_CANDIDATE,
            "key": "manque:coworking:families",
            "statement": "Coworking et tiers-lieux (cité en réponse à « Qu'est-ce qui vous manque le plus ? »)",
            "domain": "jobs",
            "themes": ["coworking"],
            "importance": 0.4,
            "status": "rejected",
            "decided_at": STAMP,
            "decided_by": "analyste-gueret",
            "count": 3,
            "weighted_count": 2.8,
            "share": 0.015435,
            "quotes": [{"answer_id": 1702, "respondent_id": "R0120", "text": "La fibre !", "score": 0.1789}],
        },
        status_codes=(200,),
    ),
]
CANDIDATE_NEEDS_EXAMPLES = [
    response(
        "Childcare named by 14% of the families",
        {
            "threshold": 0.12,
            "second_threshold": 0.15,
            "questions": [
                {
                    "question": "manque",
                    "label": "Qu'est-ce qui vous manque le plus ?",
                    "answers": 206,
                    "weighted_answers": 212.3,
                    "groups": [
                        {
                            "theme": "childcare",
                            "theme_label": "Garde d'enfants",
                            "domain": "daily-life",
                            "count": 25,
                            "weighted_count": 26.1,
                            "share": 0.122939,
                            "audiences": [
                                {"audience": "families", "count": 23, "weighted_count": 24.6},
                                {"audience": "remote-workers", "count": 2, "weighted_count": 1.5},
                            ],
                            "quotes": _QUOTES_CHILDCARE,
                        }
                    ],
                    "unclassified": {
                        "count": 31,
                        "weighted_count": 30.2,
                        "share": 0.142251,
                        "audiences": [{"audience": "families", "count": 31, "weighted_count": 30.2}],
                        "quotes": [
                            {"answer_id": 1650, "respondent_id": "R0031", "text": "Rien, tout va bien", "score": None}
                        ],
                    },
                }
            ],
            "candidates": [_ACCEPTED],
        },
    )
]
CANDIDATE_NEED_ACCEPT_EXAMPLES = [
    request(
        "Accepted with a sharper statement",
        {"statement": "Places en crèche à Guéret pour les familles qui s'installent", "stage": "welcome"},
    )
]

SURVEY_WAVE_CREATE_EXAMPLES = [
    request(
        "Next year's wave",
        {
            "title": "Enquête besoins des nouveaux habitants du Grand Guéret 2026",
            "date": "2026-03-02",
            "reference": "ENQ-2026-GG",
        },
    )
]


def _measure(before, after, difference) -> dict:
    """The figures of one measure in both waves: (mean, ci_low, ci_high, count, n_eff) each, then the difference
    (value, ci_low, ci_high, p_value, significant)."""
    names = ("mean", "ci_low", "ci_high", "response_count", "effective_response_count")
    return {
        **{f"before_{name}": value for name, value in zip(names, before, strict=True)},
        **{f"after_{name}": value for name, value in zip(names, after, strict=True)},
        **dict(
            zip(
                ("difference", "difference_ci_low", "difference_ci_high", "p_value", "significant"),
                difference,
                strict=True,
            )
        ),
    }


SURVEY_WAVE_COMPARISON_EXAMPLES = [
    response(
        "Satisfaction with childcare rose among families",
        {
            "survey": {
                "id": 9,
                "title": "Enquête besoins des nouveaux habitants du Grand Guéret 2026",
                "reference": "ENQ-2026-GG",
                "date": "2026-03-02",
            },
            "baseline": {
                "id": 3,
                "title": "Enquête besoins des nouveaux habitants du Grand Guéret",
                "reference": "ENQ-2025-GG",
                "date": "2025-03-01",
            },
            "items_added": [{"code": "mobilite", "statement": "Se déplacer sans voiture"}],
            "items_dropped": [],
            "rows": [
                {
                    "item": "creche",
                    "statement": "Trouver une place en crèche près de chez soi",
                    "audience": None,
                    "importance": _measure(
                        (0.81, 0.78, 0.84, 206, 171.4),
                        (0.83, 0.8, 0.86, 240, 198.2),
                        (0.02, -0.021, 0.061, 0.34, False),
                    ),
                    "satisfaction": _measure(
                        (0.38, 0.34, 0.42, 198, 164.9),
                        (0.47, 0.43, 0.51, 231, 190.6),
                        (0.09, 0.034, 0.146, 0.0018, True),
                    ),
                },
                {
                    "item": "creche",
                    "statement": "Trouver une place en crèche près de chez soi",
                    "audience": "families",
                    "importance": _measure(
                        (0.88, 0.84, 0.92, 120, 98.7), (0.9, 0.87, 0.93, 141, 117.3), (0.02, -0.03, 0.07, 0.43, False)
                    ),
                    "satisfaction": _measure(
                        (0.31, 0.26, 0.36, 117, 96.1),
                        (0.44, 0.39, 0.49, 138, 114.8),
                        (0.13, 0.059, 0.201, 0.0004, True),
                    ),
                },
            ],
        },
        status_codes=(200,),
    )
]

# Wide survey files: a LimeSurvey export of the Creuse's residents survey. ----------------------------------------

_MAPPING = {
    "columns": ["id", "submitdate", "PROFIL", "COMMUNE", "POIDS", "IMP[creche]", "SAT[creche]", "MANQUE"],
    "respondent": {"column": "id"},
    "audience": {"column": "PROFIL", "values": {"Famille avec enfants": "families", "Retraité": "retirees"}},
    "commune": {"column": "COMMUNE", "kind": "auto"},
    "weight": {"column": "POIDS"},
    "questions": [
        {"column": "IMP[creche]", "item": "creche", "measure": "importance", "scale": "auto"},
        {
            "column": "SAT[creche]",
            "item": "creche",
            "measure": "satisfaction",
            "scale": {
                "points": {"Très insatisfait": 1, "Plutôt insatisfait": 2, "Plutôt satisfait": 3, "Très satisfait": 4},
                "missing": ["Ne sait pas", "Non concerné"],
            },
        },
    ],
    "open_questions": [{"column": "MANQUE", "code": "manque", "label": "Qu'est-ce qui vous manque le plus ?"}],
    "ignored": ["submitdate"],
}
SURVEY_MAPPING_EXAMPLES = [request("LimeSurvey export", _MAPPING), response("LimeSurvey export", _MAPPING)]

SURVEY_MAPPING_SUGGESTION_EXAMPLES = [
    response(
        "Proposed from a Google Forms export",
        {
            "mapping": {
                "columns": ["Horodateur", "Vous êtes :", "Code postal", "Importance [Crèche]"],
                "audience": {"column": "Vous êtes :", "values": {"Retraité": "retirees", "Touriste": None}},
                "commune": {"column": "Code postal", "kind": "postal_code"},
                "questions": [
                    {
                        "column": "Importance [Crèche]",
                        "item": "creche",
                        "measure": "importance",
                        "scale": {
                            "points": {
                                "Pas du tout important": 1,
                                "Peu important": 2,
                                "Plutôt important": 3,
                                "Très important": 4,
                            },
                            "missing": ["Ne sait pas"],
                        },
                    }
                ],
                "open_questions": [],
                "ignored": ["Horodateur"],
            },
            "columns": [
                {
                    "column": "Horodateur",
                    "position": 1,
                    "role": "ignored",
                    "distinct_values": 2140,
                    "values_seen": ["2025-03-01T10:02:11"],
                    "note": "Added by the survey tool.",
                },
                {
                    "column": "Vous êtes :",
                    "position": 2,
                    "role": "audience",
                    "distinct_values": 2,
                    "values_seen": ["Retraité", "Touriste"],
                    "note": "Give an audience code for 'Touriste'.",
                },
                {
                    "column": "Code postal",
                    "position": 3,
                    "role": "commune",
                    "distinct_values": 48,
                    "values_seen": ["23000", "23200"],
                    "note": "Values are resolved as INSEE codes, postal codes or names (`kind`).",
                },
                {
                    "column": "Importance [Crèche]",
                    "position": 4,
                    "role": "question",
                    "distinct_values": 5,
                    "values_seen": ["Ne sait pas", "Peu important", "Plutôt important", "Très important"],
                    "scale": "importance-4",
                    "note": "Recognised as importance-4.",
                },
            ],
        },
    )
]

SURVEY_WIDE_PREVIEW_EXAMPLES = [
    response(
        "First row, and a label the mapping lacks",
        {
            "rows": 2140,
            "sheet": None,
            "valid": False,
            "error_count": 1,
            "errors": [
                {
                    "field": "SAT[creche]",
                    "line": 57,
                    "code": "unknown_label",
                    "message": "The answer 'Satisfait' of column 'SAT[creche]' is not in the mapping (expected a "
                    "label of its `points`, or a `missing` label): lines 57, 310 and 4 more.",
                }
            ],
            "scales": [
                {
                    "column": "IMP[creche]",
                    "item": "creche",
                    "measure": "importance",
                    "scale": "importance-4",
                    "min": 1,
                    "max": 4,
                    "values": {"Très important": 4, "Plutôt important": 3, "Ne sait pas": None},
                }
            ],
            "preview": [
                {
                    "line": 2,
                    "respondent_id": "1017",
                    "audience": "families",
                    "commune_value": "23000",
                    "commune": "commune:23096",
                    "commune_name": "Guéret",
                    "weight": 1.12,
                    "answers": [
                        {
                            "column": "IMP[creche]",
                            "item": "creche",
                            "measure": "importance",
                            "value": "Très important",
                            "point": 4,
                        },
                        {
                            "column": "SAT[creche]",
                            "item": "creche",
                            "measure": "satisfaction",
                            "value": "Plutôt insatisfait",
                            "point": 2,
                        },
                    ],
                    "open_answers": [{"code": "manque", "text": "Une crèche ouverte le samedi."}],
                }
            ],
        },
    )
]

SURVEY_WIDE_REPORT_EXAMPLES = [
    response(
        "A LimeSurvey export imported",
        {
            "rows": 2140,
            "respondents": 2140,
            "responses_created": 4210,
            "responses_updated": 0,
            "responses_unchanged": 0,
            "responses_deleted": 0,
            "open_answers": 1312,
            "mapping_stored": True,
            "needs_created": 14,
            "needs_updated": 0,
            "needs_unchanged": 0,
            "needs_deleted": 0,
        },
    )
]
