"""Reference data has one writer: every write of audiences, taxonomy and territories, through the API, the admin or
the loaders, moves the catalogue version, so the offer index and the cached lists never serve a stale taxonomy."""

import pytest
from django.test import Client

from matching.models import MatchingRun, NeedResult
from offers.models import Audience, CatalogueVersion, Domain, Territory
from offers.services import taxonomy_load
from tests.audiences.factories import make_need
from tests.matching.conftest import run_chunks
from tests.matching.factories import make_offer

pytestmark = pytest.mark.django_db

SEARCH = "/api/v1/matching/search/"
RUNS = "/api/v1/matching/runs/"


def catalogue_version() -> int:
    return CatalogueVersion.objects.filter(pk=1).values_list("version", flat=True).first() or 0


def test_an_audience_created_through_the_api_is_searched_and_matched(reference, analyst_client, anonymous_client):
    make_offer(title="Micro-crèche de Guéret", description="Garde d'enfants de 0 à 3 ans.", themes=("childcare",))
    # The index is built and cached before the audience exists: the new audience must make it stale.
    assert anonymous_client.post(SEARCH, {"text": "crèche", "audience": "families"}, format="json").status_code == 200
    created = analyst_client.post(
        "/api/v1/audiences/", {"code": "digital-nomads", "label": "Nomades numériques"}, format="json"
    )
    assert created.status_code == 201, created.json()

    search = anonymous_client.post(SEARCH, {"text": "crèche", "audience": "digital-nomads"}, format="json")
    assert search.status_code == 200, search.json()
    assert search.json()["results"]

    need = make_need(
        statement="Faire garder mon enfant pendant que je télétravaille",
        themes=("childcare",),
        audience="digital-nomads",
        territory="23096",
    )
    launched = analyst_client.post(RUNS, {}, format="json")
    assert launched.status_code == 202, launched.json()
    run = MatchingRun.objects.get(id=launched.json()["id"])
    run_chunks(run)
    detail = analyst_client.get(launched.json()["url"]).json()
    assert detail["status"] == "succeeded", detail
    assert NeedResult.objects.get(run=run, need=need).audience_code == "digital-nomads"


def test_audience_writes_through_the_api_move_the_catalogue_version(reference, analyst_client):
    before = catalogue_version()
    analyst_client.post("/api/v1/audiences/", {"code": "digital-nomads", "label": "Nomades numériques"})
    created = catalogue_version()
    assert created > before
    analyst_client.patch("/api/v1/audiences/digital-nomads/", {"label": "Nomades du numérique"})
    updated = catalogue_version()
    assert updated > created
    analyst_client.patch("/api/v1/audiences/digital-nomads/", {"label": "Nomades du numérique"})
    assert catalogue_version() == updated  # nothing changed, nothing to invalidate
    assert analyst_client.delete("/api/v1/audiences/digital-nomads/").status_code == 204
    assert catalogue_version() > updated


def test_admin_writes_of_reference_data_move_the_catalogue_version(reference, admin_user):
    client = Client()
    client.force_login(admin_user)
    before = catalogue_version()
    response = client.post(
        "/admin/offers/audience/add/",
        {"code": "digital-nomads", "label": "Nomades numériques", "data_inclusion_codes": "[]", "position": 0},
    )
    assert response.status_code == 302, response.content
    assert Audience.objects.filter(code="digital-nomads").exists()
    assert catalogue_version() > before
    before = catalogue_version()
    domain = Domain.objects.get(code="jobs")
    response = client.post(
        f"/admin/offers/domain/{domain.pk}/change/",
        {
            "code": "jobs",
            "label": "Emploi et activité",
            "description": domain.description,
            "position": domain.position,
            "themes-TOTAL_FORMS": 0,
            "themes-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.content
    assert catalogue_version() > before


def test_loaders_move_the_catalogue_version(reference):
    before = catalogue_version()
    taxonomy_load()
    assert catalogue_version() > before
    assert Territory.objects.filter(kind="commune").exists()
