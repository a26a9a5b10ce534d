"""Languages of the API (issue 14): French by default, English on `Accept-Language: en`, French for any other
language; error codes, JSON keys and CSV headers the same in both; the language in Content-Language, Vary and
every ETag, so that no cache serves an answer in one language to a client asking for the other."""

import io
import subprocess
import sys

import pytest
from django.utils import translation

from api.cells import CellError, parse_choice, parse_int
from api.translations import BASE_DIR
from offers.models import OfferStatus
from tests.api.conftest import assert_error, throttle_rates
from tests.offers.factories import make_offer
from tests.spreadsheets import rows_of, workbook_of

pytestmark = [pytest.mark.i18n, pytest.mark.django_db]

V1 = "/api/v1"
ENGLISH = {"Accept-Language": "en"}


def both(client, method: str, path: str, **kwargs):
    """The same request without Accept-Language (French) and with `Accept-Language: en`."""
    call = getattr(client, method)
    french = call(path, **kwargs)
    english = call(path, headers=ENGLISH, **kwargs)
    return french, english


def assert_same_error(french, english, status: int, *, code: str) -> tuple[dict, dict]:
    """Both answers are the same error but for its human-readable texts, each marked with its language."""
    french_body = assert_error(french, status, code=code)
    english_body = assert_error(english, status, code=code)
    assert (french["Content-Language"], english["Content-Language"]) == ("fr", "en")
    assert "Accept-Language" in french["Vary"] and "Accept-Language" in english["Vary"]

    def shape(body):
        return [(error["code"], error["field"], error["line"]) for error in body["errors"]]

    assert shape(french_body) == shape(english_body)
    assert french_body["message"] != english_body["message"]
    return french_body, english_body


# Negotiation --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept_language", "language"),
    [
        (None, "fr"),
        ("fr", "fr"),
        ("fr-CA,fr;q=0.9", "fr"),
        ("en", "en"),
        ("en-GB,en;q=0.8", "en"),
        ("de", "fr"),
        ("de-DE,es;q=0.9", "fr"),
        ("de,en;q=0.5", "en"),
        ("*", "fr"),
        ("not a language", "fr"),
    ],
)
def test_the_language_is_french_unless_english_is_asked(anonymous_client, accept_language, language):
    headers = {"Accept-Language": accept_language} if accept_language else {}
    response = anonymous_client.get(f"{V1}/no-such-thing/", headers=headers)
    body = assert_error(response, 404, code="not_found")
    assert response["Content-Language"] == language
    expected = "Aucune ressource à l'adresse" if language == "fr" else "No resource at"
    assert body["message"].startswith(expected)


def test_successful_answers_carry_their_language_too(reference, anonymous_client):
    french, english = both(anonymous_client, "get", f"{V1}/territories/")
    assert (french.status_code, english.status_code) == (200, 200)
    assert (french["Content-Language"], english["Content-Language"]) == ("fr", "en")
    assert "Accept-Language" in french["Vary"]
    assert french.json() == english.json()  # codes and names: nothing of it is translated


# Errors of every layer ----------------------------------------------------------------------------------------------


def test_framework_not_found(reference, anonymous_client):
    french, english = both(anonymous_client, "get", f"{V1}/organisations/no-such-organisation/")
    french_body, english_body = assert_same_error(french, english, 404, code="not_found")
    assert (french_body["message"], english_body["message"]) == ("Non trouvé.", "Not found.")


def test_method_not_allowed(anonymous_client):
    french, english = both(anonymous_client, "delete", f"{V1}/health/")
    french_body, english_body = assert_same_error(french, english, 405, code="method_not_allowed")
    assert french_body["message"] == "Méthode «\xa0DELETE\xa0» non autorisée."
    assert english_body["message"] == 'Method "DELETE" not allowed.'


