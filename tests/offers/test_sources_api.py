"""The sources API: who sees and changes sources, queueing syncs (upload or URL, 202, 409 while one is active),
following them, offers' provenance and the `source` filter, and the sync_source command."""

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import timezone

from offers.models import Offer, Source, SourceSync, SyncStatus, SyncTrigger
from offers.services.sources import source_sync, source_sync_run
from tests.conftest import client_for, make_user
from tests.offers.sources_fixtures import *  # noqa: F403 (the fixtures of the source tests)
from tests.offers.sources_fixtures import make_source
from tests.offers.sources_jsonl import job, jsonl

pytestmark = pytest.mark.django_db

SOURCES = "/api/v1/sources/"


def upload(records) -> dict:
    return {"file": SimpleUploadedFile("feed.jsonl", jsonl(records), content_type="application/x-ndjson")}


def test_editors_see_their_organisations_sources_analysts_and_admins_all(
    source_a, source_b, editor_a_client, analyst_client, admin_client, anonymous_client
):
    def codes(client):
        return [item["code"] for item in client.get(SOURCES).json()["results"]]

    assert codes(editor_a_client) == ["jobs-a"]
    assert codes(analyst_client) == ["jobs-a", "jobs-b"]
    assert codes(admin_client) == ["jobs-a", "jobs-b"]
    assert anonymous_client.get(SOURCES).status_code == 401
    assert editor_a_client.get(f"{SOURCES}{source_b.pk}/").status_code == 404


def test_an_editor_creates_a_source_for_their_organisation_only(
    jsonl_format, editor_a_client, organisation_a, organisation_b
):
    body = {"code": "agenda", "name": "Agenda", "organisation": organisation_a.slug, "format": "test_jsonl"}
    response = editor_a_client.post(SOURCES, body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["organisation"] == organisation_a.slug
    assert data["default_theme_mapping"]["job"] == ["salaried-job"]
    assert (data["offers"], data["last_sync"], data["failure_share_max"]) == (0, None, 0.05)
    other = {**body, "code": "other", "organisation": organisation_b.slug}
    assert editor_a_client.post(SOURCES, other, format="json").status_code == 403


def test_a_source_is_validated_field_by_field(jsonl_format, admin_client, organisation_a):
    body = {
        "code": "bad",
        "name": "Bad",
        "organisation": organisation_a.slug,
        "format": "no-such-format",
        "theme_mapping": {"job": ["no-such-theme"]},
    }
    response = admin_client.post(SOURCES, body, format="json")
    assert response.status_code == 400
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"format", "theme_mapping.job"}
    assert admin_client.post(SOURCES, {**body, "failure_share_max": 2}, format="json").status_code == 400
    assert not Source.objects.filter(code="bad").exists()


