"""Resource limits (OWASP API4): page size, upload rows and bytes, request bodies, radius, top-k, throttles, and the
time limit of matching chunks. Each limit answers a precise 4xx in the shared error format, naming the number."""

import io
import json

import pytest
from django.conf import settings
from django.test import override_settings

from audiences.models import Need, SurveyResponse
from matching.models import ChunkStatus, MatchingChunk, NeedResult, RunStatus
from offers.models import Offer
from tests.api.conftest import assert_error, assert_throttled, throttle_rates
from tests.audiences.factories import make_need, make_survey
from tests.matching.conftest import run_chunks
from tests.offers.factories import make_offer

pytestmark = pytest.mark.django_db

NEAR = "45.956,2.168"  # Aubusson


def named(content: bytes, name: str):
    handle = io.BytesIO(content)
    handle.name = name
    return handle


# Page size ----------------------------------------------------------------------------------------------------------

PUBLIC_LISTS = ["/api/v1/offers/", "/api/v1/organisations/", "/api/v1/territories/"]
ANALYST_LISTS = ["/api/v1/needs/", "/api/v1/surveys/", "/api/v1/audiences/", "/api/v1/matching/runs/"]


@pytest.mark.parametrize("path", PUBLIC_LISTS + ANALYST_LISTS)
def test_page_size_above_the_cap_is_a_400_naming_the_range(reference, analyst_client, path):
    assert analyst_client.get(path, {"page_size": 100}).status_code == 200
    for size in ("101", "100000", "0", "-5", "ten"):
        response = analyst_client.get(path, {"page_size": size})
        assert_error(response, 400, code="invalid", field="page_size", says="from 1 to 100")


def test_page_size_caps_what_is_returned(reference, anonymous_client):
    response = anonymous_client.get("/api/v1/territories/", {"page_size": 100})
    body = response.json()
    assert body["count"] > 100 and len(body["results"]) == 100


# Upload rows ------------------------------------------------------------------------------------------------------


