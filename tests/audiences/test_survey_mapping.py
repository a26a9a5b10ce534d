"""The wide-file mapping of a survey: validated whole (every problem with its path), stored and read back through
the API, reusable by another survey with the same codes, and proposed from a file for the analyst to edit."""

import copy
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from api.exceptions import InvalidInput
from audiences.services import survey_mapping_validate
from tests.audiences.factories import WIDE_MAPPING as MAPPING
from tests.audiences.factories import make_survey, wide_csv
from tests.audiences.factories import wide_post as post


@pytest.fixture
def survey(reference):
    return make_survey()


def problems(survey, mapping) -> dict:
    with pytest.raises(InvalidInput) as caught:
        survey_mapping_validate(survey=survey, mapping=mapping)
    return {error.field: (error.code, error.message) for error in caught.value.errors}


def test_valid_mapping_reads_items_audiences_and_scales(survey):
    mapping = survey_mapping_validate(survey=survey, mapping=MAPPING)
    assert [(q.column, q.item.code, q.measure) for q in mapping.questions] == [
        ("IMP[creche]", "creche", "importance"),
        ("SAT[creche]", "creche", "satisfaction"),
        ("IMP[emploi]", "emploi", "importance"),
    ]
    assert mapping.questions[0].scale is None  # auto
    assert (mapping.questions[1].scale.scale_min, mapping.questions[1].scale.scale_max) == (1, 4)
    assert mapping.audience_values["retraite"].code == "retirees"
    assert (mapping.respondent_column, mapping.weight_column, mapping.commune_column) == ("id", "POIDS", "COMMUNE")


def test_column_mapped_twice_names_both_places(survey):
    mapping = copy.deepcopy(MAPPING)
    mapping["questions"][2]["column"] = "IMP[creche]"
    mapping["ignored"].append("IMP[emploi]")
    found = problems(survey, mapping)
    code, message = found["questions.2.column"]
    assert code == "mapped_twice"
    assert "'IMP[creche]'" in message and "questions.0.column" in message


def test_every_column_mapped_or_ignored(survey):
    mapping = copy.deepcopy(MAPPING)
    mapping["ignored"] = []
    mapping["open_questions"] = []
    code, message = problems(survey, mapping)["columns"]
    assert code == "unmapped_column"
    assert "'submitdate'" in message and "'MANQUE'" in message


def test_every_problem_is_listed_with_its_path(survey):
    mapping = copy.deepcopy(MAPPING)
    mapping["extra"] = 1
    mapping["audience"]["values"]["Touriste"] = "tourists"
    mapping["commune"]["kind"] = "gps"
    mapping["questions"][0]["item"] = "logement"
    mapping["questions"][1]["measure"] = "envie"
    mapping["questions"][2]["measure"] = "satisfaction"  # emploi measures importance only
    mapping["questions"].append({"column": "NOUVELLE", "item": "creche", "measure": "importance"})
    mapping["open_questions"][0]["code"] = "manque le plus"
    found = problems(survey, mapping)
    assert found["mapping.extra"][0] == "unknown_field"
    assert found["audience.values.Touriste"][0] == "unknown_audience"
    assert "families, retirees" in found["audience.values.Touriste"][1]
    assert "commune.kind" in found
    assert found["questions.0.item"][0] == "unknown_item"
    assert "creche, emploi" in found["questions.0.item"][1]
    assert "questions.1.measure" in found
    assert found["questions.2.measure"][0] == "not_measured"
    assert found["questions.3.column"][0] == "unknown_column"
    assert "open_questions.0.code" in found


def test_an_item_measure_given_by_two_columns(survey):
    mapping = copy.deepcopy(MAPPING)
    mapping["questions"][2] = {"column": "IMP[emploi]", "item": "creche", "measure": "importance"}
    code, message = problems(survey, mapping)["questions.2.item"]
    assert code == "duplicate" and "questions.0" in message


