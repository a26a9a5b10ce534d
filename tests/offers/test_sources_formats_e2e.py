"""The national formats end to end: each test file uploaded through the API (202, then the sync the worker runs) and
through `manage.py sync_source`, the offers it creates and the records it skips; a second file with records removed,
changed and added gives exactly the expected counts; a data·inclusion page with remote national services; whole
files refused; the demo sources; the catalogue stamps the matching index reads."""

import copy
import io
import json
from datetime import date
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import timezone

from offers.models import Offer, OfferStatus, Source, SourceSync, SyncStatus, Territory, TerritoryKind
from offers.services.demo import DEMO_SOURCES, sources_demo_load
from offers.services.sources import source_sync, source_sync_run
from tests.conftest import client_for
from tests.offers.sources_files import file_day, source_file
from tests.offers.sources_fixtures import *  # noqa: F403 (feed_server: a local HTTP server)

pytestmark = pytest.mark.django_db

DT = "https://data.datatourisme.fr/23/"

# Per format: the list holding the records, the identifier's key, how to change a title, what the test file gives.
FORMATS = {
    "france_travail": {
        "file": "france_travail.json",
        "list": "resultats",
        "id": "id",
        "title": lambda record, text: record.update(intitule=text),
        "created": {"186XKLM", "186XKLN", "186XKLP", "186XKLQ", "186XKLR", "186XKLS", "186XKLU", "186XKLV"},
        "skipped": [(7, None, "no_identifier"), (8, "186XKLT", "outside_france"), (11, "186XKLW", "outside_france")],
    },
    "datatourisme": {
        "file": "datatourisme.json",
        "list": "@graph",
        "id": "@id",
        "title": lambda record, text: record.update({"rdfs:label": {"fr": [text]}}),
        "created": {
            f"{DT}0b1f3c2e-7a4d-3b8e-9c1a-2f6e8d4a1b01",
            f"{DT}1c2d3e4f-5a6b-3c7d-8e9f-0a1b2c3d4e02",
            f"{DT}2d3e4f5a-6b7c-3d8e-9f0a-1b2c3d4e5f03",
            f"{DT}3e4f5a6b-7c8d-3e9f-0a1b-2c3d4e5f6a04",
            f"{DT}5a6b7c8d-9e0f-3a1b-2c3d-4e5f6a7b8c06",
            f"{DT}6b7c8d9e-0f1a-3b2c-3d4e-5f6a7b8c9d07",
        },
        "skipped": [
            (5, f"{DT}4f5a6b7c-8d9e-3f0a-1b2c-3d4e5f6a7b05", "event_over"),
            (8, "SANSID01", "unmapped_category"),
            (9, None, "no_identifier"),
            (10, f"{DT}7c8d9e0f-1a2b-3c3d-4e5f-6a7b8c9d0e08", "outside_france"),
            (11, f"{DT}8d9e0f1a-2b3c-3d4e-5f6a-7b8c9d0e1f09", "unmapped_category"),
        ],
    },
    "openagenda": {
        "file": "openagenda.json",
        "list": "events",
        "id": "uid",
        "title": lambda record, text: record.update(title={"fr": text}),
        "created": {"48213771", "48213772", "48213773", "48213774", "48213778"},
        "skipped": [
            (5, "48213775", "event_cancelled"),
            (6, "48213776", "event_over"),
            (7, None, "no_identifier"),
            (8, "48213777", "outside_france"),
        ],
    },
}


def commune(code: str) -> Territory:
    return Territory.objects.get(kind=TerritoryKind.COMMUNE, code=code)


def make_source(organisation, format_code: str, **values) -> Source:
    values = {
        "code": f"{format_code}-e2e",
        "name": format_code,
        "format": format_code,
        "failure_share_max": 0.5,
        **values,
    }
    return Source.objects.create(organisation=organisation, **values)


