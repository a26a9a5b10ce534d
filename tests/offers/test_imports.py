"""Offer imports: CSV/JSON with French headers, upsert, dry run, all-or-nothing with line numbers, caps, permissions,
data·inclusion mapping, the management command and the demo catalogue."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from api.exceptions import InvalidInput
from offers.models import Offer, Organisation
from offers.services import DEMO_DIR, offers_demo_load
from tests.offers.factories import DATA_INCLUSION_SERVICES

pytestmark = pytest.mark.django_db

HEADER = (
    "identifiant;titre;description;domaine;thèmes;organisation;commune;gratuit;prix;capacité;unité;"
    "date de début;date de fin;statut;publics;zone"
)


def csv_file(organisation, *rows: str) -> bytes:
    lines = [HEADER, *(row.replace("{org}", organisation.slug) for row in rows)]
    return ("\n".join(lines) + "\n").encode()


GOOD_ROWS = (
    "c-1;Crèche multi-accueil;12 places pour les 0-3 ans.;daily-life;childcare;{org};23096;non;3,50;12;places;"
    "01/09/2025;;publiée;families;200034825",
    "c-2;Maison à louer;Maison de ville, 3 chambres.;housing;rent|buy;{org};23008;non;650;1;logement;"
    "2025-07-01;2025-12-31;published;;",
)


def upload(client, content: bytes, name="offres.csv", **data):
    return client.post("/api/v1/offers/import/", {"file": _named(content, name), **data}, format="multipart")


def _named(content: bytes, name: str):
    handle = io.BytesIO(content)
    handle.name = name
    return handle


def test_csv_import_with_french_headers(editor_a_client, organisation_a):
    response = upload(editor_a_client, csv_file(organisation_a, *GOOD_ROWS), source="cd23")
    assert response.status_code == 200, response.content
    assert response.json() == {"created": 2, "updated": 0, "unchanged": 0, "total": 2, "dry_run": False}
    creche = Offer.objects.get(source="cd23", external_id="c-1")
    assert (creche.capacity, str(creche.price_amount), creche.status) == (12, "3.50", "published")
    assert creche.available_from.isoformat() == "2025-09-01"
    assert list(creche.audiences.values_list("code", flat=True)) == ["families"]
    assert list(creche.service_area.values_list("code", flat=True)) == ["200034825"]
    assert "creche" in creche.search_text
    house = Offer.objects.get(source="cd23", external_id="c-2")
    assert sorted(house.themes.values_list("code", flat=True)) == ["buy", "rent"]
    assert list(house.service_area.values_list("code", flat=True)) == ["23008"]  # default: its commune


def test_reimport_upserts(editor_a_client, organisation_a):
    upload(editor_a_client, csv_file(organisation_a, *GOOD_ROWS), source="cd23")
    changed = GOOD_ROWS[1].replace("Maison à louer", "Maison à louer à Aubusson")
    response = upload(editor_a_client, csv_file(organisation_a, GOOD_ROWS[0], changed), source="cd23")
    assert response.json() == {"created": 0, "updated": 1, "unchanged": 1, "total": 2, "dry_run": False}
    assert Offer.objects.count() == 2
    assert Offer.objects.get(external_id="c-2").title == "Maison à louer à Aubusson"
    # Another source is another offer.
    assert upload(editor_a_client, csv_file(organisation_a, GOOD_ROWS[0]), source="autre").json()["created"] == 1


def test_dry_run_writes_nothing(editor_a_client, organisation_a):
    response = upload(editor_a_client, csv_file(organisation_a, *GOOD_ROWS), source="cd23", dry_run="true")
    assert response.json() == {"created": 2, "updated": 0, "unchanged": 0, "total": 2, "dry_run": True}
    assert Offer.objects.count() == 0


def test_one_bad_row_rejects_the_file_with_every_line(editor_a_client, organisation_a):
    bad = (
        "c-3;Gîte;Un gîte.;tourism;childcare;{org};23096;oui;;;;;;published;;",  # theme of another domain
        "c-4;Boulangerie;À reprendre.;jobs;business-takeover;{org};99999;peut-être;;-2;;31/02/2025;;x;;",
    )
    response = upload(editor_a_client, csv_file(organisation_a, GOOD_ROWS[0], *bad, GOOD_ROWS[1]), source="cd23")
    assert response.status_code == 400
    body = response.json()
    assert "nothing was written" in body["message"]
    problems = {(error["line"], error["field"]) for error in body["errors"]}
    assert (3, "themes") in problems
    assert {(4, "commune"), (4, "is_free"), (4, "capacity"), (4, "available_from"), (4, "status")} <= problems
    assert all(error["line"] in (3, 4) for error in body["errors"])
    assert Offer.objects.count() == 0


def test_windows_1252_and_comma_separated(editor_a_client, organisation_a):
    content = (
        "identifiant,titre,description,domaine,thèmes,organisation,commune,gratuit\n"
        f'w-1,Crèche à Guéret,"Accueil des enfants, de 0 à 3 ans",daily-life,childcare,'
        f"{organisation_a.slug},23096,oui\n"
    ).encode("cp1252")
    response = upload(editor_a_client, content, source="cd23")
    assert response.status_code == 200, response.content
    assert Offer.objects.get().title == "Crèche à Guéret"


def test_json_import(editor_a_client, organisation_a):
    records = [
        {
            "identifiant": "j-1",
            "titre": "Médecin généraliste",
            "description": "Cabinet à reprendre.",
            "domaine": "daily-life",
            "thèmes": ["health-care"],
            "organisation": organisation_a.slug,
            "commune": "23096",
            "gratuit": False,
            "prix": "25",
            "latitude": 46.17,
            "longitude": 1.87,
        }
    ]
    response = upload(editor_a_client, json.dumps(records).encode(), name="offres.json", source="cd23")
    assert response.status_code == 200, response.content
    offer = Offer.objects.get()
    assert (offer.latitude, offer.longitude) == (46.17, 1.87)


def test_editor_cannot_import_into_another_organisation(editor_b_client, editor_a_client, organisation_a):
    response = upload(editor_b_client, csv_file(organisation_a, *GOOD_ROWS), source="cd23")
    assert response.status_code == 400
    assert {(error["line"], error["code"]) for error in response.json()["errors"]} == {
        (2, "permission_denied"),
        (3, "permission_denied"),
    }
    assert Offer.objects.count() == 0
    upload(editor_a_client, csv_file(organisation_a, *GOOD_ROWS), source="cd23")
    # Nor overwrite another organisation's offer through its identifier.
    response = upload(editor_b_client, csv_file(organisation_a, GOOD_ROWS[0]), source="cd23")
    assert response.json()["errors"][0]["code"] == "permission_denied"


def test_import_requires_an_editor(anonymous_client, make_plain_client, organisation_a):
    assert upload(anonymous_client, csv_file(organisation_a, *GOOD_ROWS)).status_code == 401
    assert upload(make_plain_client, csv_file(organisation_a, *GOOD_ROWS)).status_code == 403


@pytest.fixture
def make_plain_client(db):
    from tests.conftest import client_for, make_user

    return client_for(make_user("no-organisation"))


def test_caps(editor_a_client, organisation_a, monkeypatch):
    from offers import services

    monkeypatch.setattr(services, "IMPORT_MAX_ROWS", 1)
    response = editor_a_client.post(
        "/api/v1/offers/import/", {"file": _named(csv_file(organisation_a, *GOOD_ROWS), "o.csv")}, format="multipart"
    )
    assert response.status_code == 413
    assert "the limit is 1 per upload" in response.json()["message"]
    assert Offer.objects.count() == 0
    monkeypatch.setattr(services, "IMPORT_MAX_BYTES", 100)
    response = editor_a_client.post(
        "/api/v1/offers/import/", {"file": _named(csv_file(organisation_a, *GOOD_ROWS), "o.csv")}, format="multipart"
    )
    assert response.status_code == 413
    assert "limit is 100 bytes" in response.json()["message"]


def test_uploads_are_throttled(editor_a_client, organisation_a, settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "uploads": "2/hour"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    statuses = [
        upload(editor_a_client, csv_file(organisation_a, *GOOD_ROWS), source="cd23", dry_run="true").status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]


# data·inclusion ----------------------------------------------------------------------------------------------------


def di_upload(client, records, organisation, **data):
    return client.post(
        "/api/v1/offers/import/data-inclusion/",
        {"file": _named(json.dumps(records).encode(), "services.json"), "organisation": organisation.slug, **data},
        format="multipart",
    )


def test_data_inclusion_mapping(editor_a_client, organisation_a):
    response = di_upload(editor_a_client, DATA_INCLUSION_SERVICES, organisation_a)
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 2
    job = Offer.objects.get(source="dora", external_id="dora--svc-1")
    assert job.domain.code == "jobs"
    assert list(job.themes.values_list("code", flat=True)) == ["salaried-job"]
    assert sorted(job.audiences.values_list("code", flat=True)) == ["jobseekers", "young-workers"]
    assert job.is_free and job.status == "published"
    assert list(job.service_area.values_list("code", flat=True)) == ["200034825"]
    assert (job.latitude, job.longitude) == (46.171, 1.871)
    assert job.url.startswith("https://dora.") and "05 55 00 00 00" in job.contact
    assert job.organisation == organisation_a
    childcare = Offer.objects.get(source="france-travail", external_id="ft--garde")
    # One theme of each domain: ties go to the first listed.
    assert childcare.domain.code == "daily-life"
    assert list(childcare.audiences.all()) == []  # tous-publics = everyone
    assert not childcare.is_free and childcare.price_details == "Selon quotient familial"
    assert (childcare.latitude, childcare.longitude) == (childcare.commune.latitude, childcare.commune.longitude)
    # Idempotent.
    assert di_upload(editor_a_client, DATA_INCLUSION_SERVICES, organisation_a).json()["unchanged"] == 2


def test_data_inclusion_unmapped_and_invalid_records_rejected(editor_a_client, organisation_a):
    unmapped = {
        **DATA_INCLUSION_SERVICES[0],
        "id": "x-1",
        "thematiques": ["remobilisation--bien-etre-confiance-en-soi"],
    }
    no_commune = {**DATA_INCLUSION_SERVICES[0], "id": "x-2", "code_insee": None}
    unknown_zone = {**DATA_INCLUSION_SERVICES[0], "id": "x-3", "zone_eligibilite": ["75056"]}
    response = di_upload(
        editor_a_client, [DATA_INCLUSION_SERVICES[1], unmapped, no_commune, unknown_zone], organisation_a
    )
    assert response.status_code == 400
    problems = [(error["line"], error["field"], error["code"]) for error in response.json()["errors"]]
    assert problems == [
        (2, "thematiques", "unmapped"),
        (3, "code_insee", "required"),
        (4, "service_area.0", "not_found"),
    ]
    assert Offer.objects.count() == 0
    missing = di_upload(editor_a_client, DATA_INCLUSION_SERVICES, organisation_a).status_code
    assert missing == 200


def test_data_inclusion_needs_an_organisation(admin_client, reference):
    response = admin_client.post(
        "/api/v1/offers/import/data-inclusion/",
        {"file": _named(json.dumps(DATA_INCLUSION_SERVICES).encode(), "services.json")},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "organisation"


# Management command -------------------------------------------------------------------------------------------------


def test_import_offers_command(tmp_path, organisation_a, capsys):
    path = tmp_path / "offres.csv"
    path.write_bytes(csv_file(organisation_a, *GOOD_ROWS))
    call_command("import_offers", str(path), "--source", "cd23", "--dry-run")
    assert Offer.objects.count() == 0
    call_command("import_offers", str(path), "--source", "cd23")
    assert Offer.objects.count() == 2
    captured = capsys.readouterr()
    assert "2 created" in captured.out
    assert "100%" in captured.err
    path.write_bytes(csv_file(organisation_a, GOOD_ROWS[0].replace("23096", "00000")))
    with pytest.raises(CommandError) as raised:
        call_command("import_offers", str(path), "--source", "cd23")
    assert "line 2 commune" in str(raised.value)


def test_import_offers_command_data_inclusion(tmp_path, organisation_a):
    path = tmp_path / "services.json"
    path.write_text(json.dumps(DATA_INCLUSION_SERVICES))
    call_command("import_offers", str(path), "--format", "data-inclusion", "--organisation", organisation_a.slug)
    assert Offer.objects.count() == 2


# Demo catalogue --------------------------------------------------------------------------------------------------


def test_demo_load_from_small_fixtures(tmp_path, reference, django_user_model):
    organisations = [
        {
            "key": "agglo-grand-gueret",
            "name": "Agglo du Grand Guéret",
            "kind": "local-authority",
            "territory": "200034825",
            "email": "accueil@example.org",
            "phone": "",
            "website": "",
        },
        {
            "key": "ot-aubusson",
            "name": "Office de tourisme d'Aubusson",
            "kind": "association",
            "territory": "23008",
            "email": "",
            "phone": "",
            "website": "",
        },
    ]
    offers = [
        {
            "external_id": "d-1",
            "title": "Crèche",
            "description": "Multi-accueil.",
            "domain": "daily-life",
            "themes": ["childcare"],
            "organisation": "agglo-grand-gueret",
            "commune": "23096",
            "latitude": None,
            "longitude": None,
            "service_area": [],
            "audiences": ["families"],
            "is_free": False,
            "price_amount": 2.5,
            "price_details": "",
            "capacity": 12,
            "capacity_unit": "places",
            "available_from_days": -30,
            "available_until_days": 335,
            "status": "published",
            "url": "",
            "contact": "",
            "accessibility": "",
        },
        {
            "external_id": "d-2",
            "title": "Festival",
            "description": "Tapisserie.",
            "domain": "culture",
            "themes": ["cultural-event"],
            "organisation": "ot-aubusson",
            "commune": "23008",
            "latitude": 45.957,
            "longitude": 2.168,
            "service_area": ["23"],
            "audiences": [],
            "is_free": True,
            "price_amount": None,
            "price_details": "",
            "capacity": None,
            "capacity_unit": "",
            "available_from_days": None,
            "available_until_days": None,
            "status": "published",
            "url": "",
            "contact": "",
            "accessibility": "",
        },
    ]
    (tmp_path / "o.json").write_text(json.dumps(organisations))
    (tmp_path / "f.json").write_text(json.dumps(offers))
    editor = django_user_model.objects.create_user("editeur")
    report = offers_demo_load(
        organisations_path=tmp_path / "o.json", offers_path=tmp_path / "f.json", editor_username="editeur"
    )
    assert report.created == 2
    assert Offer.objects.filter(source="demo").count() == 2
    assert list(editor.organisations.values_list("slug", flat=True)) == ["agglo-grand-gueret"]
    again = offers_demo_load(organisations_path=tmp_path / "o.json", offers_path=tmp_path / "f.json")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert Organisation.objects.filter(slug__in=["agglo-grand-gueret", "ot-aubusson"]).count() == 2
    offers[1]["commune"] = "99999"
    (tmp_path / "f.json").write_text(json.dumps(offers))
    with pytest.raises(InvalidInput):
        offers_demo_load(organisations_path=tmp_path / "o.json", offers_path=tmp_path / "f.json")


@pytest.mark.skipif(not (DEMO_DIR / "offers.json").exists(), reason="the demo catalogue files have not landed yet")
def test_real_demo_catalogue_loads_and_is_idempotent(reference):
    report = offers_demo_load()
    assert report.created >= 300
    assert Offer.objects.values("domain").distinct().count() == 5
    again = offers_demo_load()
    assert (again.created, again.updated) == (0, 0)
