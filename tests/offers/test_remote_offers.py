"""Offers without a place: remote and area-wide services through the API, the imports and the exports, the `remote`
filter, the territory filter through the service area, and France (FR) as a territory."""

import csv
import io
import json

import pytest

from offers.models import Offer, Territory, TerritoryKind
from offers.services import territories_load_geojson
from tests.offers.factories import DATA_INCLUSION_SERVICES, make_offer

pytestmark = pytest.mark.django_db

OFFERS = "/api/v1/offers/"


def remote_body(organisation, **overrides) -> dict:
    return {
        "title": "Téléconsultation de médecine générale",
        "description": "Consultations vidéo avec un médecin généraliste, sur rendez-vous.",
        "domain": "daily-life",
        "themes": ["health-care"],
        "organisation": organisation.slug,
        "remote": True,
        "service_area": ["FR"],
        "is_free": True,
        "status": "published",
        **overrides,
    }


def _named(content: bytes, name: str):
    file = io.BytesIO(content)
    file.name = name
    return file


# France as a territory -----------------------------------------------------------------------------------------------


def test_france_is_a_territory_covering_every_region(anonymous_client, reference):
    france = Territory.objects.get(kind=TerritoryKind.COUNTRY, code="FR")
    regions = sorted(Territory.objects.filter(kind=TerritoryKind.REGION).values_list("path", flat=True))
    assert france.paths == regions and france.parent is None
    body = anonymous_client.get("/api/v1/territories/", {"within": "FR", "kind": "commune"}).json()
    assert body["count"] == Territory.objects.filter(kind=TerritoryKind.COMMUNE, retired=False).count()
    assert anonymous_client.get("/api/v1/territories/", {"kind": "country"}).json()["results"][0]["code"] == "FR"


def test_france_follows_the_regions_loaded(no_territories):
    territories_load_geojson()
    france = Territory.objects.get(kind=TerritoryKind.COUNTRY, code="FR")
    assert france.paths == ["r75/"]
    again = territories_load_geojson()
    assert (again.created, again.updated) == (0, 0)  # France is derived, not counted


# API: create, read, validation ---------------------------------------------------------------------------------------


def test_create_remote_offer_without_commune(editor_a_client, organisation_a):
    response = editor_a_client.post(OFFERS, remote_body(organisation_a), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["commune"], body["commune_name"], body["latitude"], body["longitude"]) == (None, None, None, None)
    assert body["remote"] is True
    assert body["service_area"] == ["country:FR"]
    offer = Offer.objects.get(pk=body["id"])
    assert offer.commune is None and offer.remote
    assert editor_a_client.get(f"{OFFERS}{body['id']}/").json()["commune"] is None


def test_offer_with_commune_is_not_remote_by_default(editor_a_client, organisation_a):
    body = remote_body(organisation_a, commune="23096", service_area=[])
    del body["remote"]
    response = editor_a_client.post(OFFERS, body, format="json")
    assert response.status_code == 201
    assert response.json()["remote"] is False and response.json()["service_area"] == ["commune:23096"]


def test_no_commune_and_no_service_area_is_refused_naming_both(editor_a_client, organisation_a):
    response = editor_a_client.post(OFFERS, remote_body(organisation_a, service_area=[]), format="json")
    assert response.status_code == 400
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"commune", "service_area"}
    assert "service_area" in response.json()["errors"][0]["message"]
    assert Offer.objects.count() == 0


def test_one_coordinate_without_commune_is_refused(editor_a_client, organisation_a):
    response = editor_a_client.post(OFFERS, remote_body(organisation_a, latitude=46.1), format="json")
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["latitude"]


def test_coordinates_without_commune_are_kept_and_checked(editor_a_client, organisation_a):
    created = editor_a_client.post(OFFERS, remote_body(organisation_a, latitude=46.1, longitude=1.9), format="json")
    assert created.status_code == 201
    assert (created.json()["latitude"], created.json()["commune"]) == (46.1, None)
    abroad = editor_a_client.post(OFFERS, remote_body(organisation_a, latitude=40.4, longitude=-3.7), format="json")
    assert abroad.status_code == 400
    assert abroad.json()["errors"][0]["field"] == "latitude"