def sync_by_api(client, source: Source, content: bytes, name: str) -> SourceSync:
    upload = SimpleUploadedFile(name, content, content_type="application/json")
    response = client.post(f"/api/v1/sources/{source.pk}/syncs/", {"file": upload}, format="multipart")
    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "queued"
    source_sync_run(sync_id=response.json()["id"])  # what the worker runs (test_sources_workers runs real ones)
    body = client.get(f"/api/v1/source-syncs/{response.json()['id']}/").json()
    assert body["status"] == "succeeded", body
    return SourceSync.objects.get(pk=body["id"])


def sync_by_command(source: Source, content: bytes, tmp_path: Path, name: str) -> SourceSync:
    path = tmp_path / name
    path.write_bytes(content)
    call_command("sync_source", source.code, file=path, stdout=open(tmp_path / "out.txt", "w"))  # noqa: SIM115
    return source.syncs.order_by("-pk").first()


def second_file(format_code: str, content: bytes) -> tuple[bytes, set, set, str]:
    """The test file with two usable records dropped, two changed and one added: (file, dropped, changed, added)."""
    spec = FORMATS[format_code]
    data = json.loads(content)
    records = data[spec["list"]]
    usable = sorted(spec["created"])
    dropped, changed = set(usable[:2]), set(usable[2:4])
    kept = [record for record in records if str(record.get(spec["id"])) not in dropped]
    for record in kept:
        if str(record.get(spec["id"])) in changed:
            spec["title"](record, f"Titre changé {record[spec['id']]}")
    template = next(record for record in records if str(record.get(spec["id"])) == usable[-1])
    added = copy.deepcopy(template)
    added_id = (
        f"{DT}ajout-e2e"
        if format_code == "datatourisme"
        else ("999001" if format_code != "france_travail" else "999XAJ")
    )
    added[spec["id"]] = int(added_id) if isinstance(template[spec["id"]], int) else added_id
    kept.append(added)
    data[spec["list"]] = kept
    return json.dumps(data, ensure_ascii=False).encode(), dropped, changed, str(added_id)


def counts(sync: SourceSync) -> tuple:
    return (sync.created, sync.updated, sync.archived, sync.unchanged, sync.skipped)


def skipped(sync: SourceSync) -> list:
    return [(item["position"], item["external_id"], item["code"]) for item in sync.skipped_records]


