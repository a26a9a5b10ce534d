"""Token authentication and the roles behind every permission check."""

import pytest
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from api.permissions import IsAdminOrReadOnly, IsAnalyst, is_analyst
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


class _StrategyView(APIView):
    """A view guarded like every analyst endpoint (needs, reports, runs)."""

    permission_classes = [IsAnalyst]

    def get(self, request):
        return Response({"ok": True})


class _ReferenceView(APIView):
    permission_classes = [IsAdminOrReadOnly]

    def get(self, request):
        return Response({"ok": True})

    def post(self, request):
        return Response({"ok": True}, status=201)


def call(view, method, user=None):
    request = getattr(APIRequestFactory(), method)("/x", {}, format="json")
    if user is not None:
        force_authenticate(request, user=user)
    return view.as_view()(request)


def test_token_endpoint_returns_a_working_token(anonymous_client, analyst_user):
    response = anonymous_client.post(
        "/api/v1/auth/token/", {"username": "analyst-user", "password": "secret-password-123"}
    )
    assert response.status_code == 200
    token = response.json()["token"]
    anonymous_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert anonymous_client.get("/api/v1/health/").status_code == 200


def test_bad_token_is_401(anonymous_client, reference):
    anonymous_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = anonymous_client.get("/api/v1/territories/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


@pytest.mark.parametrize(
    ("role", "expected"),
    [("anonymous", 401), ("editor", 403), ("analyst", 200), ("admin", 200)],
)
def test_analyst_read_endpoint_by_role(role, expected):
    users = {
        "anonymous": None,
        "editor": make_user("someone-editing"),
        "analyst": make_user("someone-analysing", analyst=True),
        "admin": make_user("someone-administering", admin=True),
    }
    assert call(_StrategyView, "get", users[role]).status_code == expected


@pytest.mark.parametrize(
    ("role", "expected"),
    [("anonymous", 401), ("editor", 403), ("analyst", 403), ("admin", 201)],
)
def test_reference_write_endpoint_by_role(role, expected):
    users = {
        "anonymous": None,
        "editor": make_user("editing"),
        "analyst": make_user("analysing", analyst=True),
        "admin": make_user("administering", admin=True),
    }
    assert call(_ReferenceView, "post", users[role]).status_code == expected
    assert call(_ReferenceView, "get", users[role]).status_code == 200


def test_reference_endpoints_refuse_writes_from_an_analyst(analyst_client, reference):
    # Analysts create custom territories only: an empty body is a 400, an administrative territory is not replaced.
    assert analyst_client.post("/api/v1/territories/", {}).status_code == 400
    assert analyst_client.put("/api/v1/territories/23096/", {}).status_code == 405
    assert analyst_client.post("/api/v1/taxonomy/", {}).status_code == 405


def test_is_analyst_is_memoised_per_request_user(django_assert_num_queries):
    user = make_user("memo", analyst=True)
    with django_assert_num_queries(1):
        assert is_analyst(user)
        assert is_analyst(user)
