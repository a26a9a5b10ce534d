"""Wide survey files (one row per respondent) through the API: import with a mapping, preview, every bad input
refused whole with its line and column, re-imports, XLSX workbooks read with their typed cells.

The file below, hand-read (importance on the 4-point scale: Pas du tout 1, Peu 2, Plutôt 3, Très 4; satisfaction
explicit in the mapping: Très insatisfait 1 ... Très satisfait 4, « Ne sait pas » = no answer):
  r1 family, Guéret (23096), weight 1.5: crèche importance 4, satisfaction 2; emploi 3; open answer.
  r2 family, Ajain (by name), weight 0.5: crèche 3, satisfaction 1; emploi 4.
  r3 retiree, Aubusson (23008), weight 1: crèche 2, no satisfaction; emploi 1; open answer.
  r4 retiree, no commune, weight 2: crèche 1, satisfaction 4; emploi left blank.
"""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from audiences.models import Need, SurveyItem, SurveyOpenAnswer, SurveyResponse
from offers.models import Territory
from tests.audiences.factories import WIDE_HEADER as HEADER
from tests.audiences.factories import WIDE_MAPPING as MAPPING
from tests.audiences.factories import WIDE_ROWS as ROWS
from tests.audiences.factories import make_survey, wide_csv
from tests.audiences.factories import wide_post as post


def stored(survey) -> dict:
    return {
        (row.respondent_id, row.item.code): (
            row.audience.code,
            row.commune.code if row.commune else None,
            row.importance,
            row.satisfaction,
            row.weight,
        )
        for row in SurveyResponse.objects.filter(item__survey=survey).select_related("item", "audience", "commune")
    }


@pytest.fixture
def survey(reference):
    return make_survey()


def test_import_reads_labels_communes_weights_and_open_answers(analyst_client, survey):
    response = post(analyst_client, survey, "responses/wide", wide_csv(), mapping=MAPPING)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["rows"] == 4
    assert body["responses_created"] == 7
    assert body["open_answers"] == 2
    assert body["mapping_stored"] is True
    assert body["needs_created"] > 0
    assert stored(survey) == {
        ("r1", "creche"): ("families", "23096", 4, 2, 1.5),
        ("r1", "emploi"): ("families", "23096", 3, None, 1.5),
        ("r2", "creche"): ("families", "23002", 3, 1, 0.5),
        ("r2", "emploi"): ("families", "23002", 4, None, 0.5),
        ("r3", "creche"): ("retirees", "23008", 2, None, 1.0),
        ("r3", "emploi"): ("retirees", "23008", 1, None, 1.0),
        ("r4", "creche"): ("retirees", None, 1, 4, 2.0),
    }
    creche, emploi = SurveyItem.objects.get(survey=survey, code="creche"), SurveyItem.objects.get(code="emploi")
    assert (creche.importance_scale_min, creche.importance_scale_max) == (1, 4)
    assert (creche.satisfaction_scale_min, creche.satisfaction_scale_max) == (1, 4)
    assert (emploi.importance_scale_min, emploi.importance_scale_max) == (1, 4)
    answers = {(a.respondent_id, a.question): (a.text, a.audience.code, a.weight) for a in survey.open_answers.all()}
    assert answers == {
        ("r1", "manque"): ("Une crèche ouverte le samedi", "families", 1.5),
        ("r3", "manque"): ("Un médecin", "retirees", 1.0),
    }
    assert {
        (need.survey_item.code, need.audience.code) for need in Need.objects.filter(survey_item__survey=survey)
    } >= {
        ("creche", "families"),
        ("creche", "retirees"),
        ("emploi", "families"),
        ("emploi", "retirees"),
    }
    survey.refresh_from_db()
    assert survey.mapping["columns"] == MAPPING["columns"]
    # The stored mapping serves the next upload of the same file: nothing changes.
    again = post(analyst_client, survey, "responses/wide", wide_csv(encoding="utf-8"))
    assert again.status_code == 200, again.json()
    assert again.json()["responses_unchanged"] == 7
    assert again.json()["responses_created"] == again.json()["responses_updated"] == 0
    assert again.json()["mapping_stored"] is False