def test_unauthenticated_and_forbidden(reference, anonymous_client, editor_a_client):
    french, english = both(anonymous_client, "post", f"{V1}/offers/", data={}, format="json")
    french_body, english_body = assert_same_error(french, english, 401, code="not_authenticated")
    assert french_body["message"] == "Informations d'authentification non fournies."
    assert english_body["message"] == "Authentication credentials were not provided."

    french, english = both(editor_a_client, "get", f"{V1}/needs/")
    french_body, english_body = assert_same_error(french, english, 403, code="permission_denied")
    assert french_body["message"].startswith("Cette ressource est réservée aux analystes")
    assert english_body["message"].startswith("This resource is reserved to analysts")


def test_an_invalid_token_is_refused_in_french(anonymous_client):
    french, english = both(anonymous_client, "get", f"{V1}/offers/", HTTP_AUTHORIZATION="Token not-a-real-token")
    french_body, english_body = assert_same_error(french, english, 401, code="authentication_failed")
    assert (french_body["message"], english_body["message"]) == ("Token non valide.", "Invalid token.")


def test_validation_errors_keep_their_fields_and_codes(editor_a_client, organisation_a):
    french, english = both(editor_a_client, "post", f"{V1}/offers/", data={"title": "Crèche"}, format="json")
    french_body, english_body = assert_same_error(french, english, 400, code="invalid")
    assert french_body["message"] == "La requête n'est pas valide ; voir errors."
    assert english_body["message"] == "The request is invalid; see errors."
    french_errors = {error["field"]: error["message"] for error in french_body["errors"]}
    english_errors = {error["field"]: error["message"] for error in english_body["errors"]}
    assert french_errors["description"] == "Ce champ est obligatoire."
    assert english_errors["description"] == "This field is required."


def test_json_types_and_parse_errors(editor_a_client, organisation_a):
    french, english = both(editor_a_client, "post", f"{V1}/offers/", data={"capacity": "40"}, format="json")
    french_body, english_body = assert_same_error(french, english, 400, code="invalid")
    french_capacity = next(error for error in french_body["errors"] if error["field"] == "capacity")
    english_capacity = next(error for error in english_body["errors"] if error["field"] == "capacity")
    assert french_capacity["message"] == "un nombre entier attendu, reçu str."
    assert english_capacity["message"] == "Expected a whole number, got str."

    body = b'{"title": "Cr\xc3\xa8che",'
    french, english = both(editor_a_client, "post", f"{V1}/offers/", data=body, content_type="application/json")
    french_body, english_body = assert_same_error(french, english, 400, code="parse_error")
    assert french_body["message"].startswith("JSON illisible : un nom de propriété entre guillemets doubles")
    assert english_body["message"].startswith("JSON parse error: a property name in double quotes was expected")
    assert "(ligne 1, colonne 20)" in french_body["message"]


def test_json_limits_from_the_pure_decoder(editor_a_client, organisation_a):
    body = '{"title": "' + "a\\u0000" + '"}'
    french, english = both(editor_a_client, "post", f"{V1}/offers/", data=body, content_type="application/json")
    french_body, english_body = assert_same_error(french, english, 400, code="null_character")
    assert french_body["errors"][0]["message"] == "Le texte ne peut pas contenir le caractère NUL (U+0000)."
    assert english_body["errors"][0]["message"] == "Text cannot contain the NUL character (U+0000)."


def test_query_errors_of_the_shared_filters(reference, anonymous_client):
    french, english = both(anonymous_client, "get", f"{V1}/offers/?page_size=1000")
    french_body, english_body = assert_same_error(french, english, 400, code="invalid")
    assert french_body["errors"][0] == {
        "field": "page_size",
        "line": None,
        "code": "out_of_range",
        "message": "page_size doit être un nombre entier de 1 à 100.",
    }
    french, english = both(anonymous_client, "get", f"{V1}/offers/?domain=nowhere")
    french_body, english_body = assert_same_error(french, english, 400, code="invalid")
    assert french_body["errors"][0]["message"] == "Code(s) domain inconnu(s) : nowhere."
    assert english_body["errors"][0]["message"] == "Unknown domain code(s): nowhere."