@pytest.mark.parametrize("way", ["api", "command"])
@pytest.mark.parametrize("format_code", list(FORMATS))
def test_a_format_imports_end_to_end_then_resyncs_with_exact_counts(
    format_code, way, organisation_a, editor_a_client, tmp_path
):
    spec = FORMATS[format_code]
    # Blaudeix (23023) merged into Guéret: its records land in Guéret.
    blaudeix, gueret = commune("23023"), commune("23096")
    Territory.objects.filter(pk=blaudeix.pk).update(successor=gueret, retired=True)
    source = make_source(organisation_a, format_code)
    content = source_file(spec["file"])

    def run(data: bytes) -> SourceSync:
        if way == "api":
            return sync_by_api(editor_a_client, source, data, spec["file"])
        return sync_by_command(source, data, tmp_path, spec["file"])

    first = run(content)
    assert first.status == SyncStatus.SUCCEEDED, first.failure_message
    assert counts(first) == (len(spec["created"]), 0, 0, 0, len(spec["skipped"]))
    assert skipped(first) == spec["skipped"]
    assert all(item["message"] for item in first.skipped_records)
    offers = {offer.external_id: offer for offer in Offer.objects.filter(origin=source).select_related("commune")}
    assert set(offers) == spec["created"]
    for offer in offers.values():
        assert offer.status == OfferStatus.PUBLISHED and offer.source == source.code
        assert offer.last_sync_id == first.pk and offer.catalogue_seq == first.catalogue_version
        assert offer.commune is not None or offer.remote or offer.service_area.exists()
        assert offer.themes.exists() and offer.domain_id is not None
        assert offer.commune is None or offer.commune.code != "23023"  # never the merged commune
    if format_code == "france_travail":
        nurse = offers["186XKLM"]
        assert (nurse.commune, nurse.latitude, nurse.longitude) == (gueret, 46.171189, 1.871629)
        assert nurse.available_from == file_day(date(2026, 11, 20)) and nurse.domain.code == "jobs"
        assert [t.code for t in nurse.themes.all()] == ["salaried-job"]
        assert "recrutement@ch-gueret.example" in nurse.contact
        assert nurse.source_url == "https://candidat.francetravail.fr/offres/recherche/detail/186XKLM"
        assert offers["186XKLQ"].commune == gueret  # Blaudeix, merged
        assert offers["186XKLR"].remote and offers["186XKLV"].commune is None
        assert {t.code for t in offers["186XKLN"].themes.all()} == {"salaried-job", "training"}
    elif format_code == "datatourisme":
        gite = offers[f"{DT}0b1f3c2e-7a4d-3b8e-9c1a-2f6e8d4a1b01"]
        assert (gite.commune.code, gite.latitude, gite.longitude) == ("23070", 46.389012, 1.618301)
        assert str(gite.price_amount) == "450.00" and not gite.is_free and gite.domain.code == "tourism"
        assert "gite.moulin@example.org" in gite.contact and gite.source_url.startswith(DT)
        assert offers[f"{DT}6b7c8d9e-0f1a-3b2c-3d4e-5f6a7b8c9d07"].commune == gueret  # Blaudeix, merged
        festival = offers[f"{DT}3e4f5a6b-7c8d-3e9f-0a1b-2c3d4e5f6a04"]
        assert (festival.available_from, festival.available_until) == (
            file_day(date(2027, 5, 12)),
            file_day(date(2027, 5, 27)),
        )
        assert festival.is_free and [t.code for t in festival.themes.all()] == ["cultural-event"]
    else:
        concert = offers["48213771"]
        assert (concert.commune, concert.latitude, concert.longitude) == (gueret, 46.169392, 1.869712)
        assert (concert.available_from, concert.available_until) == (file_day(date(2027, 2, 6)),) * 2
        assert str(concert.price_amount) == "8.00" and "15 €" in concert.price_details
        assert concert.contact == "05 55 52 00 00" and concert.domain.code == "culture"
        assert concert.source_url == "https://openagenda.com/creuse/events/concert-orchestre-limousin-gueret"
        online = offers["48213773"]
        assert online.remote and online.commune is None and online.domain.code == "jobs"

    second, dropped, changed, added = second_file(format_code, content)
    again = run(second)
    assert again.status == SyncStatus.SUCCEEDED, again.failure_message
    unchanged = len(spec["created"]) - 4
    assert counts(again) == (1, 2, 2, unchanged, len(spec["skipped"]))
    offers = {offer.external_id: offer for offer in Offer.objects.filter(origin=source)}
    assert {key for key, offer in offers.items() if offer.status == OfferStatus.ARCHIVED} == dropped
    for key in changed:
        assert offers[key].title.startswith("Titre changé") and offers[key].last_sync_id == again.pk
    assert offers[added].status == OfferStatus.PUBLISHED
    # The matching index reads the catalogue stamps: what the sync wrote (archived included) carries its version.
    stamped = {key for key, offer in offers.items() if offer.catalogue_seq == again.catalogue_version}
    assert stamped == dropped | changed | {added}
    assert all(offers[key].catalogue_seq == first.catalogue_version for key in spec["created"] - dropped - changed)

    same = run(second)
    assert counts(same) == (0, 0, 0, len(spec["created"]) - 1, len(spec["skipped"]))
    assert same.catalogue_version is None
    assert Offer.objects.filter(origin=source, catalogue_seq__gt=again.catalogue_version).count() == 0


@pytest.mark.parametrize("years_ahead", [0, 3])
def test_the_test_files_give_the_same_offers_whatever_the_day_the_tests_run(organisation_a, years_ahead):
    """The files are read dated from the day (source_file): in three years, the events to come are still to come and
    those over still over (read as written, every event would be over by then)."""
    today = timezone.localdate()
    today = today.replace(year=today.year + years_ahead, day=min(today.day, 28))
    for format_code, spec in FORMATS.items():
        source = make_source(organisation_a, format_code)
        sync = source_sync(source=source, content=source_file(spec["file"], today=today), today=today)
        assert sync.status == SyncStatus.SUCCEEDED, sync.failure_message
        assert set(Offer.objects.filter(origin=source).values_list("external_id", flat=True)) == spec["created"]
        assert skipped(sync) == spec["skipped"]


