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
