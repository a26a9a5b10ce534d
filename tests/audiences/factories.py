"""Small factory functions for audiences-app objects, and the response file the aggregation tests check by hand."""

import datetime
import itertools
import json

from django.core.files.uploadedfile import SimpleUploadedFile

from api.text import fold_text
from audiences.models import Need, NeedSource, Survey, SurveyItem
from offers.models import Audience, Domain, Territory, Theme

_sequence = itertools.count(1)


def make_need(
    *,
    audience: str = "families",
    domain: str | None = None,
    themes: tuple[str, ...] = ("childcare",),
    statement: str | None = None,
    territory: str | None = None,
    importance: float = 0.5,
    **values,
) -> Need:
    """A need written straight to the database (no service); its domain is its first theme's unless given."""
    statement = statement or f"Besoin numéro {next(_sequence)}"
    values.setdefault("source", NeedSource.WORKSHOP)
    theme_objects = list(Theme.objects.filter(code__in=themes))
    need = Need.objects.create(
        audience=Audience.objects.get(code=audience),
        domain=Domain.objects.get(code=domain) if domain else theme_objects[0].domain,
        statement=statement,
        search_text=fold_text(statement),
        territory=Territory.objects.get(code=territory) if territory else None,
        importance=importance,
        **values,
    )
    need.themes.set(theme_objects)
    return need


def make_survey(*, audiences: tuple[str, ...] = ("families", "retirees"), reference: str = "ENQ-2025") -> Survey:
    """Two items: `creche` (importance and satisfaction) and `emploi` (importance only), on a 1-5 scale."""
    survey = Survey.objects.create(
        title="Enquête besoins des habitants", reference=reference, date=datetime.date(2025, 3, 1)
    )
    survey.audiences.set(Audience.objects.filter(code__in=audiences))
    creche = SurveyItem.objects.create(
        survey=survey,
        code="creche",
        domain=Domain.objects.get(code="daily-life"),
        statement="Trouver une place en crèche près de chez soi",
        stage="welcome",
    )
    creche.themes.set(Theme.objects.filter(code="childcare"))
    emploi = SurveyItem.objects.create(
        survey=survey,
        code="emploi",
        domain=Domain.objects.get(code="jobs"),
        statement="Trouver un emploi salarié",
        measures_satisfaction=False,
        stage="attract",
    )
    emploi.themes.set(Theme.objects.filter(code="salaried-job"))
    return survey


# r1, r2: families in the Grand Guéret EPCI (200034825: Guéret 23096, Ajain 23002); r3: family in Creuse Grand Sud
# (200044014: Aubusson 23008); r4: retiree in Creuse Sud Ouest (200067189: Ahun 23001); r5: retiree, no commune.
RESPONSES_CSV = """respondent_id,audience,commune,item,importance,satisfaction
r1,families,23096,creche,5,2
r1,families,23096,emploi,3,
r2,families,23002,creche,4,1
r2,families,23002,emploi,5,
r3,families,23008,creche,2,4
r3,families,23008,emploi,,
r4,retirees,23001,creche,3,
r4,retirees,23001,emploi,1,
r5,retirees,,creche,5,3
r5,retirees,,emploi,4,
"""

# r3's crèche importance 2 -> 4; r4 moves to Aubusson (23008) and rates emploi 2; r5 gives Aubusson as commune.
CORRECTED_CSV = """répondant;public;commune;question;importance;satisfaction
r1;families;23096;creche;5;2
r1;families;23096;emploi;3;
r2;families;23002;creche;4;1
r2;families;23002;emploi;5;
r3;families;23008;creche;4;4
r3;families;23008;emploi;;
r4;retirees;23008;creche;3;
r4;retirees;23008;emploi;2;
r5;retirees;23008;creche;5;3
r5;retirees;23008;emploi;4;
"""


def upload(client, survey, text: str, name: str = "responses.csv"):
    """POST a survey's response file (CSV text) through the API."""
    return client.post(
        f"/api/v1/surveys/{survey.pk}/responses/",
        {"file": SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")},
        format="multipart",
    )


# A LimeSurvey-like wide export (one row per respondent) of make_survey()'s items, and its mapping.
WIDE_HEADER = "id;submitdate;PROFIL;COMMUNE;POIDS;IMP[creche];SAT[creche];IMP[emploi];MANQUE"
WIDE_ROWS = [
    "r1;2025-03-01;Famille avec enfants;23096;1,5;Très important;Plutôt insatisfait;Plutôt important;"
    "Une crèche ouverte le samedi",
    "r2;2025-03-01;Famille avec enfants;Ajain;0,5;Plutôt important;Très insatisfait;Très important;",
    "r3;2025-03-02;Retraité;23008;1;Peu important;Ne sait pas;Pas du tout important;Un médecin",
    "r4;2025-03-02;Retraité;;2;Pas du tout important;Très satisfait;;",
]
WIDE_MAPPING = {
    "columns": [
        "id",
        "submitdate",
        "PROFIL",
        "COMMUNE",
        "POIDS",
        "IMP[creche]",
        "SAT[creche]",
        "IMP[emploi]",
        "MANQUE",
    ],
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
                "missing": ["Ne sait pas"],
            },
        },
        {"column": "IMP[emploi]", "item": "emploi", "measure": "importance"},
    ],
    "open_questions": [{"column": "MANQUE", "code": "manque", "label": "Qu'est-ce qui vous manque le plus ?"}],
    "ignored": ["submitdate"],
}


def wide_csv(rows=WIDE_ROWS, header=WIDE_HEADER, encoding="latin-1") -> bytes:
    return "\r\n".join([header, *rows, ""]).encode(encoding)


def wide_post(client, survey, action: str, content: bytes, name: str = "export.csv", **fields):
    """POST a wide file to a survey action (`responses/wide`, `responses/preview`, `mapping/suggest`)."""
    data = {"file": SimpleUploadedFile(name, content)}
    data.update({key: json.dumps(value) if key == "mapping" else value for key, value in fields.items()})
    return client.post(f"/api/v1/surveys/{survey.pk}/{action}/", data, format="multipart")