def data_inclusion_page() -> bytes:
    """The test file's page (`items`, `total`, `page`, `size`, `pages`) with a remote national service without any
    address and a record of nulls but its identifier, as the API serves them."""
    page = json.loads(source_file("data_inclusion.json"))
    nulls = dict.fromkeys(page["items"][4], None)
    remote = {
        **nulls,
        "source": "france-travail",
        "id": "ft--conseil-a-distance",
        "nom": "Conseil en évolution professionnelle à distance",
        "description": "Entretiens par téléphone ou en visio avec un conseiller.",
        "thematiques": ["choisir-un-metier--identifier-ses-points-forts-et-ses-competences"],
        "modes_accueil": ["a-distance"],
        "zone_eligibilite": ["france"],
        "frais": "gratuit",
        "lien_source": "https://www.francetravail.fr/conseil-a-distance",
    }
    page["items"] = [*page["items"], remote, {**nulls, "id": "dora--rien"}]
    page["total"] = len(page["items"])
    return json.dumps(page, ensure_ascii=False).encode()


def test_a_data_inclusion_page_served_over_http_syncs_remote_national_services_and_lists_the_rest(
    organisation_a, feed_server
):
    feed_server.files["ok"] = data_inclusion_page()
    source = make_source(organisation_a, "data_inclusion", url=feed_server.url("services"))
    sync = source_sync(source=source, content=None)  # fetched from the source's URL
    assert sync.status == SyncStatus.SUCCEEDED, sync.failure_message
    assert (sync.created, sync.skipped) == (6, 6)
    assert skipped(sync) == [
        (5, None, "no_identifier"),
        (6, "dora--sans-nom", "no_title"),
        (7, "dora--sans-lieu", "no_place"),
        (9, "dora--hors-france", "outside_france"),
        (10, None, "not_an_object"),
        (12, "dora--rien", "no_title"),
    ]
    offers = {offer.external_id: offer for offer in Offer.objects.filter(origin=source).select_related("commune")}
    regions = set(Territory.objects.filter(kind=TerritoryKind.REGION, retired=False).values_list("code", flat=True))
    for key in ("ft--conseil-a-distance", "msp--teleconsultation-psy"):
        offer = offers[key]
        assert offer.remote and offer.commune is None and offer.latitude is None
        assert {t.code for t in offer.service_area.all()} == regions  # "france": the whole country
        assert offer.status == OfferStatus.PUBLISHED and offer.themes.exists()
    remote = offers["ft--conseil-a-distance"]
    assert remote.is_free and remote.source_url == "https://www.francetravail.fr/conseil-a-distance"
    assert offers["dora--creuse-atelier-cv"].commune == commune("23096")
    assert not offers["dora--creuse-atelier-cv"].remote
    assert offers["cd23--aide-mobilite"].remote and offers["cd23--aide-mobilite"].commune == commune("23096")
    # The portal's remote filter finds them (and the remote service with a place in Guéret).
    response = client_for().get("/api/v1/offers/", {"remote": "true", "source": source.code, "page_size": 50})
    assert response.status_code == 200, response.json()
    found = {item["external_id"] for item in response.json()["results"]}
    assert found == {key for key, offer in offers.items() if offer.remote}
    assert {"ft--conseil-a-distance", "msp--teleconsultation-psy", "cd23--aide-mobilite"} <= found


def published_titles(source: Source) -> dict:
    return dict(Offer.objects.filter(origin=source, status=OfferStatus.PUBLISHED).values_list("external_id", "title"))