def offers_csv(rows: int) -> bytes:
    lines = ["external_id,title,description,domain,themes,commune"]
    lines += [f"x-{n},Offre {n},Une offre.,daily-life,childcare,23096" for n in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def data_inclusion_json(rows: int) -> bytes:
    return json.dumps([{"id": f"s-{n}", "source": "dora", "nom": f"Service {n}"} for n in range(rows)]).encode()


def needs_csv(rows: int) -> bytes:
    lines = ["external_id,audience,domain,statement,importance,source"]
    lines += [f"n-{n},families,daily-life,Besoin {n},0.5,workshop" for n in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def responses_csv(rows: int) -> bytes:
    lines = ["respondent_id,audience,commune,item,importance,satisfaction"]
    lines += [f"r{n},families,23096,creche,4,2" for n in range(rows)]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def uploaders(editor_a_client, analyst_client, organisation_a):
    """One function per import: post a file and return (response, count of what it would write)."""
    survey = make_survey()

    def offers(content, name="offres.csv"):
        data = {"file": named(content, name), "source": "cd23", "organisation": organisation_a.slug}
        return editor_a_client.post("/api/v1/offers/import/", data, format="multipart"), Offer.objects.count()

    def data_inclusion(content, name="services.json"):
        data = {"file": named(content, name), "organisation": organisation_a.slug}
        response = editor_a_client.post("/api/v1/offers/import/data-inclusion/", data, format="multipart")
        return response, Offer.objects.count()

    def needs(content, name="besoins.csv"):
        response = analyst_client.post("/api/v1/needs/import/", {"file": named(content, name)}, format="multipart")
        return response, Need.objects.count()

    def responses(content, name="reponses.csv"):
        path = f"/api/v1/surveys/{survey.pk}/responses/"
        response = analyst_client.post(path, {"file": named(content, name)}, format="multipart")
        return response, SurveyResponse.objects.count() + Need.objects.count()

    return {"offers": offers, "data_inclusion": data_inclusion, "needs": needs, "responses": responses}


@pytest.mark.parametrize(
    "kind, build, cap",
    [
        ("offers", offers_csv, 10_000),
        ("data_inclusion", data_inclusion_json, 10_000),
        ("needs", needs_csv, 10_000),
        ("responses", responses_csv, 200_000),
    ],
)
def test_row_cap_is_a_413_with_both_numbers_and_nothing_written(uploaders, kind, build, cap):
    response, written = uploaders[kind](build(cap + 1))
    assert_error(
        response, 413, code="payload_too_large", says=f"has {cap + 1:,} records; the limit is {cap:,} per upload"
    )
    assert written == 0


# Request bodies ---------------------------------------------------------------------------------------------------


def test_json_body_over_the_cap_is_a_413_in_the_error_format(reference, anonymous_client, analyst_client):
    cap = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert cap == 2 * 1024 * 1024
    body = json.dumps({"text": "crèche " * (cap // 7)})
    search = anonymous_client.post("/api/v1/matching/search/", body, content_type="application/json")
    assert_error(search, 413, code="payload_too_large", says=f"larger than {cap:,} bytes")
    need = json.dumps({"audience": "families", "domain": "daily-life", "statement": "x" * cap, "importance": 0.5})
    created = analyst_client.post("/api/v1/needs/", need, content_type="application/json")
    assert_error(created, 413, code="payload_too_large", says="DJANGO_DATA_UPLOAD_MAX_MEMORY_SIZE")
    assert not Need.objects.exists()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_json_body_cap_follows_the_setting(reference, anonymous_client):
    response = anonymous_client.post("/api/v1/matching/search/", {"text": "é" * 600}, format="json")
    assert_error(response, 413, says="larger than 1,000 bytes")
    assert anonymous_client.post("/api/v1/matching/search/", {"text": "crèche"}, format="json").status_code == 200


@override_settings(UPLOAD_MAX_REQUEST_BYTES=10_000)
def test_multipart_request_over_the_cap_is_refused_before_it_is_read(uploaders):
    response, written = uploaders["needs"](needs_csv(300))  # about 12 kB: under the file cap, over the request cap
    assert_error(response, 413, code="payload_too_large", says="the limit is 10,000 bytes per request")
    assert written == 0
    response, written = uploaders["needs"](needs_csv(2))
    assert response.status_code == 200 and written == 2


def test_too_many_form_fields_is_a_400(uploaders, analyst_client):
    fields = {f"field{number}": "x" for number in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    data = {**fields, "file": named(needs_csv(1), "b.csv")}
    response = analyst_client.post("/api/v1/needs/import/", data, format="multipart")
    assert_error(response, 400, code="parse_error", says="DATA_UPLOAD_MAX_NUMBER_FIELDS")
    assert not Need.objects.exists()


def test_request_cap_leaves_room_for_the_largest_file_cap():
    from audiences.services import RESPONSES_MAX_BYTES

    assert settings.UPLOAD_MAX_REQUEST_BYTES > RESPONSES_MAX_BYTES


# Radius and top-k -------------------------------------------------------------------------------------------------


def test_offer_radius_is_bounded(organisation_a, anonymous_client):
    make_offer(organisation=organisation_a, commune="23008")
    ok = anonymous_client.get("/api/v1/offers/", {"near": NEAR, "radius_km": 200})
    assert ok.status_code == 200 and ok.json()["count"] == 1
    for radius in ("200.5", "100000", "0", "-3", "nan", "inf"):
        response = anonymous_client.get("/api/v1/offers/", {"near": NEAR, "radius_km": radius})
        assert_error(response, 400, field="radius_km")
    assert_error(anonymous_client.get("/api/v1/offers/", {"near": NEAR, "radius_km": 201}), 400, says="at most 200")


@pytest.mark.parametrize(
    "extra, field",
    [
        ({"near": {"lat": 45.956, "lon": 2.168}, "radius_km": 201}, "radius_km"),
        ({"near": {"lat": 45.956, "lon": 2.168}, "radius_km": 0}, "radius_km"),
        ({"near": {"lat": 45.956, "lon": 2.168}, "radius_km": 1e308}, "radius_km"),
        ({"limit": 51}, "limit"),
        ({"limit": 0}, "limit"),
        ({"limit": 10**12}, "limit"),
    ],
)
def test_search_radius_and_limit_are_bounded(reference, anonymous_client, extra, field):
    response = anonymous_client.post("/api/v1/matching/search/", {"text": "crèche", **extra}, format="json")
    assert_error(response, 400, field=field)


def test_search_limit_caps_the_results(organisation_a, anonymous_client):
    for number in range(3):
        make_offer(organisation=organisation_a, title=f"Crèche {number}", description="Garde d'enfants en crèche.")
    response = anonymous_client.post("/api/v1/matching/search/", {"text": "crèche", "limit": 2}, format="json")
    assert response.status_code == 200 and response.json()["count"] == 2


@pytest.mark.parametrize(
    "parameter, high",
    [("top_offers_per_need", 50), ("k_candidates", 1000), ("n_best", 20), ("chunk_time_limit_seconds", 86400)],
)
def test_run_top_k_and_time_parameters_are_bounded(reference, analyst_client, parameter, high):
    response = analyst_client.post("/api/v1/matching/runs/", {"parameters": {parameter: high + 1}}, format="json")
    assert_error(response, 400, field=f"parameters.{parameter}", says=f"[1, {high}]")
    assert analyst_client.get("/api/v1/matching/runs/").json()["count"] == 0


def test_report_top_is_bounded(reference, analyst_client):
    from matching import services

    run = services.run_start(launched_by=None)
    response = analyst_client.get(f"/api/v1/matching/runs/{run.id}/report/", {"group_by": "domain", "top": 21})
    assert_error(response, 400, field="top")


# Throttles ----------------------------------------------------------------------------------------------------------


PUBLIC_READS = [
    "/api/v1/offers/",
    "/api/v1/offers/export/?format=csv",
    "/api/v1/organisations/",
    "/api/v1/territories/",
    "/api/v1/territories/23096/",
    "/api/v1/taxonomy/",
]


@pytest.mark.parametrize("path", PUBLIC_READS)
def test_anonymous_public_reads_are_throttled(reference, anonymous_client, path):
    with throttle_rates(public="2/minute"):
        statuses = [anonymous_client.get(path).status_code for _ in range(2)]
        assert statuses == [200, 200]
        assert_throttled(anonymous_client.get(path))


def test_public_budget_is_shared_by_the_public_lists_and_skips_accounts(reference, anonymous_client, editor_a_client):
    with throttle_rates(public="3/minute"):
        for path in PUBLIC_READS[:3]:
            assert anonymous_client.get(path).status_code == 200
        assert_throttled(anonymous_client.get(PUBLIC_READS[3]))
        assert [editor_a_client.get(PUBLIC_READS[0]).status_code for _ in range(5)] == [200] * 5


def test_a_forged_forwarded_for_does_not_escape_the_throttle(reference, anonymous_client):
    with throttle_rates(public="2/minute"):
        for number in range(2):
            response = anonymous_client.get("/api/v1/offers/", HTTP_X_FORWARDED_FOR=f"203.0.113.{number}")
            assert response.status_code == 200
        assert_throttled(anonymous_client.get("/api/v1/offers/", HTTP_X_FORWARDED_FOR="203.0.113.99"))


@override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "NUM_PROXIES": 1})
def test_behind_one_proxy_clients_are_told_apart_by_the_address_it_saw(reference, anonymous_client):
    with throttle_rates(public="1/minute"):
        first = anonymous_client.get("/api/v1/offers/", HTTP_X_FORWARDED_FOR="forged, 198.51.100.1")
        second = anonymous_client.get("/api/v1/offers/", HTTP_X_FORWARDED_FOR="other-forged, 198.51.100.2")
        assert (first.status_code, second.status_code) == (200, 200)
        assert_throttled(anonymous_client.get("/api/v1/offers/", HTTP_X_FORWARDED_FOR="again, 198.51.100.1"))


def test_search_is_throttled_for_anonymous_clients(reference, anonymous_client):
    with throttle_rates(search="2/minute"):
        for _ in range(2):
            assert anonymous_client.post("/api/v1/matching/search/", {"text": "crèche"}).status_code == 200
        assert_throttled(anonymous_client.post("/api/v1/matching/search/", {"text": "crèche"}))


@pytest.mark.parametrize("kind, build", [("offers", offers_csv), ("needs", needs_csv), ("responses", responses_csv)])
def test_uploads_are_throttled(uploaders, kind, build):
    with throttle_rates(uploads="1/hour"):
        first, _ = uploaders[kind](build(1))
        assert first.status_code in (200, 400)  # counted whatever the content
        second, _ = uploaders[kind](build(1))
        assert_throttled(second)
        assert int(second["Retry-After"]) > 60


def test_token_requests_are_throttled(anonymous_client, analyst_user):
    with throttle_rates(anon="2/minute"):
        credentials = {"username": "analyst-user", "password": "secret-password-123"}
        assert anonymous_client.post("/api/v1/auth/token/", credentials).status_code == 200
        assert anonymous_client.post("/api/v1/auth/token/", {**credentials, "password": "bad"}).status_code == 400
        assert_throttled(anonymous_client.post("/api/v1/auth/token/", credentials))


def test_default_rates_are_configured_for_every_scope():
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    assert {"anon", "user", "search", "uploads", "public"} <= set(rates)


# Matching time limit ----------------------------------------------------------------------------------------------


@pytest.mark.i18n  # a worker has no request language: the reason it stores is in the default language, French
@override_settings(MATCHING_CHUNK_TIME_LIMIT_SECONDS=1, MATCHING_TEST_CHUNK_DELAY_SECONDS=1.3)
def test_chunk_over_the_time_limit_fails_with_its_reason_after_its_attempts(organisation_a, analyst_client):
    make_offer(organisation=organisation_a)
    make_need(territory="23096")
    launched = analyst_client.post("/api/v1/matching/runs/", {"parameters": {"max_attempts": 2}}, format="json")
    assert launched.status_code == 202, launched.content
    run_id = launched.json()["id"]
    assert launched.json()["parameters"]["chunk_time_limit_seconds"] == 1  # the setting is the default

    run_chunks(MatchingChunk.objects.get(run_id=run_id).run)  # each attempt sleeps 1.3 s: over the 1 s limit

    chunk = MatchingChunk.objects.get(run_id=run_id)
    assert (chunk.status, chunk.attempt) == (ChunkStatus.FAILED, 2)
    assert "limite de temps (1 s)" in chunk.error
    run = analyst_client.get(f"/api/v1/matching/runs/{run_id}/").json()
    assert run["status"] == RunStatus.FAILED
    assert "tentative 2/2" in run["error"] and "limite de temps (1 s)" in run["error"]
    assert not NeedResult.objects.filter(run_id=run_id).exists()
