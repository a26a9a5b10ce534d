"""The audiences' texts as people read them: French by default, English with `Accept-Language: en` (any other
language falls back to French); error codes, fields and lines identical in both."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from audiences.models import JourneyStage, NeedSource, SurveyResponse
from audiences.services import needs_import
from tests.audiences.factories import WIDE_MAPPING, WIDE_ROWS, make_survey, wide_csv, wide_post
from tests.audiences.test_open_answers import _store, _survey

pytestmark = [pytest.mark.django_db, pytest.mark.i18n]

BAD_RESPONSES = """respondent_id,audience,commune,item,importance,satisfaction
r1,families,23096,creche,9,2
r2,martians,99999,nothing,4,x
"""


def _errors(response):
    return [(error.get("line"), error["field"], error["code"]) for error in response.json()["errors"]]


def _messages(response):
    return {(error.get("line"), error["field"]): error["message"] for error in response.json()["errors"]}


@pytest.fixture
def survey(reference):
    return make_survey()


def _upload_in(client, survey, language=None):
    headers = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    return client.post(
        f"/api/v1/surveys/{survey.pk}/responses/",
        {"file": SimpleUploadedFile("r.csv", BAD_RESPONSES.encode(), content_type="text/csv")},
        format="multipart",
        **headers,
    )


def test_survey_upload_errors_in_both_languages_keep_line_field_and_code(analyst_client, survey):
    french, english, german = (_upload_in(analyst_client, survey, language) for language in (None, "en", "de"))
    assert french.status_code == english.status_code == 400
    assert french["Content-Language"] == "fr" and english["Content-Language"] == "en"
    assert french.json()["code"] == english.json()["code"]
    assert _errors(french) == _errors(english)
    assert (3, "audience", "unknown_audience") in _errors(french)
    fr, en = _messages(french), _messages(english)
    assert french.json()["message"] == "2 ligne(s) du fichier ne sont pas valides ; rien n'a été écrit."
    assert english.json()["message"] == "2 line(s) of the file are invalid; nothing was written."
    assert fr[(2, "importance")] == "9 est hors de l'échelle 1-5"
    assert en[(2, "importance")] == "9 is outside the 1-5 scale"
    assert fr[(3, "item")].startswith("question inconnue : 'nothing' (questions de cette enquête : ")
    assert en[(3, "item")].startswith("unknown item 'nothing' (items of this survey: ")
    assert fr[(3, "commune")] == "code INSEE de commune inconnu : '99999'"
    assert fr[(3, "satisfaction")] == "'x' n'est pas un nombre entier de l'échelle 1-5"
    assert german.json() == french.json()
    assert SurveyResponse.objects.count() == 0


def test_wide_upload_errors_name_their_line_and_column_in_both_languages(analyst_client, survey):
    rows = [WIDE_ROWS[0].replace("1,5", "lourd"), WIDE_ROWS[1].replace("Très insatisfait", "Bof")]
    content = wide_csv(rows)
    french = wide_post(analyst_client, survey, "responses/wide", content, mapping=WIDE_MAPPING)
    english = analyst_client.post(
        f"/api/v1/surveys/{survey.pk}/responses/wide/",
        {"file": SimpleUploadedFile("export.csv", content), "mapping": json.dumps(WIDE_MAPPING)},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert french.status_code == english.status_code == 400
    assert _errors(french) == _errors(english)
    fr, en = _messages(french), _messages(english)
    assert fr[(2, "POIDS")] == "Le poids 'lourd' n'est pas un nombre : ligne 2."
    assert en[(2, "POIDS")] == "The weight 'lourd' is not a number: line 2."
    assert fr[(3, "SAT[creche]")].startswith("La réponse 'Bof' de la colonne 'SAT[creche]' n'est pas dans la")
    assert en[(3, "SAT[creche]")].startswith("The answer 'Bof' of column 'SAT[creche]' is not in the mapping")
    assert french.json()["message"].endswith("rien n'a été écrit.")
    assert SurveyResponse.objects.count() == 0


def test_mapping_suggestion_notes_in_both_languages(analyst_client, survey):
    french = wide_post(analyst_client, survey, "mapping/suggest", wide_csv()).json()
    english = analyst_client.post(
        f"/api/v1/surveys/{survey.pk}/mapping/suggest/",
        {"file": SimpleUploadedFile("export.csv", wide_csv())},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="en",
    ).json()
    assert french["mapping"] == english["mapping"]
    fr_notes = {column["column"]: (column["role"], column["note"]) for column in french["columns"]}
    en_notes = {column["column"]: (column["role"], column["note"]) for column in english["columns"]}
    assert {column: role for column, (role, _) in fr_notes.items()} == {c: r for c, (r, _) in en_notes.items()}
    assert fr_notes["submitdate"][1] == "Ajoutée par l'outil d'enquête."
    assert en_notes["submitdate"][1] == "Added by the survey tool."
    assert fr_notes["COMMUNE"][1].startswith("Les valeurs sont lues comme codes INSEE")


def test_open_answers_mask_personal_data_in_the_readers_language(analyst_client, reference):
    survey = _survey()
    _store(survey)
    path = f"/api/v1/surveys/{survey.pk}/open-answers/"
    french = analyst_client.get(path).json()
    english = analyst_client.get(path, HTTP_ACCEPT_LANGUAGE="en").json()
    fr_texts = {answer["respondent_id"]: answer["text"] for answer in _results(french)}
    en_texts = {answer["respondent_id"]: answer["text"] for answer in _results(english)}
    assert fr_texts["r02"].endswith("appelez moi au [téléphone masqué]")
    assert en_texts["r02"].endswith("appelez moi au [phone number hidden]")
    assert fr_texts["r08"] == "medecin generaliste !!! Mme [nom masqué] [courriel masqué]"
    assert en_texts["r08"] == "medecin generaliste !!! Mme [name hidden] [e-mail hidden]"


def _results(body):
    return body["results"] if isinstance(body, dict) else body


def test_choice_labels_in_both_languages_and_files_read_either(reference):
    with translation.override("fr"):
        assert [str(label) for label in JourneyStage.labels] == ["Attirer", "Accueillir", "Ancrer"]
        assert NeedSource.STUDY.label == "Étude"
    with translation.override("en"):
        assert [str(label) for label in JourneyStage.labels] == ["Attract", "Welcome", "Anchor"]
    # A file says its stage and source in French or in English, whatever the language of the request.
    text = (
        "external_id,audience,domain,statement,importance,stage,source\n"
        "n1,families,daily-life,Une crèche,0.8,Accueillir,Étude\n"
        "n2,families,jobs,Un coworking,0.6,Anchor,Workshop\n"
    )
    for language in ("fr", "en"):
        with translation.override(language):
            report = needs_import(content=text.encode(), filename="needs.csv", dry_run=True)
        assert report.rows == 2, language


def test_scale_errors_of_the_pure_module_and_their_translations_say_the_same():
    # audiences.likert (no Django) keeps the English messages; the service translates them by code.
    from audiences.likert import ScaleError
    from audiences.services.survey_mapping import _SCALE_ERROR_MESSAGES, scale_error_message

    assert set(ScaleError.MESSAGES) == set(_SCALE_ERROR_MESSAGES)
    with translation.override("en"):
        assert {code: str(message) for code, message in _SCALE_ERROR_MESSAGES.items()} == ScaleError.MESSAGES
    error = ScaleError("above_ten", high=12)
    with translation.override("fr"):
        assert scale_error_message(error) == (
            "Les réponses montent jusqu'à 12 : les échelles numériques sont reconnues jusqu'à 10 ; donnez `min` et "
            "`max`."
        )
    with translation.override("en"):
        assert scale_error_message(error) == str(error)