def test_a_sync_failing_whole_writes_nothing_and_keeps_the_previous_offers(organisation_a, tmp_path):
    source = make_source(organisation_a, "france_travail")
    content = source_file("france_travail.json")
    first = source_sync(source=source, content=content)
    before = published_titles(source)
    assert len(before) == 8 and first.status == SyncStatus.SUCCEEDED

    # 3 of 11 records skipped (27 %) while the source allows 10 %.
    source.failure_share_max = 0.1
    source.save()
    changed = json.loads(content)
    for record in changed["resultats"]:
        record["intitule"] = "Changé"
    failures = [
        (json.dumps(changed).encode(), "too_many_skipped"),
        (source_file("openagenda.json"), "format_error"),  # another format's file
        (source_file("datatourisme.json"), "format_error"),
        (source_file("france_travail_truncated.json"), "format_error"),
        (source_file("not_json.csv"), "format_error"),
        (content[: len(content) // 2], "format_error"),  # cut in the middle
    ]
    for data, code in failures:
        sync = source_sync(source=source, content=data)
        assert (sync.status, sync.failure_code) == (SyncStatus.FAILED, code), sync.failure_message
        assert sync.failure_message and sync.catalogue_version is None
        assert (sync.created, sync.updated, sync.archived) == (0, 0, 0)
        assert published_titles(source) == before
        assert not Offer.objects.filter(last_sync=sync).exists()
    assert sync.failure_message
    # The command says it failed too.
    path = tmp_path / "truncated.json"
    path.write_bytes(source_file("france_travail_truncated.json"))
    with pytest.raises(CommandError):
        call_command("sync_source", source.code, file=path, stdout=io.StringIO(), stderr=io.StringIO())
    assert published_titles(source) == before


def event_dates_ok(offers, today: date) -> bool:
    return all(offer.available_until is None or offer.available_until >= today for offer in offers)


@pytest.mark.parametrize("years_ahead", [0, 3])
def test_the_demo_has_one_source_per_kind_with_creuse_records_all_usable(reference, years_ahead):
    from offers.services.demo import offers_demo_load

    today = timezone.localdate()
    today = today.replace(year=today.year + years_ahead, day=min(today.day, 28))
    offers_demo_load(today=today)
    syncs = sources_demo_load(today=today)
    assert sorted(sync.source.format for sync in syncs) == sorted(spec[2] for spec in DEMO_SOURCES)
    assert len({sync.source.format for sync in syncs}) == 4
    for sync in syncs:
        assert sync.status == SyncStatus.SUCCEEDED, sync.failure_message
        assert sync.skipped == 0, sync.skipped_records
        assert 3 <= sync.created <= 10
        offers = list(Offer.objects.filter(origin=sync.source).select_related("commune"))
        assert len(offers) == sync.created
        # In Creuse: a Creuse commune, or Creuse (or its région) as the service area.
        for offer in offers:
            area = {(t.kind, t.code) for t in offer.service_area.all()}
            in_creuse = offer.commune is not None and offer.commune.code.startswith("23")
            assert in_creuse or area & {("departement", "23"), ("region", "75")}, offer.external_id
        assert event_dates_ok(offers, today), [(o.external_id, o.available_until) for o in offers]
    dated = Offer.objects.filter(origin__in=[sync.source for sync in syncs], available_until__isnull=False)
    assert dated.count() >= 5  # the events, each still to come
    again = sources_demo_load(today=today)
    assert [(sync.created, sync.updated, sync.archived, sync.skipped) for sync in again] == [(0, 0, 0, 0)] * 4


def test_a_resync_costs_as_many_queries_for_many_records_as_for_few(organisation_a):
    """Meeting its offers again, a sync checks them without a query per record (it made two each: origin and
    last_sync validated one by one)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from offers.source_formats.samples import france_travail_sample

    def resync_queries(count: int) -> int:
        source = make_source(organisation_a, "france_travail", code=f"ft-{count}")
        content = france_travail_sample(count, seed=count)
        assert source_sync(source=source, content=content).created > count * 0.9
        with CaptureQueriesContext(connection) as queries:
            again = source_sync(source=source, content=content)
        assert again.unchanged > count * 0.9 and again.created == again.updated == 0
        return len(queries)

    # A few lookups depend on what the records hold (a postal code, a département), never one per record: 45 more
    # records made 90 more queries.
    assert resync_queries(60) <= resync_queries(15) + 5