def test_throttled(reference, anonymous_client):
    with throttle_rates(public="1/minute"):
        assert anonymous_client.get(f"{V1}/territories/").status_code == 200
        french, english = both(anonymous_client, "get", f"{V1}/territories/")
    french_body, english_body = assert_same_error(french, english, 429, code="throttled")
    wait = int(french["Retry-After"])
    assert french_body["message"] == f"Requête ralentie. Disponible à nouveau dans {wait} secondes."
    assert english_body["message"].startswith("Request was throttled. Expected available in")


def _upload(client, content: bytes, headers=None):
    handle = io.BytesIO(content)
    handle.name = "offres.csv"
    return client.post(
        f"{V1}/offers/import/", {"file": handle, "source": "cd23"}, format="multipart", headers=headers or {}
    )


def test_upload_errors_name_their_line_and_field_in_both_languages(editor_a_client, organisation_a):
    header = "identifiant;titre;description;domaine;thèmes;organisation;commune;capacité;statut"
    row = f"c-1;Crèche;12 places.;daily-life;childcare;{organisation_a.slug};23096;douze;publiée"
    content = f"{header}\n{row}\n".encode()
    french, english = _upload(editor_a_client, content), _upload(editor_a_client, content, ENGLISH)
    french_body, english_body = assert_same_error(french, english, 400, code="invalid")
    french_error = next(error for error in french_body["errors"] if error["field"] == "capacity")
    english_error = next(error for error in english_body["errors"] if error["field"] == "capacity")
    assert french_error["line"] == english_error["line"] == 2
    assert french_error["message"] == "'douze' n'est pas un nombre entier."
    assert english_error["message"] == "'douze' is not a whole number."

    content = f"{header};couleur\n{row};bleu\n".encode()
    french, english = _upload(editor_a_client, content), _upload(editor_a_client, content, ENGLISH)
    french_body, english_body = assert_same_error(french, english, 400, code="invalid")
    assert french_body["message"] == "L'en-tête du fichier n'est pas valide ; rien n'a été enregistré."
    assert french_body["errors"][0]["message"] == "Colonne 'couleur' inconnue."
    assert english_body["errors"][0]["message"] == "Unknown column 'couleur'."


def test_a_choice_reads_by_its_label_in_either_language_whatever_the_request_language(editor_a_client, organisation_a):
    header = "identifiant;titre;description;domaine;thèmes;organisation;commune;gratuit;statut"
    rows = [
        f"c-{index};Crèche {index};12 places.;daily-life;childcare;{organisation_a.slug};23096;oui;{status}"
        for index, status in enumerate(("Publiée", "Published", "brouillon", "Draft"))
    ]
    for headers in (None, ENGLISH):
        response = _upload(editor_a_client, "\n".join([header, *rows]).encode(), headers)
        assert response.status_code == 200, response.content


def test_service_and_selector_messages(editor_a_client, anonymous_client, organisation_a, organisation_b):
    offer = make_offer(organisation=organisation_b)
    french, english = both(editor_a_client, "delete", f"{V1}/offers/{offer.pk}/")
    french_body, english_body = assert_same_error(french, english, 403, code="permission_denied")
    assert french_body["message"].startswith("Vous ne pouvez supprimer que les offres des organisations")

    french, english = both(anonymous_client, "get", f"{V1}/offers/?territory=99999")
    french_body, english_body = assert_same_error(french, english, 400, code="invalid")
    assert french_body["errors"][0]["code"] == "not_found"
    assert french_body["errors"][0]["message"] == "Aucun territoire n'a le code '99999'."
    assert english_body["errors"][0]["message"] == "No territory has the code '99999'."


