"""The sync service: reconciliation (create, update, archive, re-publish), idempotence, skipped records and the
failure share, unusable files, isolation between sources, provenance and the catalogue version."""

import pytest

from offers.models import CatalogueVersion, Offer, OfferStatus, SyncStatus
from offers.services.sources import source_sync
from tests.offers.sources_fixtures import *  # noqa: F403 (the fixtures of the source tests)
from tests.offers.sources_fixtures import make_source
from tests.offers.sources_jsonl import job, jsonl

pytestmark = pytest.mark.django_db


def offers_of(source) -> dict[str, Offer]:
    return {offer.external_id: offer for offer in Offer.objects.filter(origin=source)}


def test_first_sync_creates_published_offers_with_provenance(source_a):
    sync = source_sync(source=source_a, content=jsonl([job(1), job(2), job(3, categories=["training"])]))
    assert sync.status == SyncStatus.SUCCEEDED, sync.failure_message
    assert (sync.created, sync.updated, sync.archived, sync.unchanged, sync.skipped) == (3, 0, 0, 0, 0)
    offers = offers_of(source_a)
    assert set(offers) == {"job-1", "job-2", "job-3"}
    first = offers["job-1"]
    assert first.status == OfferStatus.PUBLISHED
    assert first.organisation == source_a.organisation
    assert first.source == "jobs-a"
    assert first.source_url == "https://example.org/offres/1"
    assert first.last_sync == sync
    assert first.commune.code == "23096"
    assert first.domain.code == "jobs"
    assert [theme.code for theme in first.themes.all()] == ["salaried-job"]
    assert [theme.code for theme in offers["job-3"].themes.all()] == ["training"]
    assert [area.code for area in first.service_area.all()] == ["23096"]  # the default of every write path
    assert sync.catalogue_version == CatalogueVersion.objects.get().version
    assert {offer.catalogue_seq for offer in offers.values()} == {sync.catalogue_version}
    assert sync.records_total == 3 and sync.records_read == 3 and sync.records_checked == 3


def test_second_sync_archives_updates_and_creates_exactly_what_changed(source_a):
    source_sync(source=source_a, content=jsonl([job(n) for n in range(1, 6)]))
    before = offers_of(source_a)
    changed_title = job(2, title="Offre d'emploi 2 (mise à jour)")
    sync = source_sync(source=source_a, content=jsonl([job(1), changed_title, job(3), job(6), job(7)]))
    assert (sync.created, sync.updated, sync.archived, sync.unchanged, sync.skipped) == (2, 1, 2, 2, 0)
    after = offers_of(source_a)
    assert {key for key, offer in after.items() if offer.status == OfferStatus.ARCHIVED} == {"job-4", "job-5"}
    assert after["job-2"].title == "Offre d'emploi 2 (mise à jour)"
    assert after["job-2"].catalogue_seq == sync.catalogue_version
    # Unchanged offers: not even updated_at moved, only the provenance says this sync saw them.
    for key in ("job-1", "job-3"):
        assert after[key].updated_at == before[key].updated_at
        assert after[key].catalogue_seq == before[key].catalogue_seq
        assert after[key].last_sync == sync
    assert after["job-4"].last_sync != sync  # archived: the last sync that saw it is the first one


def test_resync_of_the_same_file_changes_nothing(source_a):
    content = jsonl([job(1), job(2, price_amount="12.5", is_free=False), job(3, latitude=46.17, longitude=1.87)])
    first = source_sync(source=source_a, content=content)
    before = {key: (offer.updated_at, offer.catalogue_seq) for key, offer in offers_of(source_a).items()}
    version = CatalogueVersion.objects.get().version
    again = source_sync(source=source_a, content=content)
    assert again.status == SyncStatus.SUCCEEDED
    assert (again.created, again.updated, again.archived, again.unchanged) == (0, 0, 0, 3)
    assert again.catalogue_version is None
    assert CatalogueVersion.objects.get().version == version == first.catalogue_version
    assert {key: (offer.updated_at, offer.catalogue_seq) for key, offer in offers_of(source_a).items()} == before


def test_an_archived_offer_that_reappears_is_published_again(source_a):
    source_sync(source=source_a, content=jsonl([job(1), job(2)]))
    source_sync(source=source_a, content=jsonl([job(1)]))
    assert offers_of(source_a)["job-2"].status == OfferStatus.ARCHIVED
    sync = source_sync(source=source_a, content=jsonl([job(1), job(2)]))
    assert (sync.created, sync.updated, sync.archived, sync.unchanged) == (0, 1, 0, 1)
    assert offers_of(source_a)["job-2"].status == OfferStatus.PUBLISHED


