import pytest

pytestmark = pytest.mark.django_db


def test_health_checks_the_database(anonymous_client):
    response = anonymous_client.get("/api/v1/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "version": "1.0.0"}


def test_api_root_links(anonymous_client):
    links = anonymous_client.get("/api/v1/").json()["links"]
    assert links["territories"].endswith("/api/v1/territories/")
    assert links["taxonomy"].endswith("/api/v1/taxonomy/")
