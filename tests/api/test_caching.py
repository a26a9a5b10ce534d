"""Caching and privacy (issue 17, class 4): what depends on the caller is stored by no cache and varies with the
credentials, anonymous reads stay cacheable, and their validators follow only what anonymous callers can see."""

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token

from tests.conftest import make_user
from tests.matching.factories import make_run
from tests.offers.factories import make_offer

pytestmark = pytest.mark.django_db

HYPOTHESIS = settings(
    max_examples=10, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def assert_private(response):
    assert response["Cache-Control"] == "private, no-store", response.headers
    assert "Authorization" in response["Vary"]


def assert_public(response):
    assert "no-store" not in response.get("Cache-Control", "") and "private" not in response.get("Cache-Control", "")
    assert "Authorization" in response["Vary"]


@pytest.fixture
def offers(organisation_a):
    return {
        "published": make_offer(organisation=organisation_a, title="Crèche des Petits Loups"),
        "draft": make_offer(organisation=organisation_a, title="Brouillon", status="draft"),
    }


def test_the_token_response_is_never_stored(db):
    make_user("someone")
    response = Client().post(
        "/api/v1/auth/token/",
        {"username": "someone", "password": "secret-password-123"},
        content_type="application/json",
    )
    assert response.status_code == 200 and "token" in response.json()
    assert_private(response)


def test_a_token_callers_answers_are_private(editor_a, offers):
    """A real token header, as a client sends it (not the test client's forced authentication)."""
    key = Token.objects.create(user=editor_a).key
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    for path in ("/api/v1/offers/", f"/api/v1/offers/{offers['draft'].pk}/", "/api/v1/offers/export/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_private(response)
    # A wrong token: a 401 that varies with the header too.
    assert_private(Client(HTTP_AUTHORIZATION="Token nope").get("/api/v1/offers/"))


@pytest.mark.parametrize("file_format", ["csv", "json"])
def test_an_editors_export_with_drafts_is_never_stored(editor_a_client, offers, file_format):
    response = editor_a_client.get("/api/v1/offers/export/", {"format": file_format})
    assert b"Brouillon" in b"".join(response.streaming_content)
    assert_private(response)


def test_analyst_endpoints_are_private(analyst_client, reference):
    run = make_run()
    for path in (
        "/api/v1/matching/runs/",
        f"/api/v1/matching/runs/{run.id}/",
        f"/api/v1/matching/runs/{run.id}/report/?group_by=domain",
        f"/api/v1/matching/runs/{run.id}/report/?group_by=domain&format=csv",
        f"/api/v1/matching/runs/{run.id}/report/?group_by=domain&format=xlsx",
        f"/api/v1/matching/runs/{run.id}/map/?level=commune",
        "/api/v1/needs/export/?format=xlsx",
        "/api/v1/needs/",
        "/api/v1/needs/export/",
        "/api/v1/surveys/",
    ):
        response = analyst_client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        assert_private(response)


def test_anonymous_public_reads_stay_cacheable(anonymous_client, offers):
    listed = anonymous_client.get("/api/v1/offers/")
    detail = anonymous_client.get(f"/api/v1/offers/{offers['published'].pk}/")
    for response in (listed, detail):
        assert response.status_code == 200
        assert_public(response)
        assert response["ETag"] and response["Last-Modified"]
    assert_public(anonymous_client.get("/api/v1/taxonomy/"))


def test_etags_are_weak_and_still_give_304s(anonymous_client, offers):
    for path in ("/api/v1/offers/", f"/api/v1/offers/{offers['published'].pk}/"):
        etag = anonymous_client.get(path)["ETag"]
        assert etag.startswith('W/"')
        assert anonymous_client.get(path, HTTP_IF_NONE_MATCH=etag).status_code == 304
        # If-None-Match compares weakly: the same tag without W/ names the same version.
        assert anonymous_client.get(path, HTTP_IF_NONE_MATCH=etag.removeprefix("W/")).status_code == 304


def _anonymous_validators(client) -> tuple[str, str, int]:
    response = client.get("/api/v1/offers/")
    return response["ETag"], response["Last-Modified"], response.json()["count"]


def _validators(client, offers) -> list[tuple[str, str]]:
    """The list's and the published offer's validators as `client` sees them."""
    paths = ("/api/v1/offers/", f"/api/v1/offers/{offers['published'].pk}/")
    return [(response["ETag"], response["Last-Modified"]) for response in map(client.get, paths)]


def test_another_organisations_draft_edits_move_nothing_accounts_can_see(
    editor_a_client, editor_b_client, analyst_client, offers
):
    before = {name: _validators(client, offers) for name, client in (("b", editor_b_client), ("a", analyst_client))}
    draft = f"/api/v1/offers/{offers['draft'].pk}/"
    assert editor_a_client.patch(draft, {"title": "Brouillon modifié"}, format="json").status_code == 200
    after = {name: _validators(client, offers) for name, client in (("b", editor_b_client), ("a", analyst_client))}
    assert after == before


def test_an_editors_own_draft_edits_move_their_own_validators(editor_a_client, offers):
    before = _validators(editor_a_client, offers)
    draft = f"/api/v1/offers/{offers['draft'].pk}/"
    assert editor_a_client.patch(draft, {"title": "Brouillon modifié"}, format="json").status_code == 200
    after = _validators(editor_a_client, offers)
    assert after[0][0] != before[0][0]  # their list shows the draft: its ETag moves


def test_editing_a_hidden_draft_changes_nothing_outsiders_can_see(anonymous_client, editor_a_client, offers):
    before = _anonymous_validators(anonymous_client)
    draft = f"/api/v1/offers/{offers['draft'].pk}/"
    assert editor_a_client.patch(draft, {"title": "Brouillon modifié"}, format="json").status_code == 200
    assert editor_a_client.delete(draft).status_code == 204
    created = editor_a_client.post(
        "/api/v1/offers/",
        {
            "title": "Nouveau brouillon",
            "description": "Pas encore publié.",
            "domain": "daily-life",
            "themes": ["childcare"],
            "organisation": offers["published"].organisation.slug,
            "commune": "23096",
            "is_free": True,
            "status": "draft",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    assert _anonymous_validators(anonymous_client) == before


@HYPOTHESIS
@given(titles=st.lists(st.text(st.characters(codec="utf-8", exclude_categories=["C"]), min_size=1, max_size=30)))
def test_generated_draft_edits_never_move_the_anonymous_etag(anonymous_client, editor_a_client, offers, titles):
    before = _anonymous_validators(anonymous_client)
    for title in titles:
        response = editor_a_client.patch(
            f"/api/v1/offers/{offers['draft'].pk}/", {"title": title.strip() or "x"}, format="json"
        )
        assert response.status_code == 200, response.content
    assert _anonymous_validators(anonymous_client) == before


def test_public_changes_move_the_anonymous_etag(anonymous_client, editor_a_client, admin_client, offers):
    seen = {anonymous_client.get("/api/v1/offers/")["ETag"]}

    def changed() -> bool:
        etag = anonymous_client.get("/api/v1/offers/")["ETag"]
        new = etag not in seen
        seen.add(etag)
        return new

    published = f"/api/v1/offers/{offers['published'].pk}/"
    assert editor_a_client.patch(published, {"title": "Crèche renommée"}, format="json").status_code == 200
    assert changed()
    draft = f"/api/v1/offers/{offers['draft'].pk}/"
    assert editor_a_client.patch(draft, {"status": "published"}, format="json").status_code == 200
    assert changed()  # a draft made public
    assert editor_a_client.patch(draft, {"status": "draft"}, format="json").status_code == 200
    assert changed()  # and hidden again
    slug = offers["published"].organisation.slug
    assert admin_client.patch(f"/api/v1/organisations/{slug}/", {"name": "Agglo renommée"}).status_code == 200
    assert changed()
    assert editor_a_client.delete(published).status_code == 204
    assert changed()


def test_the_detail_etag_follows_its_organisation_and_reference_data(anonymous_client, admin_client, offers):
    path = f"/api/v1/offers/{offers['published'].pk}/"
    first = anonymous_client.get(path)
    slug = offers["published"].organisation.slug
    assert admin_client.patch(f"/api/v1/organisations/{slug}/", {"name": "Agglo renommée"}).status_code == 200
    after = anonymous_client.get(path, HTTP_IF_NONE_MATCH=first["ETag"])
    assert after.status_code == 200 and after.json()["organisation_name"] == "Agglo renommée"
    assert after["ETag"] != first["ETag"]
    from offers.services import catalogue_changed  # what every write of territories and the taxonomy calls

    catalogue_changed()
    assert anonymous_client.get(path, HTTP_IF_NONE_MATCH=after["ETag"]).status_code == 200