def test_skipped_records_are_listed_with_their_reasons_below_the_failure_share(source_a):
    source_a.failure_share_max = 0.6
    source_a.save()
    records = [job(n) for n in range(1, 7)] + [
        {"skip": "outside_france", "external_id": "job-x"},
        job(8, categories=["unknown-category"]),
        job(9, commune_code="99999"),
        job(10, commune_code=None),
        {**job(11), "external_id": ""},
        job(1),
        job(12, latitude=40.0, longitude=-30.0),
    ]
    sync = source_sync(source=source_a, content=jsonl(records))
    assert sync.status == SyncStatus.SUCCEEDED, sync.failure_message
    assert (sync.created, sync.skipped) == (6, 7)
    reasons = {item["position"]: item["code"] for item in sync.skipped_records}
    assert reasons == {
        7: "outside_france",
        8: "unmapped_category",
        9: "unknown_commune",
        10: "no_place",  # neither a commune nor a service area
        11: "no_identifier",
        12: "duplicate",
        13: "invalid",
    }
    messages = {item["position"]: item["message"] for item in sync.skipped_records}
    assert "unknown-category" in messages[8]
    assert "latitude" in messages[13]
    assert [item["external_id"] for item in sync.skipped_records][:3] == ["job-x", "job-8", "job-9"]


def test_above_the_failure_share_the_sync_fails_and_nothing_is_written(source_a):
    source_sync(source=source_a, content=jsonl([job(1), job(2)]))
    version = CatalogueVersion.objects.get().version
    records = [job(1), job(3)] + [job(n, categories=["nothing-maps"]) for n in range(10, 12)]
    sync = source_sync(source=source_a, content=jsonl(records))
    assert sync.status == SyncStatus.FAILED
    assert sync.failure_code == "too_many_skipped"
    assert "2 of 4 records" in sync.failure_message
    assert sync.skipped == 2 and len(sync.skipped_records) == 2
    offers = offers_of(source_a)
    assert set(offers) == {"job-1", "job-2"}
    assert all(offer.status == OfferStatus.PUBLISHED for offer in offers.values())
    assert CatalogueVersion.objects.get().version == version


@pytest.mark.parametrize(
    ("content", "code", "says"),
    [
        (jsonl([job(1)]) + b'{"external_id": "job-2", "tit', "format_error", "record 2"),
        (b"\xff\xfe not text", "format_error", "UTF-8"),
        (b"", "empty", "no record"),
    ],
    ids=["truncated", "not-text", "empty"],
)
def test_an_unusable_file_fails_whole_and_the_previous_offers_stay_published(source_a, content, code, says):
    source_sync(source=source_a, content=jsonl([job(1), job(2)]))
    version = CatalogueVersion.objects.get().version
    sync = source_sync(source=source_a, content=content)
    assert sync.status == SyncStatus.FAILED
    assert sync.failure_code == code
    assert says in sync.failure_message
    assert {o.status for o in offers_of(source_a).values()} == {OfferStatus.PUBLISHED}
    assert len(offers_of(source_a)) == 2
    assert CatalogueVersion.objects.get().version == version


def test_an_unknown_format_fails_whole(jsonl_format, organisation_a):
    source = make_source(organisation=organisation_a, code="odd", format="no-such-format")
    sync = source_sync(source=source, content=jsonl([job(1)]))
    assert (sync.status, sync.failure_code) == (SyncStatus.FAILED, "unknown_format")
    assert "test_jsonl" in sync.failure_message
    assert not Offer.objects.filter(origin=source).exists()


def test_two_sources_with_the_same_identifiers_never_touch_each_other(source_a, organisation_a):
    other = make_source(organisation=organisation_a, code="jobs-a2")
    source_sync(source=source_a, content=jsonl([job(1), job(2)]))
    sync = source_sync(source=other, content=jsonl([job(1, title="Autre flux")]))
    assert sync.created == 1
    emptied = source_sync(source=other, content=jsonl([job(3)]))
    assert (emptied.created, emptied.archived) == (1, 1)
    assert {o.status for o in offers_of(source_a).values()} == {OfferStatus.PUBLISHED}
    assert offers_of(source_a)["job-1"].title == "Offre d'emploi 1"


def test_theme_mapping_of_the_source_overrides_the_formats_default(source_a):
    source_a.theme_mapping = {"job": ["business-takeover"], "concert": []}
    source_a.save()
    sync = source_sync(
        source=source_a, content=jsonl([job(1), job(2, categories=["concert", "job"]), job(3, categories=["creche"])])
    )
    assert sync.status == SyncStatus.SUCCEEDED
    offers = offers_of(source_a)
    assert [t.code for t in offers["job-1"].themes.all()] == ["business-takeover"]
    assert [t.code for t in offers["job-2"].themes.all()] == ["business-takeover"]
    assert offers["job-3"].domain.code == "daily-life"