def test_removing_the_commune_of_an_offer(editor_a_client, organisation_a):
    offer = make_offer(organisation=organisation_a)
    alone = editor_a_client.patch(f"{OFFERS}{offer.pk}/", {"commune": None}, format="json")
    assert alone.status_code == 400  # its default service area was the commune
    assert {error["field"] for error in alone.json()["errors"]} == {"commune", "service_area"}
    moved = editor_a_client.patch(f"{OFFERS}{offer.pk}/", {"commune": None, "service_area": ["23"]}, format="json")
    assert moved.status_code == 200, moved.json()
    assert (moved.json()["commune"], moved.json()["latitude"]) == (None, None)
    assert moved.json()["service_area"] == ["departement:23"]


def test_admin_applies_the_same_rule(admin_user, organisation_a):
    from django.test import Client

    from offers.models import Domain, Theme

    client = Client()
    client.force_login(admin_user)
    data = {
        "title": "Téléconsultation",
        "description": "Consultations vidéo.",
        "domain": Domain.objects.get(code="daily-life").pk,
        "themes": [Theme.objects.get(code="health-care").pk],
        "organisation": organisation_a.pk,
        "remote": "on",
        "is_free": "on",
        "status": "published",
        "source": "manual",
    }
    response = client.post("/admin/offers/offer/add/", data)
    assert response.status_code == 200  # the form again, with the error
    assert "or a service_area" in response.content.decode()
    data["service_area"] = [Territory.objects.get(kind=TerritoryKind.COUNTRY).pk]
    response = client.post("/admin/offers/offer/add/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    offer = Offer.objects.get()
    assert offer.commune is None and offer.remote and offer.latitude is None


# Filters -------------------------------------------------------------------------------------------------------------


def test_remote_filter(anonymous_client, organisation_a):
    make_offer(organisation=organisation_a, title="Sur place")
    make_offer(organisation=organisation_a, title="À distance", commune=None, remote=True, service_area=["FR"])
    remote = anonymous_client.get(OFFERS, {"remote": "true"}).json()
    assert [row["title"] for row in remote["results"]] == ["À distance"]
    on_site = anonymous_client.get(OFFERS, {"remote": "false"}).json()
    assert [row["title"] for row in on_site["results"]] == ["Sur place"]
    assert anonymous_client.get(OFFERS, {"remote": "maybe"}).status_code == 400


def test_territory_filter_finds_offers_without_a_place_through_their_service_area(anonymous_client, organisation_a):
    make_offer(organisation=organisation_a, title="France entière", commune=None, remote=True, service_area=["FR"])
    make_offer(organisation=organisation_a, title="Creuse", commune=None, service_area=["23"])
    make_offer(organisation=organisation_a, title="Grand Guéret", commune=None, service_area=["200034825"])
    make_offer(organisation=organisation_a, title="Aubusson", commune="23008")

    def titles(territory: str) -> list[str]:
        response = anonymous_client.get(OFFERS, {"territory": territory})
        assert response.status_code == 200, response.json()
        return sorted(row["title"] for row in response.json()["results"])

    assert titles("23096") == ["Creuse", "France entière", "Grand Guéret"]  # Guéret
    assert titles("23008") == ["Aubusson", "Creuse", "France entière"]
    assert titles("FR") == ["Aubusson", "Creuse", "France entière", "Grand Guéret"]
    assert titles("region:75") == ["Aubusson", "Creuse", "France entière", "Grand Guéret"]


def test_near_never_returns_offers_without_coordinates(anonymous_client, organisation_a):
    make_offer(organisation=organisation_a, title="Guéret")
    make_offer(organisation=organisation_a, title="France entière", commune=None, remote=True, service_area=["FR"])
    body = anonymous_client.get(OFFERS, {"near": "46.17,1.87", "radius_km": 50}).json()
    assert [row["title"] for row in body["results"]] == ["Guéret"]


# Imports and exports -------------------------------------------------------------------------------------------------


def test_csv_import_of_remote_offers(editor_a_client, organisation_a):
    content = (
        "identifiant;titre;description;domaine;thèmes;organisation;commune;à distance;gratuit;zone\n"
        f"r-1;Coaching en ligne;Ateliers vidéo.;jobs;training;{organisation_a.slug};;oui;oui;FR\n"
        f"r-2;Permanence;Sur place à Guéret.;jobs;training;{organisation_a.slug};23096;non;oui;\n"
        f"r-3;Sans lieu ni zone;Rien.;jobs;training;{organisation_a.slug};;oui;oui;\n"
    ).encode()
    refused = editor_a_client.post(
        f"{OFFERS}import/", {"file": _named(content, "offres.csv"), "source": "cd23"}, format="multipart"
    )
    assert refused.status_code == 400
    problems = {(error["line"], error["field"]) for error in refused.json()["errors"]}
    assert problems == {(4, "commune"), (4, "service_area")}
    assert Offer.objects.count() == 0
    content = content.rsplit(b"\n", 2)[0] + b"\n"
    response = editor_a_client.post(
        f"{OFFERS}import/", {"file": _named(content, "offres.csv"), "source": "cd23"}, format="multipart"
    )
    assert response.status_code == 200, response.json()
    online = Offer.objects.get(external_id="r-1")
    assert online.remote and online.commune is None and online.latitude is None
    assert list(online.service_area.values_list("code", flat=True)) == ["FR"]
    assert not Offer.objects.get(external_id="r-2").remote


def test_json_import_with_null_commune(editor_a_client, organisation_a):
    records = [
        {
            "identifiant": "j-1",
            "titre": "Conseil numérique par téléphone",
            "description": "Aide aux démarches en ligne.",
            "domaine": "daily-life",
            "thèmes": ["digital"],
            "commune": None,
            "remote": True,
            "zone": ["departement:23"],
            "gratuit": True,
        }
    ]
    response = editor_a_client.post(
        f"{OFFERS}import/",
        {"file": _named(json.dumps(records).encode(), "offres.json"), "organisation": organisation_a.slug},
        format="multipart",
    )
    assert response.status_code == 200, response.json()
    offer = Offer.objects.get(external_id="j-1")
    assert offer.commune is None and offer.remote


def test_exports_of_an_offer_without_a_place(anonymous_client, organisation_a):
    make_offer(organisation=organisation_a, title="France entière", commune=None, remote=True, service_area=["FR"])
    response = anonymous_client.get(f"{OFFERS}export/", {"format": "csv"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode().lstrip("\ufeff"))))
    assert (rows[0]["commune"], rows[0]["latitude"], rows[0]["service_area"]) == ("", "", "country:FR")
    assert rows[0]["remote"] == rows[0]["is_free"] == "True"  # booleans as the CSV writes them
    response = anonymous_client.get(f"{OFFERS}export/", {"format": "json"})
    item = json.loads(b"".join(response.streaming_content))[0]
    assert (item["commune"], item["latitude"], item["remote"]) == (None, None, True)
    response = anonymous_client.get(f"{OFFERS}export/", {"format": "xlsx"})
    assert response.status_code == 200