def test_corrected_file_replaces_its_respondents_answers(analyst_client, survey):
    assert post(analyst_client, survey, "responses/wide", wide_csv(), mapping=MAPPING).status_code == 200
    corrected = [
        ROWS[0].replace("Plutôt important;Une crèche", ";Une crèche"),  # r1 no longer rates emploi
        ROWS[1].replace("0,5", "0,75"),
    ]
    response = post(analyst_client, survey, "responses/wide", wide_csv(corrected))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["responses_updated"], body["responses_deleted"], body["responses_unchanged"]) == (2, 1, 1)
    rows = stored(survey)
    assert ("r1", "emploi") not in rows
    assert rows[("r2", "creche")][4] == 0.75
    assert rows[("r3", "creche")] == ("retirees", "23008", 2, None, 1.0)  # r3 is not in the file: kept
    assert SurveyOpenAnswer.objects.filter(survey=survey).count() == 2


def test_communes_outside_the_survey_territory_are_refused_like_the_long_format(analyst_client, survey):
    """The survey covers Grand Guéret (Guéret, Ajain): r3 answers from Aubusson, outside it."""
    survey.territory = Territory.objects.get(code="200034825")
    survey.save()
    response = post(analyst_client, survey, "responses/wide", wide_csv(), mapping=MAPPING)
    assert response.status_code == 400, response.json()
    assert [
        (error["line"], error["field"], error["code"], error["message"]) for error in response.json()["errors"]
    ] == [
        (
            4,
            "COMMUNE",
            "outside_territory",
            "'23008': commune 23008 (Aubusson) is not in the survey's territory, "
            "Communauté d'agglomération du Grand Guéret (line 4).",
        )
    ]
    assert not SurveyResponse.objects.filter(item__survey=survey).exists()
    assert not SurveyOpenAnswer.objects.filter(survey=survey).exists()
    # A value known nowhere is still "unknown", naming the territory searched.
    unknown = post(
        analyst_client,
        survey,
        "responses/wide",
        wide_csv([ROWS[0], ROWS[1].replace("Ajain", "Nulle-Part")]),
        mapping=MAPPING,
    )
    assert [(error["line"], error["code"]) for error in unknown.json()["errors"]] == [(3, "unknown_commune")]
    assert "name in Communauté d'agglomération du Grand Guéret" in unknown.json()["errors"][0]["message"]


def test_every_problem_listed_with_line_and_column_and_nothing_written(analyst_client, survey):
    rows = [
        ROWS[0],
        ROWS[1].replace("Très insatisfait", "Satisfait").replace("0,5", "0"),
        ROWS[2].replace("23008", "Nulle-Part").replace(";1;", ";abc;"),
        ROWS[3].replace("Retraité", "Touriste"),
        ROWS[3].replace("Satisfait", "Satisfait"),  # r4 again
        ROWS[3].replace("r4", "r5").replace("Très satisfait", "Satisfait"),
    ]
    response = post(analyst_client, survey, "responses/wide", wide_csv(rows), mapping=MAPPING)
    assert response.status_code == 400, response.json()
    errors = {(error["field"], error["code"], error["line"]) for error in response.json()["errors"]}
    assert errors == {
        ("id", "duplicate_respondent", 6),
        ("PROFIL", "unknown_label", 5),
        ("COMMUNE", "unknown_commune", 4),
        ("POIDS", "invalid_weight", 3),
        ("POIDS", "invalid_weight", 4),
        ("SAT[creche]", "unknown_label", 3),
    }
    messages = " ".join(error["message"] for error in response.json()["errors"])
    assert "'Satisfait'" in messages and "lines 3, 7" in messages
    assert "'Touriste'" in messages
    assert "'Nulle-Part'" in messages
    assert "'abc' is not a number" in messages and "'0' is not a positive number" in messages
    assert "'r4' is already on line 5" in messages
    assert not SurveyResponse.objects.filter(item__survey=survey).exists()
    assert not SurveyOpenAnswer.objects.filter(survey=survey).exists()
    survey.refresh_from_db()
    assert survey.mapping == {}


