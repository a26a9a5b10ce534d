"""Matching endpoints: permissions of every role, run launch and progress, per-need results and filters, search."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from matching.models import NeedResult, RunStatus
from tests.audiences.factories import make_need
from tests.conftest import client_for, make_user
from tests.matching.conftest import run_chunks
from tests.matching.factories import make_offer

pytestmark = pytest.mark.django_db

RUNS = "/api/v1/matching/runs/"
SEARCH = "/api/v1/matching/search/"


def _launch(client, **body):
    response = client.post(RUNS, body, format="json")
    assert response.status_code == 202, response.json()
    return response


@pytest.fixture
def finished_run(catalogue, analyst_client):
    from matching.models import MatchingRun

    run_id = _launch(analyst_client).json()["id"]
    run = MatchingRun.objects.get(id=run_id)
    run_chunks(run)
    return run


def test_routes_are_named_for_the_api_root():
    assert reverse("matching:run-list") == RUNS
    assert reverse("matching:search") == SEARCH


def test_launch_returns_202_with_location_and_progress(catalogue, analyst_client):
    response = _launch(
        analyst_client,
        scope_territory="23",
        scope_domains=["daily-life"],
        parameters={"decay_km": 20},
        reference_date="2026-06-01",
        chunk_size=2,
    )
    body = response.json()
    assert response["Location"] == body["url"] and body["url"].endswith(f"/matching/runs/{body['id']}/")
    assert body["status"] == "queued" and body["scope_territory"] == "23"
    assert body["progress"] == {"needs_done": 0, "needs_total": 4, "chunks_done": 0, "chunks_total": 2, "percent": 0.0}
    assert body["parameters"]["decay_km"] == 20 and body["parameters"]["max_attempts"] == 3
    assert body["launched_by"] == "analyst-user" and body["snapshot"]["offers_count"] == 5
    from matching.models import MatchingRun

    run_chunks(MatchingRun.objects.get(id=body["id"]))
    detail = analyst_client.get(body["url"]).json()
    assert detail["status"] == "succeeded" and detail["progress"]["percent"] == 100.0
    assert detail["timings"]["total_seconds"] >= 0 and detail["error"] == ""


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"parameters": {"unknown_weight": 1}}, "parameters.unknown_weight"),
        ({"parameters": {"relevance_threshold": 2}}, "parameters.relevance_threshold"),
        ({"scope_territory": "99999"}, "scope_territory"),
        ({"scope_audiences": ["martians"]}, "scope_audiences"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"reference_date": "tomorrow"}, "reference_date"),
    ],
)
def test_launch_refuses_bad_input_with_the_field(catalogue, analyst_client, body, field):
    response = analyst_client.post(RUNS, body, format="json")
    assert response.status_code == 400
    assert field in [error["field"] for error in response.json()["errors"]]


def _urls(run):
    result = NeedResult.objects.filter(run=run).first()
    return [
        ("get", RUNS),
        ("post", RUNS),
        ("get", f"{RUNS}{run.id}/"),
        ("get", f"{RUNS}{run.id}/needs/"),
        ("get", f"{RUNS}{run.id}/needs/{result.id}/"),
    ]


def test_permissions_on_every_endpoint(finished_run, anonymous_client, editor_a_client, admin_client, analyst_client):
    for method, url in _urls(finished_run):
        assert getattr(anonymous_client, method)(url, {}, format="json").status_code == 401, url
        assert getattr(editor_a_client, method)(url, {}, format="json").status_code == 403, url
        for client in (analyst_client, admin_client):
            assert getattr(client, method)(url, {}, format="json").status_code in (200, 202), url


def test_unknown_run_is_404(reference, analyst_client):
    assert analyst_client.get(f"{RUNS}00000000-0000-0000-0000-000000000000/").status_code == 404
    assert analyst_client.get(f"{RUNS}00000000-0000-0000-0000-000000000000/needs/").status_code == 404


def test_needs_ordered_by_gap_with_reasons(finished_run, analyst_client):
    body = analyst_client.get(f"{RUNS}{finished_run.id}/needs/").json()
    gaps = [row["gap"] for row in body["results"]]
    assert body["count"] == 5 and gaps == sorted(gaps, reverse=True)
    assert all(row["reasons"] and row["reasons"][0]["message"] for row in body["results"])
    ascending = analyst_client.get(f"{RUNS}{finished_run.id}/needs/", {"ordering": "gap"}).json()
    assert [row["gap"] for row in ascending["results"]] == sorted(gaps)


def test_need_detail_has_matched_offers_and_breakdowns(finished_run, analyst_client, catalogue):
    offers, needs = catalogue
    result = NeedResult.objects.get(run=finished_run, need=needs["distance"])
    body = analyst_client.get(f"{RUNS}{finished_run.id}/needs/{result.id}/").json()
    assert body["recommendation"] == "adjust"
    health = next(row for row in body["matched_offers"] if row["offer"] == offers["health"].id)
    assert set(health) >= {"score", "relevance", "text", "theme", "audience", "geography", "availability", "capacity"}
    assert health["distance_km"] > 20
    assert [row["rank"] for row in body["matched_offers"]] == list(range(1, len(body["matched_offers"]) + 1))
    other = NeedResult.objects.exclude(run=finished_run).first()
    assert other is None or analyst_client.get(f"{RUNS}{finished_run.id}/needs/{other.id}/").status_code == 404


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"recommendation": "create"}, {"create"}),
        ({"recommendation": "adjust"}, {"distance", "audience"}),
        ({"quadrant": "possible-overkill"}, {"maintain"}),
        ({"domain": "jobs"}, {"create"}),
        ({"theme": "sport"}, {"promote"}),
        ({"audience": "entrepreneurs"}, {"create"}),
        ({"territory": "23030"}, {"distance"}),
        ({"territory": "23"}, {"create", "distance", "audience", "promote", "maintain"}),
    ],
)
def test_need_filters(finished_run, analyst_client, catalogue, params, expected):
    _offers, needs = catalogue
    names = {need.id: name for name, need in needs.items()}
    body = analyst_client.get(f"{RUNS}{finished_run.id}/needs/", params).json()
    assert {names[row["need"]] for row in body["results"]} == expected


@pytest.mark.parametrize("params", [{"recommendation": "nope"}, {"quadrant": "x"}, {"territory": "99999"}])
def test_need_filters_refuse_bad_values(finished_run, analyst_client, params):
    assert analyst_client.get(f"{RUNS}{finished_run.id}/needs/", params).status_code == 400


@pytest.mark.parametrize(("name", "code"), [("domain", "nope"), ("theme", "port"), ("audience", "martians")])
def test_need_filters_refuse_unknown_codes_like_every_list(finished_run, analyst_client, name, code):
    response = analyst_client.get(f"{RUNS}{finished_run.id}/needs/", {name: code})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": name, "line": None, "code": "not_found", "message": f"Unknown {name} code(s): {code}."}
    ]


def test_list_query_counts_do_not_grow(catalogue, analyst_client):
    from matching.models import MatchingRun

    run = MatchingRun.objects.get(id=_launch(analyst_client).json()["id"])
    run_chunks(run)

    def count(url):
        with CaptureQueriesContext(connection) as queries:
            assert analyst_client.get(url).status_code == 200
        return len(queries)

    one_run, one_page = count(RUNS), count(f"{RUNS}{run.id}/needs/")
    for index in range(3):
        make_need(statement=f"Un besoin de plus numéro {index}", themes=("shops",))
    more = MatchingRun.objects.get(id=_launch(analyst_client).json()["id"])
    _launch(analyst_client)
    run_chunks(more)
    assert count(RUNS) == one_run
    assert count(f"{RUNS}{more.id}/needs/") == one_page


def test_run_status_filter(finished_run, analyst_client):
    assert analyst_client.get(RUNS, {"status": "succeeded"}).json()["count"] == 1
    assert analyst_client.get(RUNS, {"status": "failed"}).json()["count"] == 0


# ---------------------------------------------------------------------------
# Search
# ---------------------------------------------------------------------------


@pytest.fixture
def search_catalogue(reference):
    return {
        "creche": make_offer(
            title="Crèche multi-accueil Les Petits Loups",
            description="Garde d'enfants de 3 mois à 4 ans, accueil régulier et occasionnel.",
            themes=("childcare",),
            commune="23096",
        ),
        "creche_far": make_offer(
            title="Micro-crèche du Pays Sostranien",
            description="Garde d'enfants en petit groupe, horaires élargis.",
            themes=("childcare",),
            commune="23176",
        ),
        "doctor": make_offer(
            title="Cabinet de médecine générale",
            description="Consultations de médecin généraliste sur rendez-vous.",
            themes=("health-care",),
        ),
        "draft": make_offer(
            title="Crèche en projet",
            description="Garde d'enfants : ouverture prévue.",
            themes=("childcare",),
            status="draft",
        ),
        "reserved": make_offer(
            title="Crèche d'entreprise de l'hôpital",
            description="Garde d'enfants du personnel hospitalier.",
            themes=("childcare",),
            audiences=("health-professionals",),
        ),
    }


def test_search_is_public_and_ranks_published_offers(search_catalogue, anonymous_client):
    response = anonymous_client.post(
        SEARCH, {"text": "garde d'enfants crèche", "audience": "families", "near": {"lat": 46.17, "lon": 1.87}}
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    ids = [row["id"] for row in body["results"]]
    assert search_catalogue["draft"].id not in ids
    assert ids[0] == search_catalogue["creche"].id
    assert ids.index(search_catalogue["creche"].id) < ids.index(search_catalogue["creche_far"].id)
    first = body["results"][0]
    assert first["commune"] == {"code": "23096", "name": "Guéret"}
    assert first["distance_km"] < 10 and first["breakdown"]["geography"] == 1.0
    # No domain given: the theme factor comes from the request's inferred themes (issue 12): the offer shares the
    # top one, weighed by its confidence c, the rest by the text term (c * 1 + (1 - c) * text).
    confidence = first["breakdown"]["themes"][0]["confidence"]
    expected = confidence + (1 - confidence) * first["breakdown"]["text"]
    assert first["breakdown"]["theme"] == pytest.approx(expected, abs=1e-3)
    assert [theme["code"] for theme in first["breakdown"]["themes"]] == ["childcare"]


def test_search_audience_and_domain_factors(search_catalogue, anonymous_client):
    body = anonymous_client.post(
        SEARCH, {"text": "crèche pour mon enfant", "audience": "families", "domain": "daily-life", "limit": 5}
    ).json()
    by_id = {row["id"]: row for row in body["results"]}
    assert by_id[search_catalogue["reserved"].id]["breakdown"]["audience"] == 0.0
    assert by_id[search_catalogue["reserved"].id]["score"] == 0.0
    # The request's inferred theme (childcare, inside the given domain) gives the theme factor, weighed by its
    # confidence as without a domain.
    creche = by_id[search_catalogue["creche"].id]["breakdown"]
    confidence = creche["themes"][0]["confidence"]
    assert creche["theme"] == pytest.approx(confidence + (1 - confidence) * creche["text"], abs=1e-3)
    assert by_id[search_catalogue["creche"].id]["breakdown"]["themes"][0]["code"] == "childcare"
    assert len(body["results"]) <= 5


def test_search_doctor_synonym(search_catalogue, anonymous_client):
    body = anonymous_client.post(SEARCH, {"text": "je cherche un médecin", "territory": "23096"}).json()
    assert body["results"][0]["id"] == search_catalogue["doctor"].id


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "text"),
        ({"text": "a"}, "text"),
        ({"text": "x" * 501}, "text"),
        ({"text": "crèche", "limit": 0}, "limit"),
        ({"text": "crèche", "limit": 51}, "limit"),
        ({"text": "crèche", "near": {"lat": 46.1, "lon": 1.8}, "radius_km": 500}, "radius_km"),
        ({"text": "crèche", "radius_km": 5}, "radius_km"),
        ({"text": "crèche", "near": {"lat": 146.1, "lon": 1.8}}, "near.lat"),
        ({"text": "crèche", "audience": "martians"}, "audience"),
        ({"text": "crèche", "domain": "nope"}, "domain"),
        ({"text": "crèche", "territory": "99999"}, "territory"),
    ],
)
def test_search_bounds_are_400(search_catalogue, anonymous_client, body, field):
    response = anonymous_client.post(SEARCH, body, format="json")
    assert response.status_code == 400
    assert field in [error["field"] for error in response.json()["errors"]]


def test_search_is_throttled_with_the_search_scope(reference, settings):
    from matching.views import MatchingSearchView

    assert MatchingSearchView.throttle_scope == "search"
    assert "search" in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]


def test_search_throttle_answers_429(search_catalogue, anonymous_client, settings):
    from django.core.cache import cache

    cache.clear()
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "search": "2/minute"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    try:
        codes = [anonymous_client.post(SEARCH, {"text": "crèche"}).status_code for _ in range(3)]
    finally:
        cache.clear()
    assert codes == [200, 200, 429]


def test_search_reuses_the_cached_index_until_offers_change(search_catalogue, anonymous_client):
    from matching import index as index_module

    index_module.offer_index_clear()
    anonymous_client.post(SEARCH, {"text": "crèche"})
    first = index_module.offer_index_get()
    anonymous_client.post(SEARCH, {"text": "médecin"})
    assert index_module.offer_index_get() is first
    make_offer(title="Assistante maternelle agréée", description="Garde d'enfants à domicile.", themes=("childcare",))
    body = anonymous_client.post(SEARCH, {"text": "assistante maternelle"}).json()
    assert index_module.offer_index_get() is not first
    assert body["results"][0]["title"] == "Assistante maternelle agréée"


def test_editor_can_search_too(search_catalogue, editor_a_client):
    assert editor_a_client.post(SEARCH, {"text": "crèche"}).status_code == 200
    assert client_for(make_user("someone")).post(SEARCH, {"text": "crèche"}).status_code == 200


def test_run_launched_on_demo_like_data_is_reported_with_status(finished_run):
    assert finished_run.__class__.objects.get(id=finished_run.id).status == RunStatus.SUCCEEDED


def test_search_sees_an_edit_at_once_and_a_large_delta_is_rebuilt_in_the_background(
    search_catalogue, anonymous_client, settings, monkeypatch
):
    from matching import index as index_module

    settings.MATCHING_INDEX_REBUILD_DELTA_ROWS = 0
    settings.MATCHING_INDEX_REBUILD_DELTA_SHARE = 0.0
    index_module.offer_index_clear()
    first = index_module.offer_index_get()
    started = []
    monkeypatch.setattr(index_module, "_rebuild_in_background", started.append)
    make_offer(title="Assistante maternelle agréée", description="Garde d'enfants à domicile.", themes=("childcare",))
    body = anonymous_client.post(SEARCH, {"text": "assistante maternelle"}).json()
    assert body["results"][0]["title"] == "Assistante maternelle agréée"  # updated in memory, not waiting
    updated = index_module.offer_index_get(allow_stale=True)
    assert updated.base_label == first.base_label and updated.state > first.state
    assert started and started[0].state > first.state  # the delta passed the threshold: a rebuild was asked
