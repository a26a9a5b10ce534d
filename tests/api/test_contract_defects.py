"""Defects schemathesis found, each pinned by a plain test: the precise answer a client now gets."""

import pytest

from matching.index import offer_index_clear
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _problem(response) -> tuple[int, list[tuple[str, str]]]:
    body = response.json()
    return response.status_code, [(error["field"], error["code"]) for error in body["errors"]]


def test_search_on_an_empty_catalogue_finds_nothing_instead_of_a_500(anonymous_client, reference):
    offer_index_clear()
    response = anonymous_client.post("/api/v1/matching/search/", {"text": "crèche"}, format="json")
    offer_index_clear()
    assert response.status_code == 200
    assert response.json() == {"count": 0, "results": []}


def test_a_bad_page_number_is_a_400_and_a_page_beyond_the_last_a_404(anonymous_client, reference):
    assert _problem(anonymous_client.get("/api/v1/territories/", {"page": 0})) == (400, [("page", "invalid")])
    assert _problem(anonymous_client.get("/api/v1/territories/", {"page": "deux"})) == (400, [("page", "invalid")])
    assert anonymous_client.get("/api/v1/territories/", {"page": 10_000}).status_code == 404
    assert anonymous_client.get("/api/v1/territories/", {"page": "", "page_size": ""}).status_code == 200


def test_a_boolean_filter_refuses_what_is_not_true_or_false(anonymous_client, reference):
    assert _problem(anonymous_client.get("/api/v1/offers/", {"is_free": "peut-être"})) == (
        400,
        [("is_free", "invalid")],
    )
    for value in ("true", "False", ""):
        assert anonymous_client.get("/api/v1/offers/", {"is_free": value}).status_code == 200, value


def test_an_id_filter_refuses_a_decimal(analyst_client, reference):
    assert _problem(analyst_client.get("/api/v1/needs/", {"survey": "0.5"})) == (400, [("survey", "invalid")])


def test_json_bodies_must_carry_the_documented_types(admin_client, reference):
    response = admin_client.post(
        "/api/v1/audiences/",
        {"code": 7, "label": "Télétravailleurs", "description": 0, "position": "4"},
        format="json",
    )
    status, problems = _problem(response)
    assert status == 400
    assert sorted(problems) == [
        ("code", "invalid_type"),
        ("description", "invalid_type"),
        ("position", "invalid_type"),
    ]
    survey = admin_client.post(
        "/api/v1/surveys/", {"title": "Enquête", "audiences": {"families": True}, "items": []}, format="json"
    )
    assert _problem(survey) == (400, [("audiences", "invalid_type")])
    themes = admin_client.post(
        "/api/v1/needs/",
        {"audience": "families", "domain": "daily-life", "themes": [3], "statement": "Crèche", "importance": 0.5},
        format="json",
    )
    assert _problem(themes) == (400, [("themes", "invalid_type")])


def test_a_decimal_is_a_string_as_documented(admin_client, organisation_a):
    # The schema documents price_amount as a string with a pattern; a JSON number was accepted (found by the
    # coverage phase once an offer existed at the id it tried).
    offer = {
        "title": "Crèche",
        "description": "Accueil des enfants.",
        "domain": "daily-life",
        "themes": ["childcare"],
        "organisation": organisation_a.slug,
        "commune": "23096",
        "is_free": False,
    }
    assert _problem(admin_client.post("/api/v1/offers/", {**offer, "price_amount": 0}, format="json")) == (
        400,
        [("price_amount", "invalid_type")],
    )
    created = admin_client.post("/api/v1/offers/", {**offer, "price_amount": "12.50"}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["price_amount"] == "12.50"


def test_json_endpoints_refuse_form_bodies_with_a_documented_415(admin_client, reference):
    response = admin_client.post("/api/v1/audiences/", {"code": "x", "label": "X"}, format="multipart")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_a_wrong_token_on_a_public_endpoint_is_a_401(anonymous_client, reference):
    anonymous_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    for path in ("/api/v1/", "/api/v1/taxonomy/", "/api/v1/territories/23096/"):
        assert anonymous_client.get(path).status_code == 401, path


def test_an_unknown_export_format_is_a_400_naming_the_parameter(anonymous_client, reference):
    assert _problem(anonymous_client.get("/api/v1/offers/export/", {"format": "ods"})) == (
        400,
        [("format", "invalid")],
    )
    assert anonymous_client.get("/api/v1/offers/export/", {"format": "json"})["Content-Type"].startswith(
        "application/json"
    )


def test_a_run_without_territory_shows_a_null_scope(analyst_user, reference):
    response = client_for(analyst_user).post("/api/v1/matching/runs/", {}, format="json")
    assert response.status_code == 202
    assert response.json()["scope_territory"] is None


def test_a_patched_need_answers_with_every_field(analyst_client, reference):
    from tests.audiences.factories import make_need

    need = make_need(statement="Trouver une place en crèche")
    response = analyst_client.patch(f"/api/v1/needs/{need.pk}/", {"importance": 0.9}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["survey"], body["survey_item"], body["territory_name"]) == (None, None, None)


def test_a_nul_character_in_any_json_string_is_a_400_naming_each_path(analyst_client, reference):
    """PostgreSQL text cannot hold U+0000: a lookup code holding one (a survey item's domain) was a 500 there."""
    from audiences.models import Survey

    body = {
        "title": "Enquête besoins des habitants",
        "date": "2025-03-01",
        "scale_min": 1,
        "scale_max": 5,
        "items": [{"code": "creche", "statement": "Trouver une crèche", "domain": "&\x00", "themes": ["x\x00"]}],
        "ke\x00y": "value",
    }
    response = analyst_client.post("/api/v1/surveys/", body, format="json")
    assert _problem(response) == (
        400,
        [
            ("items.0.domain", "null_character"),
            ("items.0.themes.0", "null_character"),
            ("ke\\u0000y", "null_character"),
        ],
    )
    assert not Survey.objects.exists()


def test_a_nul_character_in_a_public_search_is_a_400(anonymous_client, reference):
    response = anonymous_client.post("/api/v1/matching/search/", {"text": "crèche\x00"}, format="json")
    assert _problem(response) == (400, [("text", "null_character")])


@pytest.mark.parametrize("path", ["/api/v1/territories/%00/", "/api/v1/organisations/a%00b/", "/api/v1/offers/%00/"])
def test_a_nul_character_in_a_path_is_a_json_404(anonymous_client, reference, path):
    """PostgreSQL refuses to compare text with U+0000: a slug or code lookup holding one was a 500 there."""
    response = anonymous_client.get(path)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