# Caching: ETags and conditional GETs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/offers/", "/offers/{offer}/"])
def test_etags_differ_by_language_and_a_copy_in_one_language_is_not_current_in_the_other(
    organisation_a, anonymous_client, path
):
    offer = make_offer(organisation=organisation_a, status=OfferStatus.PUBLISHED)
    url = V1 + path.format(offer=offer.pk)
    french, english = both(anonymous_client, "get", url)
    assert (french.status_code, english.status_code) == (200, 200)
    assert french["ETag"] != english["ETag"]
    assert "Accept-Language" in french["Vary"] and "Accept-Language" in english["Vary"]

    # The French copy is current for a French client only; an English client gets the English answer in full.
    assert anonymous_client.get(url, HTTP_IF_NONE_MATCH=french["ETag"]).status_code == 304
    fresh = anonymous_client.get(url, HTTP_IF_NONE_MATCH=french["ETag"], headers=ENGLISH)
    assert fresh.status_code == 200 and fresh["ETag"] == english["ETag"] and fresh["Content-Language"] == "en"
    assert anonymous_client.get(url, HTTP_IF_NONE_MATCH=english["ETag"], headers=ENGLISH).status_code == 304


# The pure modules translate without importing Django ---------------------------------------------------------------


def test_cell_errors_follow_the_active_language():
    with translation.override("fr"):
        with pytest.raises(CellError, match="n'est pas un nombre entier"):
            parse_int("douze")
        assert parse_choice("Publiée", OfferStatus.choices) == parse_choice("published", OfferStatus.choices)
    with translation.override("en"):
        with pytest.raises(CellError, match="is not a whole number"):
            parse_int("douze")
        assert parse_choice("Publiée", OfferStatus.choices) == "published"
        assert parse_choice("Published", OfferStatus.choices) == "published"


def test_the_pure_modules_speak_english_without_django():
    code = (
        "import sys, api.cells, api.jsonlimits\n"
        "try:\n"
        "    api.cells.parse_int('douze')\n"
        "except api.cells.CellError as exc:\n"
        "    print(exc)\n"
        "try:\n"
        "    api.jsonlimits.json_decode('[[1]]', max_depth=1, max_digits=5)\n"
        "except api.jsonlimits.JSONLimitError as exc:\n"
        "    print(exc)\n"
        "sys.exit('django' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=BASE_DIR)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "'douze' is not a whole number.",
        "The JSON is nested more than 1 levels deep (the limit, DJANGO_JSON_MAX_DEPTH).",
    ]


def test_labels_are_french_by_default_and_english_on_request():
    with translation.override("fr"):
        assert [str(label) for label in OfferStatus.labels] == ["Brouillon", "Publiée", "Archivée"]
    with translation.override("en"):
        assert [str(label) for label in OfferStatus.labels] == ["Draft", "Published", "Archived"]


# Files: spreadsheets are read by people (translated), CSV by machines (not) ------------------------------------------


def test_the_offers_workbook_is_french_by_default_and_its_headers_are_the_csv_ones(organisation_a, anonymous_client):
    make_offer(organisation=organisation_a, status=OfferStatus.PUBLISHED)
    french, english = both(anonymous_client, "get", f"{V1}/offers/export/", data={"format": "xlsx"})
    french_book, english_book = workbook_of(french), workbook_of(english)
    assert french_book.sheetnames == ["Offres", "Colonnes"]
    assert english_book.sheetnames == ["Offers", "Columns"]
    assert rows_of(french_book.worksheets[0])[0] == rows_of(english_book.worksheets[0])[0]  # the CSV's headers
    assert rows_of(french_book.worksheets[1])[0][:3] == ("Feuille", "Colonne", "Signification")
    french_meanings = {row[1]: row[2] for row in rows_of(french_book.worksheets[1])[1:]}
    assert french_meanings["title"] == "Titre de l'offre"

    french, english = both(anonymous_client, "get", f"{V1}/offers/export/", data={"format": "csv"})
    french_csv = b"".join(french.streaming_content)
    assert french_csv == b"".join(english.streaming_content)