# data·inclusion ------------------------------------------------------------------------------------------------------

REMOTE_SERVICE = {
    **DATA_INCLUSION_SERVICES[0],
    "id": "dora--en-ligne",
    "nom": "Atelier CV en ligne",
    "modes_accueil": ["a-distance"],
    "zone_eligibilite": ["france"],
    "code_insee": None,
    "adresse": None,
    "latitude": None,
    "longitude": None,
}


def di_upload(client, records, organisation):
    return client.post(
        f"{OFFERS}import/data-inclusion/",
        {"file": _named(json.dumps(records).encode(), "services.json"), "organisation": organisation.slug},
        format="multipart",
    )


def test_data_inclusion_remote_national_service(editor_a_client, organisation_a):
    regional = {**REMOTE_SERVICE, "id": "dora--creuse", "zone_eligibilite": ["23", "200034825"]}
    both = {**DATA_INCLUSION_SERVICES[1], "modes_accueil": ["en-presentiel", "a-distance"]}
    response = di_upload(editor_a_client, [REMOTE_SERVICE, regional, both], organisation_a)
    assert response.status_code == 200, response.json()
    national = Offer.objects.get(external_id="dora--en-ligne")
    assert national.remote and national.commune is None and national.latitude is None
    assert list(national.service_area.values_list("code", flat=True)) == ["FR"]
    creuse = Offer.objects.get(external_id="dora--creuse")
    assert sorted(creuse.service_area.values_list("kind", "code")) == [("departement", "23"), ("epci", "200034825")]
    on_site_too = Offer.objects.get(external_id="ft--garde")
    assert on_site_too.remote and on_site_too.commune.code == "23008"


def test_data_inclusion_remote_service_without_zone_or_on_site_without_commune(editor_a_client, organisation_a):
    no_zone = {**REMOTE_SERVICE, "id": "x-1", "zone_eligibilite": None}
    on_site = {**REMOTE_SERVICE, "id": "x-2", "modes_accueil": ["en-presentiel"]}
    response = di_upload(editor_a_client, [no_zone, on_site], organisation_a)
    assert response.status_code == 400
    problems = [(error["line"], error["field"], error["code"]) for error in response.json()["errors"]]
    assert problems == [(1, "zone_eligibilite", "required"), (2, "code_insee", "required")]
    assert Offer.objects.count() == 0