def test_communes_resolve_by_postal_code_and_name(source_a):
    records = [
        job(1, commune_code=None, postal_code="23000", commune_name="Guéret"),
        job(2, commune_code=None, commune_name="Bourganeuf"),
    ]
    sync = source_sync(source=source_a, content=jsonl(records))
    assert sync.status == SyncStatus.SUCCEEDED, sync.skipped_records
    offers = offers_of(source_a)
    assert offers["job-1"].commune.code == "23096"
    assert offers["job-2"].commune.code == "23030"


def test_an_event_over_archives_its_offer(source_a):
    source_a.failure_share_max = 0.5
    source_a.save()
    source_sync(source=source_a, content=jsonl([job(1), job(2, available_until="2999-01-01")]))
    sync = source_sync(source=source_a, content=jsonl([job(1), job(2, available_until="2000-01-01")]))
    assert (sync.archived, sync.skipped) == (1, 1)
    assert offers_of(source_a)["job-2"].status == OfferStatus.ARCHIVED


def test_other_skipped_records_leave_their_offer_as_it_was(source_a):
    source_a.failure_share_max = 0.5
    source_a.save()
    source_sync(source=source_a, content=jsonl([job(1), job(2)]))
    sync = source_sync(source=source_a, content=jsonl([job(1), job(2, commune_code="99999")]))
    assert (sync.archived, sync.skipped, sync.unchanged) == (0, 1, 1)
    assert offers_of(source_a)["job-2"].status == OfferStatus.PUBLISHED
    sync = source_sync(source=source_a, content=jsonl([job(1), {"skip": "outside_france", "external_id": "job-2"}]))
    assert (sync.archived, sync.skipped, sync.unchanged) == (0, 1, 1)
    assert offers_of(source_a)["job-2"].status == OfferStatus.PUBLISHED


def test_the_demo_creates_one_source_per_registered_kind_and_syncs_it(jsonl_format, tmp_path, reference):
    from offers.services import sources_demo_load
    from tests.offers.factories import make_organisation

    organisation = make_organisation(name="Agence de démonstration")
    (tmp_path / "test_jsonl.jsonl").write_bytes(jsonl([job(1), job(2)]))
    specs = [
        ("demo-jobs", "Emplois de démonstration", "test_jsonl", organisation.slug),
        ("demo-unregistered", "Format pas encore là", "no_such_format", organisation.slug),
    ]
    syncs = sources_demo_load(directory=tmp_path, specs=specs)
    assert [(s.source.code, s.status, s.created) for s in syncs] == [("demo-jobs", SyncStatus.SUCCEEDED, 2)]
    again = sources_demo_load(directory=tmp_path, specs=specs)
    assert [(s.created, s.unchanged) for s in again] == [(0, 2)]


def test_an_identifier_held_by_an_offer_made_outside_the_source_is_skipped(source_a):
    from tests.offers.factories import make_offer

    source_a.failure_share_max = 0.5
    source_a.save()
    manual = make_offer(organisation=source_a.organisation, source="jobs-a", external_id="job-2")
    sync = source_sync(source=source_a, content=jsonl([job(1), job(2)]))
    assert (sync.status, sync.created, sync.skipped) == (SyncStatus.SUCCEEDED, 1, 1)
    assert sync.skipped_records[0]["code"] == "duplicate"
    manual.refresh_from_db()
    assert manual.origin is None and manual.title.startswith("Offre ")


def test_dates_out_of_order_are_skipped_with_the_rule_of_every_write(source_a):
    source_a.failure_share_max = 0.5
    source_a.save()
    records = [job(1), job(2, available_from="2999-05-01", available_until="2999-04-01")]
    sync = source_sync(source=source_a, content=jsonl(records))
    assert (sync.created, sync.skipped) == (1, 1)
    assert sync.skipped_records[0]["code"] == "invalid"
    assert "available_until" in sync.skipped_records[0]["message"]


def test_records_of_many_themes_cost_as_many_queries_as_records_of_one(source_a):
    """A record without a domain takes its themes' (domain_pick): the themes come with their domain, not one query
    per theme met (4 themes of 3 domains here)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def sync_queries(code: str, categories: list[str]) -> int:
        source = make_source(organisation=source_a.organisation, code=code)
        records = [job(number, categories=[category]) for number, category in enumerate(categories)]
        with CaptureQueriesContext(connection) as queries:
            sync = source_sync(source=source, content=jsonl(records))
        assert (sync.status, sync.created) == (SyncStatus.SUCCEEDED, len(categories)), sync.failure_message
        return len(queries)

    assert sync_queries("mixed", ["job", "training", "concert", "creche"]) == sync_queries("jobs", ["job"] * 4)
