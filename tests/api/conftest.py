"""Fixtures and helpers of the API-wide tests: the OpenAPI schema, the shared error body, throttle rates."""

import json

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings


@pytest.fixture(scope="session")
def schema(tmp_path_factory, django_db_blocker) -> dict:
    """The OpenAPI schema as `manage.py spectacular` writes it, validated with zero warnings, read as JSON."""
    path = tmp_path_factory.mktemp("schema") / "schema.json"
    with django_db_blocker.unblock():
        call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(path))
    return json.loads(path.read_text())


def assert_error(response, status: int, *, code: str | None = None, field: str | None = None, says: str = ""):
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"status", "code", "message", "errors"} and body["status"] == status
    if code:
        assert body["code"] == code
    if field:
        assert field in [error["field"] for error in body["errors"]], body
    if says:
        assert says in body["message"] + " ".join(error["message"] for error in body["errors"]), body
    return body


def assert_throttled(response):
    body = assert_error(response, 429, code="throttled")
    wait = int(response["Retry-After"])
    assert wait > 0 and f"{wait} second" in body["message"]


def throttle_rates(**rates: str):
    """override_settings with these throttle rates (the throttles read them per request, see api/throttling.py)."""
    current = settings.REST_FRAMEWORK
    return override_settings(
        REST_FRAMEWORK={**current, "DEFAULT_THROTTLE_RATES": {**current["DEFAULT_THROTTLE_RATES"], **rates}}
    )