@pytest.mark.parametrize(
    ("scale", "path"),
    [
        ({"points": {"Oui": 1, "Non": "2"}}, "questions.0.scale.points.Non"),
        ({"points": {"Oui": 1, "oui": 2}}, "questions.0.scale.points.oui"),
        ({"points": {"A1": 1, "A2": 2}, "missing": ["A1"]}, "questions.0.scale.missing"),
        ({"points": {"A1": 1, "A5": 5}, "max": 4}, "questions.0.scale.points"),
        ({"min": 5, "max": 1}, "questions.0.scale"),
        ({"missing": ["NSP"]}, "questions.0.scale"),
        ("likert", "questions.0.scale"),
    ],
)
def test_explicit_scales_are_checked(survey, scale, path):
    mapping = copy.deepcopy(MAPPING)
    mapping["questions"][0]["scale"] = scale
    assert path in problems(survey, mapping)


def test_audience_code_for_the_whole_file_or_required(survey):
    mapping = copy.deepcopy(MAPPING)
    mapping["audience"] = {"code": "families"}
    mapping["ignored"].append("PROFIL")
    assert survey_mapping_validate(survey=survey, mapping=mapping).audience.code == "families"
    del mapping["audience"]
    assert problems(survey, mapping)["audience"][0] == "required"


