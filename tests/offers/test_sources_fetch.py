"""URL sources: the file fetched from a real HTTP server on 127.0.0.1, and every way a fetch fails whole (an HTTP
error, a timeout, a truncated or too large body) leaving the previous offers published."""

import pytest

from offers.models import CatalogueVersion, Offer, OfferStatus, SyncStatus, SyncTrigger
from offers.services.sources import source_sync
from tests.offers.sources_fixtures import *  # noqa: F403 (the fixtures of the source tests)
from tests.offers.sources_jsonl import job, jsonl

pytestmark = pytest.mark.django_db


def test_a_url_source_syncs_from_its_url(source_a, feed_server):
    feed_server.files["ok"] = jsonl([job(1), job(2)])
    source_a.url = feed_server.url("ok")
    source_a.save()
    sync = source_sync(source=source_a, content=None, trigger=SyncTrigger.URL)
    assert sync.status == SyncStatus.SUCCEEDED, sync.failure_message
    assert sync.created == 2


@pytest.mark.parametrize(
    ("path", "code", "says"),
    [
        ("error", "http_error", "HTTP 500"),
        ("slow", "timeout", "within 1 s"),
        ("truncated", "truncated", "cut off"),
        ("big", "too_large", "larger than 1000 bytes"),
    ],
)
def test_a_failed_fetch_fails_whole_and_the_previous_offers_stay(source_a, feed_server, settings, path, code, says):
    settings.SOURCE_SYNC_MAX_BYTES = 1000
    feed_server.files["ok"] = jsonl([job(1), job(2)])
    feed_server.files["truncated"] = jsonl([job(3)])
    feed_server.files["big"] = jsonl([job(n) for n in range(1, 40)])
    source_a.url = feed_server.url("ok")
    source_a.fetch_timeout_seconds = 1
    source_a.save()
    assert source_sync(source=source_a, content=None).status == SyncStatus.SUCCEEDED
    version = CatalogueVersion.objects.get().version

    source_a.url = feed_server.url(path)
    source_a.save()
    sync = source_sync(source=source_a, content=None, trigger=SyncTrigger.URL)
    assert (sync.status, sync.failure_code) == (SyncStatus.FAILED, code)
    assert says in sync.failure_message
    assert feed_server.url(path) in sync.failure_message
    offers = Offer.objects.filter(origin=source_a)
    assert sorted(offers.values_list("external_id", "status")) == [
        ("job-1", OfferStatus.PUBLISHED),
        ("job-2", OfferStatus.PUBLISHED),
    ]
    assert CatalogueVersion.objects.get().version == version


def test_an_unreachable_source_fails_whole(source_a):
    source_a.url = "http://127.0.0.1:9/feed.jsonl"  # the discard port: nothing listens
    source_a.save()
    sync = source_sync(source=source_a, content=None)
    assert (sync.status, sync.failure_code) == (SyncStatus.FAILED, "unreachable")
