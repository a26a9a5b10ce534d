"""The taxonomy: five stable domains with their themes, and the reference audiences."""

import pytest

from offers.models import Domain, Theme
from offers.services import taxonomy_load

pytestmark = pytest.mark.django_db


def test_taxonomy_endpoint(anonymous_client, reference):
    body = anonymous_client.get("/api/v1/taxonomy/").json()
    assert [domain["code"] for domain in body["domains"]] == ["jobs", "housing", "culture", "tourism", "daily-life"]
    daily_life = body["domains"][-1]
    assert {"childcare", "schools", "health-care", "mobility", "shops", "digital", "sport", "social-services"} == {
        theme["code"] for theme in daily_life["themes"]
    }
    assert daily_life["themes"][0]["label"] == "Garde d'enfants"
    assert "families" in {audience["code"] for audience in body["audiences"]}


def test_taxonomy_reload_is_idempotent(reference):
    report = taxonomy_load()
    assert report.created == 0 and report.updated == 0
    assert Domain.objects.count() == 5
    assert Theme.objects.count() == 25


def test_taxonomy_query_count_is_constant(anonymous_client, reference, django_assert_num_queries):
    with django_assert_num_queries(3):
        anonymous_client.get("/api/v1/taxonomy/")