def test_put_get_mapping(analyst_client, survey):
    url = f"/api/v1/surveys/{survey.pk}/mapping/"
    assert analyst_client.get(url).status_code == 404
    response = analyst_client.put(url, MAPPING, format="json")
    assert response.status_code == 200, response.json()
    assert analyst_client.get(url).json() == MAPPING
    bad = copy.deepcopy(MAPPING)
    bad["questions"][0]["item"] = "inconnu"
    response = analyst_client.put(url, bad, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "questions.0.item"
    assert analyst_client.get(url).json() == MAPPING  # unchanged


def test_mapping_names_no_database_id_and_serves_another_wave(analyst_client, survey):
    next_wave = make_survey(reference="ENQ-2026")
    analyst_client.put(f"/api/v1/surveys/{survey.pk}/mapping/", MAPPING, format="json")
    survey.refresh_from_db()
    next_wave.mapping = survey.mapping
    next_wave.save()
    response = post(analyst_client, next_wave, "responses/wide", wide_csv())
    assert response.status_code == 200, response.json()
    assert response.json()["responses_created"] == 7


def test_only_analysts_read_or_write_mappings(editor_a_client, anonymous_client, survey):
    url = f"/api/v1/surveys/{survey.pk}/mapping/"
    assert editor_a_client.put(url, MAPPING, format="json").status_code == 403
    assert anonymous_client.get(url).status_code == 401


def suggest(client, survey, content: bytes, name: str):
    data = {"file": SimpleUploadedFile(name, content)}
    return client.post(f"/api/v1/surveys/{survey.pk}/mapping/suggest/", data, format="multipart")


def test_suggestion_from_a_limesurvey_export(analyst_client, survey):
    rows = [
        "1;2025-03-01;Famille avec enfants;23096;1,5;Très important;Plutôt insatisfait;Plutôt important;Crèche",
        "2;2025-03-01;Retraité;23002;0,5;Plutôt important;Très insatisfait;Très important;",
        "3;2025-03-02;Retraité;23008;1;Peu important;Ne sait pas;Pas du tout important;" + "Un médecin " * 8,
    ]
    response = suggest(analyst_client, survey, wide_csv(rows), "export.csv")
    assert response.status_code == 200, response.json()
    mapping = response.json()["mapping"]
    assert mapping["respondent"] == {"column": "id"}
    assert mapping["weight"] == {"column": "POIDS"}
    assert mapping["commune"] == {"column": "COMMUNE", "kind": "auto"}
    assert mapping["audience"]["column"] == "PROFIL"
    assert mapping["audience"]["values"] == {"Famille avec enfants": "families", "Retraité": "retirees"}
    questions = {question["column"]: question for question in mapping["questions"]}
    assert questions["IMP[creche]"]["item"] == "creche" and questions["IMP[creche]"]["measure"] == "importance"
    assert questions["IMP[creche]"]["scale"]["points"]["Très important"] == 4
    assert questions["SAT[creche]"]["measure"] == "satisfaction"
    assert questions["SAT[creche]"]["scale"]["missing"] == ["Ne sait pas"]
    assert questions["IMP[emploi]"]["item"] == "emploi"
    assert mapping["open_questions"] == [{"column": "MANQUE", "code": "manque", "label": "MANQUE"}]
    assert mapping["ignored"] == ["submitdate"]
    roles = {column["column"]: column["role"] for column in response.json()["columns"]}
    assert roles["SAT[creche]"] == "question" and roles["MANQUE"] == "open_question"
    # Edited nowhere, it is a valid mapping for this file.
    stored = analyst_client.put(f"/api/v1/surveys/{survey.pk}/mapping/", mapping, format="json")
    assert stored.status_code == 200, stored.json()
    imported = post(analyst_client, survey, "responses/wide", wide_csv(rows))
    assert imported.status_code == 200, imported.json()


def test_suggestion_from_a_google_forms_workbook_leaves_unknowns_to_fill(analyst_client, survey):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Horodateur", "Vous êtes :", "Importance [Crèche]", "Satisfaction [Trouver un emploi salarié]"])
    sheet.append(["2025/03/01 10:02:11", "Touriste", "Très important", "Très satisfait"])
    sheet.append(["2025/03/01 10:05:40", "Retraité", "Pas du tout important", "Très insatisfait"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = suggest(analyst_client, survey, buffer.getvalue(), "forms.xlsx")
    assert response.status_code == 200, response.json()
    body = response.json()
    mapping = body["mapping"]
    assert mapping["audience"]["values"] == {"Retraité": "retirees", "Touriste": None}
    questions = {question["column"]: question for question in mapping["questions"]}
    assert questions["Importance [Crèche]"]["item"] == "creche"
    # emploi measures importance only: the satisfaction column is proposed without a measure, to fill in.
    assert questions["Satisfaction [Trouver un emploi salarié]"]["item"] == "emploi"
    notes = {column["column"]: column["note"] for column in body["columns"]}
    assert "'Touriste'" in notes["Vous êtes :"]
    assert mapping["ignored"] == ["Horodateur"]
    stored = analyst_client.put(f"/api/v1/surveys/{survey.pk}/mapping/", mapping, format="json")
    assert stored.status_code == 400
    assert {error["field"] for error in stored.json()["errors"]} >= {"audience.values.Touriste"}


def test_mapping_in_a_request_is_json_text(analyst_client, survey):
    data = {"file": SimpleUploadedFile("e.csv", wide_csv()), "mapping": json.dumps(MAPPING)}
    response = analyst_client.post(f"/api/v1/surveys/{survey.pk}/responses/preview/", data, format="multipart")
    assert response.status_code == 200
    assert response.json()["valid"] is True


def test_mapping_body_goes_through_the_json_limits(analyst_client, survey):
    deep = ["id"]
    for _ in range(40):
        deep = [deep]
    nested = {"columns": ["id"], "ignored": deep}
    response = analyst_client.put(f"/api/v1/surveys/{survey.pk}/mapping/", nested, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "too_deep"


def test_suggestion_for_answer_codes_written_as_numbers(analyst_client, survey):
    content = b"id,Q1[creche]\n1,1\n2,4\n3,2\n4,NSP\n"
    response = suggest(analyst_client, survey, content, "limesurvey.csv")
    assert response.status_code == 200, response.json()
    [question] = response.json()["mapping"]["questions"]
    assert (question["item"], question["scale"]) == ("creche", {"min": 1, "max": 4})
    [column] = [column for column in response.json()["columns"] if column["column"] == "Q1[creche]"]
    assert "check the scale's `min` and `max`" in column["note"]
