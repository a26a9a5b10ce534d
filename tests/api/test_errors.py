"""One error body for every 4xx/5xx: status, code, message and a list of precise errors."""

import pytest
from rest_framework import serializers
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from api.exceptions import ErrorItem, InvalidInput, flatten_validation_detail

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"status", "code", "message", "errors"}


def test_unknown_api_path_is_a_json_404(anonymous_client):
    response = anonymous_client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["code"] == "not_found"


def test_unknown_territory_is_a_404(anonymous_client, reference):
    response = anonymous_client.get("/api/v1/territories/99999/")
    assert response.status_code == 404
    assert response.json()["message"] == "No territory has the code '99999'."


def test_bad_filter_value_names_the_field(anonymous_client, reference):
    response = anonymous_client.get("/api/v1/territories/", {"kind": "canton"})
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400
    assert body["errors"][0]["field"] == "kind"
    assert "canton" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    ("path", "name", "value", "unknown"),
    [
        ("/api/v1/offers/", "domain", "nope", "nope"),
        ("/api/v1/offers/", "theme", "childcare,zzz", "zzz"),
        ("/api/v1/offers/", "audience", "families,martians", "martians"),
        ("/api/v1/needs/", "domain", "jobs,nope", "nope"),
        ("/api/v1/needs/", "theme", "zzz", "zzz"),
        ("/api/v1/needs/", "audience", "martians", "martians"),
        ("/api/v1/surveys/", "audience", "martians", "martians"),
    ],
)
def test_an_unknown_code_is_the_same_400_on_every_list(admin_client, reference, path, name, value, unknown):
    response = admin_client.get(path, {name: value})
    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "code": "invalid",
        "message": "The request is invalid; see errors.",
        "errors": [
            {"field": name, "line": None, "code": "not_found", "message": f"Unknown {name} code(s): {unknown}."}
        ],
    }


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/territories/", "parent"),
        ("/api/v1/territories/", "within"),
        ("/api/v1/organisations/", "territory"),
        ("/api/v1/offers/", "territory"),
        ("/api/v1/needs/", "territory"),
    ],
)
def test_an_unknown_territory_is_the_same_400_on_every_list(admin_client, reference, path, name):
    response = admin_client.get(path, {name: "99999"})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": name, "line": None, "code": "not_found", "message": "No territory has the code '99999'."}
    ]


def test_page_size_over_the_cap_is_refused(anonymous_client, reference):
    response = anonymous_client.get("/api/v1/territories/", {"page_size": 1000})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "field": "page_size",
            "line": None,
            "code": "out_of_range",
            "message": "page_size must be a whole number from 1 to 100.",
        }
    ]


def test_authentication_error_has_the_same_shape(anonymous_client):
    response = anonymous_client.post("/api/v1/auth/token/", {"username": "nobody", "password": "wrong"})
    assert response.status_code == 400
    assert set(response.json()) == ERROR_KEYS


class _Boom(APIView):
    authentication_classes = []
    permission_classes = []

    def get(self, request):
        raise RuntimeError("database on fire")


def test_unexpected_exception_is_a_json_500_without_internals():
    response = _Boom.as_view()(APIRequestFactory().get("/boom"))
    assert response.status_code == 500
    assert response.data["code"] == "server_error"
    assert "fire" not in response.data["message"]


def test_invalid_input_keeps_lines_and_fields():
    class _Import(APIView):
        authentication_classes = []
        permission_classes = []

        def post(self, request):
            raise InvalidInput([ErrorItem(line=3, field="latitude", message="not a number")])

    response = _Import.as_view()(APIRequestFactory().post("/import"))
    assert response.status_code == 400
    assert response.data["errors"] == [{"message": "not a number", "code": "invalid", "field": "latitude", "line": 3}]


def test_nested_validation_details_are_flattened_to_paths():
    class ItemSerializer(serializers.Serializer):
        code = serializers.SlugField()

    class PayloadSerializer(serializers.Serializer):
        title = serializers.CharField()
        items = ItemSerializer(many=True)

    serializer = PayloadSerializer(data={"items": [{"code": "ok"}, {"code": "not a slug"}]})
    assert not serializer.is_valid()
    fields = sorted(item.field for item in flatten_validation_detail(serializer.errors))
    assert fields == ["items.1.code", "title"]
