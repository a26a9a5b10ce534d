"""Audiences, needs and surveys endpoints: roles, CRUD, validation and constant query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audiences.models import Need, Survey
from offers.models import Audience
from tests.audiences.factories import RESPONSES_CSV, make_need, make_survey, upload


@pytest.fixture
def need(reference):
    return make_need(statement="Trouver une place en crèche à Guéret", territory="23096", importance=0.8)


@pytest.fixture
def survey(reference):
    return make_survey()


def endpoints(need, survey):
    need_body = {
        "audience": "families",
        "domain": "daily-life",
        "statement": "x",
        "importance": 0.5,
        "source": "study",
    }
    return [
        ("get", "/api/v1/audiences/", None),
        ("get", "/api/v1/audiences/families/", None),
        ("post", "/api/v1/audiences/", {"code": "digital-nomads", "label": "Nomades numériques"}),
        ("patch", "/api/v1/audiences/families/", {"label": "Familles"}),
        ("delete", "/api/v1/audiences/vulnerable-people/", None),
        ("get", "/api/v1/needs/", None),
        ("get", f"/api/v1/needs/{need.pk}/", None),
        ("post", "/api/v1/needs/", need_body),
        ("patch", f"/api/v1/needs/{need.pk}/", {"importance": 0.9}),
        ("delete", f"/api/v1/needs/{need.pk}/", None),
        ("get", "/api/v1/needs/export/", None),
        ("post", "/api/v1/needs/import/", None),
        ("get", "/api/v1/surveys/", None),
        ("get", f"/api/v1/surveys/{survey.pk}/", None),
        ("post", "/api/v1/surveys/", {"title": "T", "date": "2025-01-01"}),
        ("patch", f"/api/v1/surveys/{survey.pk}/", {"title": "T2"}),
        ("post", f"/api/v1/surveys/{survey.pk}/responses/", None),
        ("delete", f"/api/v1/surveys/{survey.pk}/", None),
    ]


@pytest.mark.parametrize("role", ["anonymous", "editor"])
def test_anonymous_and_editors_are_refused_everywhere(role, anonymous_client, editor_a_client, need, survey):
    client = anonymous_client if role == "anonymous" else editor_a_client
    expected = 401 if role == "anonymous" else 403
    for method, url, body in endpoints(need, survey):
        response = getattr(client, method)(url, body) if body else getattr(client, method)(url)
        assert response.status_code == expected, (method, url, response.status_code)
        assert response.json()["status"] == expected
    assert Need.objects.filter(pk=need.pk).exists() and Survey.objects.filter(pk=survey.pk).exists()


@pytest.mark.parametrize("role", ["analyst", "admin"])
def test_analysts_and_admins_are_allowed_everywhere(role, analyst_client, admin_client, need, survey):
    client = analyst_client if role == "analyst" else admin_client
    for method, url, body in endpoints(need, survey):
        response = getattr(client, method)(url, body) if body else getattr(client, method)(url)
        # uploads without a file are a 400 (the request reached the view), everything else succeeds
        allowed = {400} if url.endswith(("import/", "responses/")) else {200, 201, 204}
        assert response.status_code in allowed, (method, url, response.status_code, getattr(response, "data", None))


def test_audience_crud_and_delete_in_use(analyst_client, need):
    created = analyst_client.post(
        "/api/v1/audiences/", {"code": "digital-nomads", "label": "Nomades numériques", "position": 30}
    )
    assert created.status_code == 201
    assert created.json() == {
        "code": "digital-nomads",
        "label": "Nomades numériques",
        "description": "",
        "data_inclusion_codes": [],
        "position": 30,
    }
    duplicate = analyst_client.post("/api/v1/audiences/", {"code": "digital-nomads", "label": "Bis"})
    assert duplicate.status_code == 400 and duplicate.json()["errors"][0]["field"] == "code"
    assert analyst_client.delete("/api/v1/audiences/digital-nomads/").status_code == 204
    in_use = analyst_client.delete("/api/v1/audiences/families/")
    assert in_use.status_code == 409
    assert "still used by 1 need;" in in_use.json()["message"]
    assert Audience.objects.filter(code="families").exists()
    assert analyst_client.get("/api/v1/audiences/nobody/").status_code == 404


def test_need_create_read_update_delete(analyst_client, reference):
    body = {
        "audience": "remote-workers",
        "domain": "jobs",
        "themes": ["coworking"],
        "statement": "Un espace de coworking avec fibre à moins de 20 minutes",
        "territory": "200034825",
        "stage": "anchor",
        "importance": 0.7,
        "satisfaction": 0.2,
        "demand_volume": 40,
        "source": "workshop",
        "source_reference": "Atelier Guéret",
        "source_date": "2025-02-01",
        "external_id": "AT-1",
    }
    created = analyst_client.post("/api/v1/needs/", body)
    assert created.status_code == 201, created.json()
    data = created.json()
    assert data["territory"] == "epci:200034825"
    assert data["territory_name"] == "Communauté d'agglomération du Grand Guéret"
    assert data["themes"] == ["coworking"] and data["survey"] is None and data["response_count"] is None
    need = Need.objects.get(pk=data["id"])
    assert need.search_text == "un espace de coworking avec fibre a moins de 20 minutes"
    updated = analyst_client.patch(f"/api/v1/needs/{need.pk}/", {"territory": None, "importance": 1})
    assert updated.status_code == 200
    assert updated.json()["territory"] is None and updated.json()["importance"] == 1.0
    assert analyst_client.delete(f"/api/v1/needs/{need.pk}/").status_code == 204
    assert not Need.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"importance": 1.5}, "importance"),
        ({"satisfaction": -0.1}, "satisfaction"),
        ({"themes": ["rent"]}, "themes"),
        ({"territory": "99999"}, "territory"),
        ({"audience": "aliens"}, "audience"),
        ({"stage": "leave"}, "stage"),
        ({"source": "rumour"}, "source"),
    ],
)
def test_need_validation(analyst_client, reference, change, field):
    body = {"audience": "families", "domain": "daily-life", "statement": "x", "importance": 0.5, "source": "study"}
    response = analyst_client.post("/api/v1/needs/", {**body, **change})
    assert response.status_code == 400
    assert field in {error["field"] for error in response.json()["errors"]}
    assert not Need.objects.exists()


def test_computed_needs_are_read_only(analyst_client, survey):
    upload(analyst_client, survey, RESPONSES_CSV)
    need = Need.objects.filter(survey_item__isnull=False).first()
    assert analyst_client.patch(f"/api/v1/needs/{need.pk}/", {"importance": 0.1}).status_code == 409
    assert analyst_client.delete(f"/api/v1/needs/{need.pk}/").status_code == 409
    data = analyst_client.get(f"/api/v1/needs/{need.pk}/").json()
    assert data["survey"] == survey.pk and data["survey_item"] in ("creche", "emploi")


def test_survey_create_with_items_update_and_delete(analyst_client, reference):
    body = {
        "title": "Enquête nouveaux arrivants",
        "reference": "NA-2025",
        "date": "2025-05-01",
        "audiences": ["families", "remote-workers"],
        "scale_min": 1,
        "scale_max": 4,
        "items": [
            {"code": "creche", "domain": "daily-life", "themes": ["childcare"], "statement": "Crèche"},
            {
                "code": "fibre",
                "domain": "daily-life",
                "themes": ["digital"],
                "statement": "Fibre",
                "measures_satisfaction": False,
                "stage": "attract",
            },
        ],
    }
    created = analyst_client.post("/api/v1/surveys/", body, format="json")
    assert created.status_code == 201, created.json()
    data = created.json()
    assert [item["code"] for item in data["items"]] == ["creche", "fibre"]
    assert data["response_count"] == 0 and data["respondent_count"] == 0
    survey_id = data["id"]
    upload(
        analyst_client,
        Survey.objects.get(pk=survey_id),
        "respondent_id,audience,item,importance\na,families,creche,4\n",
    )
    assert analyst_client.get(f"/api/v1/surveys/{survey_id}/").json()["response_count"] == 1
    # the scale cannot change once responses exist
    refused = analyst_client.patch(f"/api/v1/surveys/{survey_id}/", {"scale_max": 5}, format="json")
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "scale_max"
    # replacing the items: `fibre` is dropped, `creche` renamed -> its computed need follows
    replaced = analyst_client.patch(
        f"/api/v1/surveys/{survey_id}/",
        {"items": [{"code": "creche", "domain": "daily-life", "themes": ["childcare"], "statement": "Crèche proche"}]},
        format="json",
    )
    assert replaced.status_code == 200
    assert [item["code"] for item in replaced.json()["items"]] == ["creche"]
    assert list(Need.objects.values_list("statement", flat=True)) == ["Crèche proche"]
    assert analyst_client.delete(f"/api/v1/surveys/{survey_id}/").status_code == 204
    assert not Need.objects.exists()


def test_survey_item_validation(analyst_client, reference):
    body = {
        "title": "T",
        "date": "2025-05-01",
        "items": [
            {"code": "a", "domain": "jobs", "themes": ["childcare"], "statement": "A"},
            {"code": "a", "domain": "jobs", "statement": "B"},
        ],
    }
    response = analyst_client.post("/api/v1/surveys/", body, format="json")
    assert response.status_code == 400
    assert {error["field"] for error in response.json()["errors"]} == {"items.0.themes", "items.1.code"}
    assert not Survey.objects.exists()
    bad_scale = analyst_client.post(
        "/api/v1/surveys/", {"title": "T", "date": "2025-05-01", "scale_min": 5, "scale_max": 5}
    )
    assert bad_scale.status_code == 400 and bad_scale.json()["errors"][0]["field"] == "scale_max"


def _count_queries(client, url) -> int:
    client.get(url)  # warm-up: the role check is memoised on the (forced) user after the first request
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context.captured_queries)


def test_need_list_query_count_is_constant(analyst_client, reference):
    make_need(territory="23096")
    one = _count_queries(analyst_client, "/api/v1/needs/?page_size=100")
    assert one == 3  # count, page (audience, domain, territory, item joined), themes
    for index in range(49):
        make_need(territory="23002" if index % 2 else None, themes=("childcare", "schools"))
    assert _count_queries(analyst_client, "/api/v1/needs/?page_size=100") == one


def test_survey_list_query_count_is_constant(analyst_client, reference):
    make_survey(reference="S-0")
    one = _count_queries(analyst_client, "/api/v1/surveys/?page_size=100")
    assert one == 5  # count, page with response counts, audiences, items with domains, item themes
    for index in range(1, 50):
        make_survey(reference=f"S-{index}")
    assert _count_queries(analyst_client, "/api/v1/surveys/?page_size=100") == one


def test_audience_list_query_count_is_constant(analyst_client, reference):
    one = _count_queries(analyst_client, "/api/v1/audiences/?page_size=100")
    for index in range(50):
        Audience.objects.create(code=f"extra-{index}", label=f"Extra {index}")
    assert _count_queries(analyst_client, "/api/v1/audiences/?page_size=100") == one
