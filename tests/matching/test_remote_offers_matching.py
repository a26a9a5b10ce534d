"""Offers without a place in the matching: a remote offer serving all of France covers a need in a Creuse commune
(no distance, neutral geography), one serving another area does not reach it; search gives `"commune": null`;
reports and maps of such a run work."""

import numpy as np
import pytest

from matching import services
from matching.index import offer_index_get
from matching.models import MatchedOffer, NeedResult, RunStatus
from matching.selectors import offer_arrays, taxonomy_arrays
from offers.models import Territory
from offers.selectors import territory_subtree_q
from tests.audiences.factories import make_need
from tests.conftest import make_user
from tests.matching.conftest import run_chunks
from tests.offers.factories import make_offer, make_organisation

pytestmark = pytest.mark.django_db

SEARCH = "/api/v1/matching/search/"
BOURGANEUF = "23030"
GRAND_GUERET = "200034825"


@pytest.fixture
def remote_catalogue(reference):
    organisation = make_organisation()
    # Bourganeuf lies outside the Grand Guéret agglomeration: the second offer does not serve it.
    assert not Territory.objects.filter(
        territory_subtree_q(Territory.objects.get(code=GRAND_GUERET)), code=BOURGANEUF
    ).exists()
    national = make_offer(
        organisation=organisation,
        title="Téléconsultation de médecine générale",
        description="Consultation vidéo avec un médecin généraliste, sur rendez-vous, partout en France.",
        themes=["health-care"],
        commune=None,
        remote=True,
        service_area=["FR"],
    )
    local = make_offer(
        organisation=organisation,
        title="Téléconsultation de médecine générale du Grand Guéret",
        description="Consultation vidéo avec un médecin généraliste pour les habitants de l'agglomération.",
        themes=["health-care"],
        commune=None,
        remote=True,
        service_area=[GRAND_GUERET],
    )
    placed = make_offer(
        organisation=organisation,
        title="Cabinet de médecine générale de Guéret",
        description="Consultation avec un médecin généraliste au cabinet, sur rendez-vous.",
        themes=["health-care"],
    )
    need = make_need(
        statement="Consulter un médecin généraliste sans attendre",
        themes=("health-care",),
        territory=BOURGANEUF,
        importance=0.9,
        satisfaction=0.2,
    )
    return {"national": national, "local": local, "placed": placed}, need


def test_offer_arrays_mark_offers_without_a_place(remote_catalogue):
    offers, _need = remote_catalogue
    arrays = offer_arrays(taxonomy=taxonomy_arrays())
    position = {int(offer_id): index for index, offer_id in enumerate(arrays.ids)}
    national = position[offers["national"].pk]
    assert arrays.commune[national] == -1
    assert np.isnan(arrays.latitude[national]) and np.isnan(arrays.longitude[national])
    assert arrays.commune[position[offers["placed"].pk]] >= 0


def test_index_inside_through_the_service_area_only(remote_catalogue):
    offers, _need = remote_catalogue
    index = offer_index_get()
    position = {int(offer_id): index for index, offer_id in enumerate(index.offers.ids)}
    bourganeuf = Territory.objects.get(code=BOURGANEUF)
    inside = index.inside(bourganeuf.path)
    assert inside[position[offers["national"].pk]]
    assert not inside[position[offers["local"].pk]]
    assert not inside[position[offers["placed"].pk]]  # in Guéret, 30 km away
    gueret = Territory.objects.get(code="23096")
    assert index.inside(gueret.path)[position[offers["local"].pk]]


def test_run_counts_a_national_remote_offer_as_reachable(remote_catalogue):
    offers, need = remote_catalogue
    run = services.run_start(launched_by=make_user("launcher", analyst=True))
    run_chunks(run)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    result = NeedResult.objects.get(run=run, need=need)
    matched = {row.offer_id: row for row in MatchedOffer.objects.filter(result=result)}
    national = matched[offers["national"].pk]
    assert national.distance_km is None and national.geography == 1.0
    placed = matched[offers["placed"].pk]
    assert placed.distance_km > 20 and placed.geography < 1.0
    local = matched[offers["local"].pk]  # outside its service area: out of reach, still without a distance
    assert local.geography == 0.0 and local.distance_km is None and local.score == 0.0
    assert national.score > placed.score


def test_reports_and_maps_of_a_run_with_remote_offers(remote_catalogue, admin_client):
    run = services.run_start(launched_by=make_user("launcher", analyst=True))
    run_chunks(run)
    base = f"/api/v1/matching/runs/{run.id}"
    result = NeedResult.objects.get(run=run)
    detail = admin_client.get(f"{base}/needs/{result.pk}/")
    assert detail.status_code == 200, detail.json()
    assert any(offer["distance_km"] is None for offer in detail.json()["matched_offers"])
    for params in (
        {"group_by": "territory", "territory_level": "commune"},
        {"group_by": "domain", "format": "html"},
        {"group_by": "domain", "format": "xlsx"},
    ):
        assert admin_client.get(f"{base}/report/", params).status_code == 200, params
    assert admin_client.get(f"{base}/map/", {"level": "commune", "format": "json"}).status_code == 200


def test_search_gives_a_null_commune(remote_catalogue, anonymous_client):
    offers, _need = remote_catalogue
    body = anonymous_client.post(
        SEARCH, {"text": "consulter un médecin généraliste", "territory": BOURGANEUF}, format="json"
    ).json()
    by_id = {row["id"]: row for row in body["results"]}
    national = by_id[offers["national"].pk]
    assert national["commune"] is None and national["distance_km"] is None
    assert national["breakdown"]["geography"] == 1.0
    assert by_id[offers["placed"].pk]["commune"] == {"code": "23096", "name": "Guéret"}
    near = anonymous_client.post(
        SEARCH, {"text": "consulter un médecin généraliste", "near": {"lat": 45.95, "lon": 1.76}}, format="json"
    ).json()
    assert {row["id"]: row["commune"] for row in near["results"]}[offers["national"].pk] is None