def test_file_with_another_column_set_is_refused(analyst_client, survey):
    assert post(analyst_client, survey, "responses/wide", wide_csv(), mapping=MAPPING).status_code == 200
    header = HEADER.replace(";POIDS", "").replace("MANQUE", "REMARQUES")
    rows = [row.replace(";1,5;", ";").replace(";0,5;", ";").replace(";1;", ";").replace(";2;", ";") for row in ROWS]
    response = post(analyst_client, survey, "responses/wide", wide_csv(rows, header=header))
    assert response.status_code == 400
    errors = {error["code"]: error["message"] for error in response.json()["errors"]}
    assert set(errors) == {"missing_columns", "unexpected_columns"}
    assert "'POIDS'" in errors["missing_columns"] and "'MANQUE'" in errors["missing_columns"]
    assert "'REMARQUES'" in errors["unexpected_columns"]


def test_without_stored_or_given_mapping(analyst_client, survey):
    response = post(analyst_client, survey, "responses/wide", wide_csv())
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "mapping"


def test_invalid_mapping_json_is_a_400(analyst_client, survey):
    data = {"file": SimpleUploadedFile("export.csv", wide_csv()), "mapping": "{columns"}
    response = analyst_client.post(f"/api/v1/surveys/{survey.pk}/responses/wide/", data, format="multipart")
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_json"


def test_errors_are_capped_with_their_total(analyst_client, survey, settings):
    settings.ERROR_LIST_MAX = 3
    rows = [f"x{n};2025-03-01;Famille avec enfants;23096;-{n};Très important;;;" for n in range(1, 8)]
    response = post(analyst_client, survey, "responses/wide", wide_csv(rows), mapping=MAPPING)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert len(errors) == 4
    assert errors[-1]["code"] == "too_many_errors" and "4 more errors" in errors[-1]["message"]


def test_preview_shows_first_rows_and_every_problem_without_writing(analyst_client, survey):
    rows = [*ROWS, ROWS[3].replace("r4", "r5").replace("Très satisfait", "Satisfait")]
    response = post(analyst_client, survey, "responses/preview", wide_csv(rows), mapping=MAPPING, rows=2)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["rows"], body["valid"], body["error_count"]) == (5, False, 1)
    assert body["errors"][0]["line"] == 6 and body["errors"][0]["field"] == "SAT[creche]"
    first, second = body["preview"]
    assert first["respondent_id"] == "r1" and first["audience"] == "families"
    assert (first["commune"], first["commune_name"], first["weight"]) == ("commune:23096", "Guéret", 1.5)
    assert [(a["item"], a["measure"], a["value"], a["point"]) for a in first["answers"]] == [
        ("creche", "importance", "Très important", 4),
        ("creche", "satisfaction", "Plutôt insatisfait", 2),
        ("emploi", "importance", "Plutôt important", 3),
    ]
    assert first["open_answers"] == [{"code": "manque", "text": "Une crèche ouverte le samedi"}]
    assert (second["commune_value"], second["commune"]) == ("Ajain", "commune:23002")
    scales = {scale["column"]: scale for scale in body["scales"]}
    assert scales["IMP[creche]"]["scale"] == "importance-4"
    assert scales["SAT[creche]"]["scale"] == "explicit"
    assert not SurveyResponse.objects.filter(item__survey=survey).exists()
    survey.refresh_from_db()
    assert survey.mapping == {}


