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