def test_analysts_change_the_theme_mapping_only(source_a, analyst_client, editor_b_client):
    url = f"{SOURCES}{source_a.pk}/"
    response = analyst_client.patch(url, {"theme_mapping": {"job": ["training"]}}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["theme_mapping"] == {"job": ["training"]}
    assert analyst_client.patch(url, {"name": "Autre"}, format="json").status_code == 403
    assert editor_b_client.patch(url, {"name": "Autre"}, format="json").status_code == 404


def test_the_code_of_a_source_is_fixed(source_a, admin_client):
    response = admin_client.patch(f"{SOURCES}{source_a.pk}/", {"code": "renamed"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "code"


def test_a_source_with_offers_cannot_be_deleted(source_a, editor_a_client, analyst_client):
    source_sync(source=source_a, content=jsonl([job(1)]))
    url = f"{SOURCES}{source_a.pk}/"
    assert analyst_client.delete(url).status_code == 403
    assert editor_a_client.delete(url).status_code == 409
    empty = make_source(organisation=source_a.organisation, code="empty")
    assert editor_a_client.delete(f"{SOURCES}{empty.pk}/").status_code == 204


def test_an_uploaded_file_is_synced_by_the_worker_and_followed(source_a, editor_a_client, analyst_client):
    source_a.failure_share_max = 0.5
    source_a.save()
    records = [job(1), job(2), job(3, commune_code="99999")]
    response = editor_a_client.post(f"{SOURCES}{source_a.pk}/syncs/", upload(records), format="multipart")
    assert response.status_code == 202, response.json()
    queued = response.json()
    assert (queued["status"], queued["trigger"], queued["source"]) == ("queued", "upload", "jobs-a")
    assert queued["requested_by"] == "editor-a"

    again = editor_a_client.post(f"{SOURCES}{source_a.pk}/syncs/", upload(records), format="multipart")
    assert again.status_code == 409
    assert again.json()["code"] == "sync_in_progress"

    source_sync_run(sync_id=queued["id"])  # what the worker does (test_sources_workers runs a real one)
    sync = analyst_client.get(f"/api/v1/source-syncs/{queued['id']}/").json()
    assert sync["status"] == "succeeded"
    assert sync["counts"] == {"created": 2, "updated": 0, "archived": 0, "unchanged": 0, "skipped": 1}
    assert sync["progress"] == {"records_read": 3, "records_checked": 3, "records_total": 3}
    assert sync["skipped_records"] == [
        {
            "position": 3,
            "external_id": "job-3",
            "code": "unknown_commune",
            "message": sync["skipped_records"][0]["message"],
        }
    ]
    assert "99999" in sync["skipped_records"][0]["message"]
    assert sync["failure"] is None
    assert SourceSync.objects.get(pk=queued["id"]).upload is None  # the file is not kept once read

    history = editor_a_client.get(f"{SOURCES}{source_a.pk}/syncs/").json()
    assert [item["id"] for item in history["results"]] == [queued["id"]]


def test_a_sync_no_worker_took_is_failed_at_the_next_request(source_a, editor_a_client, settings):
    url = f"{SOURCES}{source_a.pk}/syncs/"
    waiting = editor_a_client.post(url, upload([job(1)]), format="multipart").json()
    assert editor_a_client.post(url, upload([job(1)]), format="multipart").status_code == 409  # it may yet start
    long_ago = timezone.now() - timedelta(seconds=settings.SOURCE_SYNC_STALE_SECONDS + 60)
    SourceSync.objects.filter(pk=waiting["id"]).update(requested_at=long_ago)  # no worker took it since

    again = editor_a_client.post(url, upload([job(1), job(2)]), format="multipart")
    assert again.status_code == 202, again.json()
    failed = editor_a_client.get(f"/api/v1/source-syncs/{waiting['id']}/").json()
    assert (failed["status"], failed["failure"]["code"]) == ("failed", "not_started")
    assert str(settings.SOURCE_SYNC_STALE_SECONDS) in failed["failure"]["message"]
    assert "db_worker" in failed["failure"]["message"] and failed["finished_at"]
    assert SourceSync.objects.get(pk=waiting["id"]).upload is None
    # A worker reaching it at last leaves it failed (the source has moved on); the new one runs.
    assert source_sync_run(sync_id=waiting["id"]) == {"sync": waiting["id"], "status": "failed"}
    source_sync_run(sync_id=again.json()["id"])
    assert SourceSync.objects.get(pk=again.json()["id"]).created == 2
    assert not Offer.objects.filter(last_sync_id=waiting["id"]).exists()


@pytest.mark.parametrize("progressed", [True, False])
def test_a_running_sync_without_progress_for_too_long_is_failed_at_the_next_request(
    source_a, editor_a_client, settings, progressed
):
    long_ago = timezone.now() - timedelta(seconds=settings.SOURCE_SYNC_STALE_SECONDS + 60)
    # Its worker died after some progress, or before any (started, never progressed).
    dead = SourceSync.objects.create(
        source=source_a,
        trigger=SyncTrigger.UPLOAD,
        status=SyncStatus.RUNNING,
        started_at=long_ago,
        progressed_at=long_ago if progressed else None,
    )
    response = editor_a_client.post(f"{SOURCES}{source_a.pk}/syncs/", upload([job(1)]), format="multipart")
    assert response.status_code == 202, response.json()
    dead.refresh_from_db()
    assert (dead.status, dead.failure_code) == (SyncStatus.FAILED, "stale")


def test_only_editors_of_its_organisation_and_admins_sync_a_source(source_a, analyst_client, editor_b_client):
    url = f"{SOURCES}{source_a.pk}/syncs/"
    assert analyst_client.post(url, upload([job(1)]), format="multipart").status_code == 403
    assert editor_b_client.post(url, upload([job(1)]), format="multipart").status_code == 404
    assert not SourceSync.objects.exists()


def test_a_sync_without_file_needs_a_url(source_a, editor_a_client):
    response = editor_a_client.post(f"{SOURCES}{source_a.pk}/syncs/", {}, format="multipart")
    assert response.status_code == 409
    assert response.json()["code"] == "no_url"


def test_a_url_sync_is_fetched_by_the_worker(source_a, feed_server, editor_a_client):
    feed_server.files["ok"] = jsonl([job(1)])
    source_a.url = feed_server.url("ok")
    source_a.save()
    response = editor_a_client.post(f"{SOURCES}{source_a.pk}/syncs/", {}, format="multipart")
    assert response.status_code == 202
    assert response.json()["trigger"] == "url"
    source_sync_run(sync_id=response.json()["id"])
    assert SourceSync.objects.get(pk=response.json()["id"]).created == 1


def test_a_failed_sync_says_why(source_a, editor_a_client):
    response = editor_a_client.post(
        f"{SOURCES}{source_a.pk}/syncs/",
        {"file": SimpleUploadedFile("feed.jsonl", b'{"external_id": "x", "ti')},
        format="multipart",
    )
    source_sync_run(sync_id=response.json()["id"])
    sync = editor_a_client.get(f"/api/v1/source-syncs/{response.json()['id']}/").json()
    assert sync["status"] == "failed"
    assert sync["failure"]["code"] == "format_error"
    assert "record 1" in sync["failure"]["message"]


def test_offers_show_their_provenance_and_filter_by_source(source_a, source_b, anonymous_client):
    sync = source_sync(source=source_a, content=jsonl([job(1), job(2)]))
    source_sync(source=source_b, content=jsonl([job(1)]))
    response = anonymous_client.get("/api/v1/offers/", {"source": "jobs-a"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert sorted(item["external_id"] for item in results) == ["job-1", "job-2"]
    first = next(item for item in results if item["external_id"] == "job-1")
    assert first["origin"] == "jobs-a"
    assert first["source"] == "jobs-a"
    assert first["source_url"] == "https://example.org/offres/1"
    assert first["last_sync"] == sync.pk
    detail = anonymous_client.get(f"/api/v1/offers/{first['id']}/").json()
    assert detail["origin"] == "jobs-a"
    assert anonymous_client.get("/api/v1/offers/", {"source": "jobs-b"}).json()["count"] == 1
    assert anonymous_client.get("/api/v1/offers/", {"source": "nothing"}).json()["count"] == 0


def test_editor_made_offers_have_no_provenance(organisation_a, anonymous_client):
    from tests.offers.factories import make_offer

    offer = make_offer(organisation=organisation_a)
    data = anonymous_client.get(f"/api/v1/offers/{offer.pk}/").json()
    assert (data["origin"], data["source_url"], data["last_sync"]) == (None, "", None)


def test_the_command_syncs_a_file_and_prints_the_report(source_a, tmp_path):
    path = tmp_path / "feed.jsonl"
    path.write_bytes(jsonl([job(1), job(2)]))
    out = io.StringIO()
    call_command("sync_source", "jobs-a", "--file", str(path), stdout=out)
    assert "succeeded" in out.getvalue()
    assert "created 2, updated 0, archived 0, unchanged 0, skipped 0" in out.getvalue()
    path.write_bytes(jsonl([job(1)]))
    out = io.StringIO()
    call_command("sync_source", "jobs-a", "--file", str(path), stdout=out)
    assert "created 0, updated 0, archived 1, unchanged 1, skipped 0" in out.getvalue()
    assert Offer.objects.filter(origin=source_a, status="archived").count() == 1


def test_the_command_fails_with_the_reason(source_a, tmp_path, feed_server):
    path = tmp_path / "feed.jsonl"
    path.write_bytes(b"not json")
    with pytest.raises(CommandError, match="format_error"):
        call_command("sync_source", "jobs-a", "--file", str(path), stdout=io.StringIO())
    with pytest.raises(CommandError, match="no URL"):
        call_command("sync_source", "jobs-a", "--url", stdout=io.StringIO())
    with pytest.raises(CommandError, match="No source has the code"):
        call_command("sync_source", "nope", "--url", stdout=io.StringIO())
    source_a.url = feed_server.url("error")
    source_a.save()
    with pytest.raises(CommandError, match="HTTP 500"):
        call_command("sync_source", "jobs-a", "--url", stdout=io.StringIO())


def test_source_list_query_count_does_not_grow_with_sources(jsonl_format, organisation_a, django_assert_num_queries):
    user = make_user("admin-counter", admin=True)
    client = client_for(user)
    make_source(organisation=organisation_a, code="one")
    client.get(SOURCES)  # warm the per-user caches
    with django_assert_num_queries(2) as one:
        client.get(SOURCES)
    for number in range(4):
        make_source(organisation=organisation_a, code=f"more-{number}")
    with django_assert_num_queries(len(one.captured_queries)):
        assert client.get(SOURCES).json()["count"] == 5