def _workbook(rows: list[list], *, title: str = "Réponses") -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_xlsx_typed_cells_and_long_headers(analyst_client, survey):
    survey.scale_min, survey.scale_max = 0, 10  # the scale of the emploi column
    survey.save()
    question = "Quelle importance accordez-vous à :\nTrouver une place en crèche"
    content = _workbook(
        [
            ["N°", "Vous êtes", "Code INSEE", "Poids", question, "Note emploi (0-10)"],
            [101, "Retraité", 23096, 1.25, "Tout à fait important", 10],
            [102.0, "Retraité", 23008, 0.75, "Pas du tout important", 0],
            [None, None, None, None, None, None],
            [103, "Famille avec enfants", 23002, 1, "Non concerné", 7],
        ]
    )
    mapping = {
        "columns": ["N°", "Vous êtes", "Code INSEE", "Poids", " ".join(question.split()), "Note emploi (0-10)"],
        "respondent": {"column": "N°"},
        "audience": {"column": "Vous êtes", "values": {"retraite": "retirees", "FAMILLE AVEC ENFANTS": "families"}},
        "commune": {"column": "Code INSEE", "kind": "insee"},
        "weight": {"column": "Poids"},
        "questions": [
            {"column": " ".join(question.split()), "item": "creche", "measure": "importance", "scale": "auto"},
            {"column": "Note emploi (0-10)", "item": "emploi", "measure": "importance", "scale": "auto"},
        ],
    }
    response = post(analyst_client, survey, "responses/wide", content, name="export.xlsx", mapping=mapping)
    assert response.status_code == 200, response.json()
    # The crèche column uses two labels of the 4-point scale (1 and 4); emploi is a 0-10 scale.
    assert stored(survey) == {
        ("101", "creche"): ("retirees", "23096", 4, None, 1.25),
        ("101", "emploi"): ("retirees", "23096", 10, None, 1.25),
        ("102", "creche"): ("retirees", "23008", 1, None, 0.75),
        ("102", "emploi"): ("retirees", "23008", 0, None, 0.75),
        ("103", "emploi"): ("families", "23002", 7, None, 1.0),
    }
    emploi = SurveyItem.objects.get(survey=survey, code="emploi")
    assert (emploi.importance_scale_min, emploi.importance_scale_max) == (0, 10)


def test_xlsx_named_sheet_blank_and_duplicate_headers(analyst_client, survey):
    content = _workbook([["id", None, "Q1", "Q1"], [1, "x", "Très important", "Peu important"]], title="Export")
    response = post(analyst_client, survey, "responses/preview", content, name="export.xlsx", mapping=MAPPING)
    assert response.status_code == 400
    messages = [error["message"] for error in response.json()["errors"]]
    assert any("column 2 (B)" in message and "blank" in message for message in messages)
    assert any("column 3 (C) « Q1 » and column 4 (D) « Q1 »" in message for message in messages)
    unknown = post(analyst_client, survey, "responses/preview", content, name="export.xlsx", sheet="Feuil1")
    assert unknown.status_code == 400
    assert "'Export'" in unknown.json()["errors"][0]["message"]


def test_size_caps(analyst_client, survey, monkeypatch):
    monkeypatch.setattr("audiences.services.survey_wide.WIDE_MAX_ROWS", 3)
    response = post(analyst_client, survey, "responses/wide", wide_csv(), mapping=MAPPING)
    assert response.status_code == 413
    assert "limit is 3" in response.json()["message"]


def test_only_analysts_upload(anonymous_client, editor_a_client, survey):
    assert post(anonymous_client, survey, "responses/wide", wide_csv(), mapping=MAPPING).status_code == 401
    assert post(editor_a_client, survey, "responses/wide", wide_csv(), mapping=MAPPING).status_code == 403
    assert post(editor_a_client, survey, "responses/preview", wide_csv(), mapping=MAPPING).status_code == 403


def test_google_forms_csv_utf8_bom_commas_and_multiline_headers(analyst_client, survey):
    content = (
        "\ufeff"
        'Horodateur,"Quelle importance pour vous ?\n[Crèche]","Quelle importance pour vous ?\n[Emploi]"\r\n'
        '2025/03/01 10:02:11,Très important,"Pas du tout important"\r\n'
        "2025/03/01 10:05:40,Peu important,Plutôt important\r\n"
        "2025/03/01 11:00:00,Ne sait pas,Très important\r\n"
    ).encode()
    mapping = {
        "columns": ["Horodateur", "Quelle importance pour vous ? [Crèche]", "Quelle importance pour vous ? [Emploi]"],
        "audience": {"code": "families"},
        "questions": [
            {"column": "Quelle importance pour vous ? [Crèche]", "item": "creche", "measure": "importance"},
            {"column": "Quelle importance pour vous ? [Emploi]", "item": "emploi", "measure": "importance"},
        ],
        "ignored": ["Horodateur"],
    }
    response = post(analyst_client, survey, "responses/wide", content, mapping=mapping)
    assert response.status_code == 200, response.json()
    # No respondent column: respondents are the file's lines (the header's two line breaks make it lines 1-3).
    assert stored(survey) == {
        ("4", "creche"): ("families", None, 4, None, 1.0),
        ("4", "emploi"): ("families", None, 1, None, 1.0),
        ("5", "creche"): ("families", None, 2, None, 1.0),
        ("5", "emploi"): ("families", None, 3, None, 1.0),
        ("6", "emploi"): ("families", None, 4, None, 1.0),
    }


