"""Syncs in the background on PostgreSQL: real `manage.py db_worker` processes run two sources' syncs at once (an
upload and a URL served on 127.0.0.1) without mixing their records, reporting progress and counts."""

import pytest

from offers.models import Offer, OfferStatus, SourceSync, SyncStatus, SyncTrigger
from offers.services.sources import source_sync_request
from tests.matching.workers import require_postgres, start_worker, stop, wait_for, worker_env
from tests.offers.sources_fixtures import *  # noqa: F403 (the fixtures of the source tests)
from tests.offers.sources_jsonl import JSON_LINES_PATH, job, jsonl

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def _postgres_only():
    require_postgres()


def _finished(*sync_ids):
    syncs = list(SourceSync.objects.filter(pk__in=sync_ids, status__in=(SyncStatus.SUCCEEDED, SyncStatus.FAILED)))
    return syncs if len(syncs) == len(sync_ids) else None


def test_two_sources_sync_at_once_in_real_workers_without_mixing(source_a, source_b, feed_server):
    # The same identifiers in both sources: each keeps its own.
    feed_server.files["ok"] = jsonl([job(n, title=f"B {n}") for n in range(1, 31)])
    source_b.url = feed_server.url("ok")
    source_b.save()
    first = source_sync_request(
        source=source_a, trigger=SyncTrigger.UPLOAD, content=jsonl([job(n, title=f"A {n}") for n in range(1, 41)])
    )
    second = source_sync_request(source=source_b, trigger=SyncTrigger.URL)
    env = worker_env(SOURCE_SYNC_EXTRA_FORMATS=JSON_LINES_PATH)
    workers = [start_worker(env) for _ in range(2)]
    try:
        wait_for(lambda: _finished(first.pk, second.pk), timeout=180, what="both syncs to end", workers=workers)
        # The second sync of A: 10 records gone, 5 changed, 3 new.
        records = [job(n, title=f"A {n}" + (" (modifiée)" if n <= 5 else "")) for n in range(1, 31)]
        records += [job(n, title=f"A {n}") for n in range(41, 44)]
        again = source_sync_request(source=source_a, trigger=SyncTrigger.UPLOAD, content=jsonl(records))
        wait_for(lambda: _finished(again.pk), timeout=180, what="the second sync to end", workers=workers)
    finally:
        stop(*workers)
    first.refresh_from_db()
    second.refresh_from_db()
    again.refresh_from_db()
    assert (first.status, first.created, first.records_total) == (SyncStatus.SUCCEEDED, 40, 40), first.failure_message
    assert (second.status, second.created) == (SyncStatus.SUCCEEDED, 30), second.failure_message
    assert (again.created, again.updated, again.archived, again.unchanged) == (3, 5, 10, 25)
    a_titles = set(Offer.objects.filter(origin=source_a).values_list("title", flat=True))
    b_titles = set(Offer.objects.filter(origin=source_b).values_list("title", flat=True))
    assert all(title.startswith("A ") for title in a_titles) and len(a_titles) == 43
    assert all(title.startswith("B ") for title in b_titles) and len(b_titles) == 30
    assert Offer.objects.filter(origin=source_b, status=OfferStatus.PUBLISHED).count() == 30
    assert Offer.objects.filter(origin=source_a, status=OfferStatus.ARCHIVED).count() == 10
