"""The admin of sources and their syncs, for non-developers: lists filtered by organisation, format and last sync
status, searched by code and name; a source's page with its recent syncs; syncs shown, never edited."""

import pytest
from django.utils import timezone

from offers.models import Source, SourceSync
from tests.conftest import client_for
from tests.offers.sources_fixtures import *  # noqa: F403 (the fixtures of the source tests)
from tests.offers.sources_fixtures import make_source

pytestmark = pytest.mark.django_db

SOURCES, SYNCS = "/admin/offers/source/", "/admin/offers/sourcesync/"


def finished_sync(source, *, status="succeeded", **values) -> SourceSync:
    return SourceSync.objects.create(
        source=source, trigger="upload", status=status, finished_at=timezone.now(), **values
    )


@pytest.fixture
def browser(admin_user):
    client = client_for()
    client.force_login(admin_user)
    return client


@pytest.fixture
def failed_sync(source_b):
    return finished_sync(
        source_b, status="failed", skipped=7, failure_code="too_many_skipped", failure_message="7 of 10 skipped"
    )


def listed(response) -> list[str]:
    return sorted(source.code for source in response.context["cl"].result_list)


def test_sources_list_filters_and_search(browser, source_a, source_b, failed_sync, organisation_a):
    finished_sync(source_a, created=3)
    make_source(organisation=organisation_a, code="events-a", name="Agenda", format="openagenda")
    response = browser.get(SOURCES)
    assert response.status_code == 200
    assert listed(response) == ["events-a", "jobs-a", "jobs-b"]
    assert listed(browser.get(SOURCES, {"organisation__id__exact": organisation_a.pk})) == ["events-a", "jobs-a"]
    assert listed(browser.get(SOURCES, {"format": "openagenda"})) == ["events-a"]
    assert listed(browser.get(SOURCES, {"last_sync_status": "failed"})) == ["jobs-b"]
    assert listed(browser.get(SOURCES, {"last_sync_status": "succeeded"})) == ["jobs-a"]
    assert listed(browser.get(SOURCES, {"q": "agenda"})) == ["events-a"]
    assert listed(browser.get(SOURCES, {"q": "jobs-b"})) == ["jobs-b"]


def test_a_source_page_shows_its_recent_syncs_and_keeps_code_and_organisation(browser, source_a, failed_sync):
    for number in range(12):
        finished_sync(source_a, created=number)
    response = browser.get(f"{SOURCES}{source_a.pk}/change/")
    assert response.status_code == 200
    inline = response.context["inline_admin_formsets"][0]
    assert len(inline.formset.forms) == 10
    assert [form.instance.created for form in inline.formset.forms] == list(range(11, 1, -1))
    assert not inline.has_add_permission and not inline.has_change_permission and not inline.has_delete_permission
    failed_page = browser.get(f"{SOURCES}{failed_sync.source_id}/change/")
    assert "7 of 10 skipped" in failed_page.content.decode()

    data = {
        "code": "renamed",
        "organisation": "",
        "name": "Offres d'emploi",
        "format": "test_jsonl",
        "url": "",
        "theme_mapping": '{"jobs": ["no-such-theme"]}',
        "failure_share_max": "0.1",
        "fetch_timeout_seconds": "30",
        "syncs-TOTAL_FORMS": "0",
        "syncs-INITIAL_FORMS": "0",
    }
    refused = browser.post(f"{SOURCES}{source_a.pk}/change/", data, format="multipart")
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors == {
        "theme_mapping": ["theme_mapping.jobs: Unknown theme 'no-such-theme' (see /api/v1/taxonomy/)."]
    }
    data["theme_mapping"] = '{"jobs": ["salaried-job"]}'
    saved = browser.post(f"{SOURCES}{source_a.pk}/change/", data, format="multipart")
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    source = Source.objects.get(pk=source_a.pk)
    assert (source.code, source.organisation_id) == ("jobs-a", source_a.organisation_id)  # read-only once created
    assert (source.name, source.theme_mapping) == ("Offres d'emploi", {"jobs": ["salaried-job"]})


def test_syncs_are_listed_with_their_counts_and_failure_and_cannot_be_edited(browser, source_a, failed_sync):
    succeeded = finished_sync(source_a, created=3, updated=2)
    response = browser.get(SYNCS)
    assert response.status_code == 200
    assert [sync.pk for sync in response.context["cl"].result_list] == [succeeded.pk, failed_sync.pk]
    failed = browser.get(SYNCS, {"status__exact": "failed"})
    assert [sync.pk for sync in failed.context["cl"].result_list] == [failed_sync.pk]
    assert [sync.pk for sync in browser.get(SYNCS, {"q": "jobs-a"}).context["cl"].result_list] == [succeeded.pk]

    page = browser.get(f"{SYNCS}{failed_sync.pk}/change/")
    assert page.status_code == 200
    content = page.content.decode()
    assert "7 of 10 skipped" in content and "too_many_skipped" in content
    assert 'name="_save"' not in content
    edited = browser.post(f"{SYNCS}{failed_sync.pk}/change/", {"status": "succeeded"}, format="multipart")
    assert edited.status_code == 403
    assert browser.get(f"{SYNCS}add/").status_code == 403
    assert browser.post(f"{SYNCS}{failed_sync.pk}/delete/", {"post": "yes"}, format="multipart").status_code == 403
    failed_sync.refresh_from_db()
    assert (failed_sync.status, failed_sync.failure_message) == ("failed", "7 of 10 skipped")