def test_blank_audience_answer_refused_unless_mapped(analyst_client, survey):
    rows = [ROWS[0], ROWS[1].replace("Famille avec enfants", "")]
    response = post(analyst_client, survey, "responses/wide", wide_csv(rows), mapping=MAPPING)
    assert response.status_code == 400
    assert [(e["field"], e["code"], e["line"]) for e in response.json()["errors"]] == [("PROFIL", "required", 3)]
    mapping = {
        **MAPPING,
        "audience": {"column": "PROFIL", "values": {**MAPPING["audience"]["values"], "": "retirees"}},
    }
    response = post(analyst_client, survey, "responses/wide", wide_csv(rows), mapping=mapping)
    assert response.status_code == 200, response.json()
    assert stored(survey)[("r2", "creche")][0] == "retirees"


def test_a_batch_on_another_scale_than_stored_answers_is_refused(analyst_client, survey):
    assert post(analyst_client, survey, "responses/wide", wide_csv(), mapping=MAPPING).status_code == 200
    # New respondents whose crèche importance labels are those of the 5-point scale.
    rows = [
        "r8;2025-04-01;Retraité;23096;1;Moyennement important;Très satisfait;Très important;",
        "r9;2025-04-01;Retraité;23096;1;Important;Très satisfait;Peu important;",
    ]
    response = post(analyst_client, survey, "responses/wide", wide_csv(rows))
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == ("IMP[creche]", "scale_conflict")
    assert "1-4 scale" in error["message"] and "1-5" in error["message"]
    assert not SurveyResponse.objects.filter(respondent_id__in=["r8", "r9"]).exists()


def test_preview_of_a_file_with_another_column_set(analyst_client, survey):
    header = HEADER.replace(";MANQUE", ";REMARQUES")
    response = post(analyst_client, survey, "responses/preview", wide_csv(header=header), mapping=MAPPING, rows=1)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["valid"] is False
    assert {error["code"] for error in body["errors"]} == {"missing_columns", "unexpected_columns"}
    assert [answer["point"] for answer in body["preview"][0]["answers"]] == [None, None, None]


def test_items_the_mapping_does_not_name_keep_their_responses(analyst_client, survey):
    long = "respondent_id,audience,commune,item,importance,satisfaction\nr1,families,23096,emploi,2,\n"
    data = {"file": SimpleUploadedFile("long.csv", long.encode())}
    assert analyst_client.post(f"/api/v1/surveys/{survey.pk}/responses/", data, format="multipart").status_code == 200
    mapping = {
        **MAPPING,
        "questions": MAPPING["questions"][:2],
        "ignored": [*MAPPING["ignored"], "IMP[emploi]"],
    }
    response = post(analyst_client, survey, "responses/wide", wide_csv(), mapping=mapping)
    assert response.status_code == 200, response.json()
    assert response.json()["responses_deleted"] == 0
    assert stored(survey)[("r1", "emploi")] == ("families", "23096", 2, None, 1.0)


def test_mapping_field_goes_through_the_json_limits(analyst_client, survey):
    deep = "[" * 40 + "]" * 40
    data = {"file": SimpleUploadedFile("export.csv", wide_csv()), "mapping": '{"columns": ' + deep + "}"}
    response = analyst_client.post(f"/api/v1/surveys/{survey.pk}/responses/preview/", data, format="multipart")
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["code"] == "too_deep" and error["field"].startswith("mapping")
