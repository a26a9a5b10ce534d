"""The OpenAPI schema validates with zero warnings and documents the error body everywhere."""

import pytest
import yaml
from django.core.management import call_command

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(tmp_path_factory, django_db_blocker):
    path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    with django_db_blocker.unblock():
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


def test_schema_paths_and_docs_are_served(anonymous_client):
    assert anonymous_client.get("/api/schema/").status_code == 200
    assert anonymous_client.get("/api/docs/").status_code == 200
    assert anonymous_client.get("/api/redoc/").status_code == 200


def test_key_paths_present(schema):
    for path in (
        "/api/v1/territories/",
        "/api/v1/territories/{code}/",
        "/api/v1/taxonomy/",
        "/api/v1/health/",
        "/api/v1/auth/token/",
    ):
        assert path in schema["paths"], path


def test_every_operation_is_documented(schema):
    operation_ids = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            operation_ids.append(operation["operationId"])
            assert operation.get("summary"), f"{method.upper()} {path} has no summary"
            assert operation.get("tags"), f"{method.upper()} {path} has no tag"
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")) and path != "/api/v1/health/":
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref == "#/components/schemas/Error", f"{method.upper()} {path} {status}"
    assert len(operation_ids) == len(set(operation_ids))


def test_errors_are_documented_per_operation(schema):
    territories = schema["paths"]["/api/v1/territories/{code}/"]["get"]["responses"]
    assert {"200", "404"} <= set(territories)
    token = schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]
    assert {"200", "400", "429"} <= set(token)


def test_offer_operations_are_documented(schema):
    paths = schema["paths"]
    for path, method in (
        ("/api/v1/offers/", "get"),
        ("/api/v1/offers/", "post"),
        ("/api/v1/offers/{id}/", "get"),
        ("/api/v1/offers/{id}/", "patch"),
        ("/api/v1/offers/{id}/", "delete"),
        ("/api/v1/offers/import/", "post"),
        ("/api/v1/offers/import/data-inclusion/", "post"),
        ("/api/v1/offers/export/", "get"),
        ("/api/v1/organisations/", "get"),
        ("/api/v1/organisations/{slug}/", "patch"),
    ):
        assert "offers" in paths[path][method]["tags"], (path, method)
    listing = paths["/api/v1/offers/"]["get"]
    parameters = {parameter["name"]: parameter for parameter in listing["parameters"]}
    for name in (
        "domain",
        "theme",
        "audience",
        "territory",
        "near",
        "radius_km",
        "q",
        "available_on",
        "is_free",
        "organisation",
        "status",
        "updated_since",
        "ordering",
    ):
        assert parameters[name].get("description"), name
    assert {"200", "304", "400"} <= set(listing["responses"])
    assert {"200", "400", "401", "403", "413", "429"} <= set(paths["/api/v1/offers/import/"]["post"]["responses"])
    export = paths["/api/v1/offers/export/"]["get"]["responses"]["200"]["content"]
    assert {"text/csv", "application/json"} <= set(export)


def test_audiences_paths_are_documented(schema):
    paths = schema["paths"]
    for path in (
        "/api/v1/audiences/",
        "/api/v1/audiences/{code}/",
        "/api/v1/needs/",
        "/api/v1/needs/{id}/",
        "/api/v1/needs/import/",
        "/api/v1/needs/export/",
        "/api/v1/surveys/",
        "/api/v1/surveys/{id}/",
        "/api/v1/surveys/{id}/responses/",
    ):
        assert path in paths, path
    need_filters = {parameter["name"]: parameter for parameter in paths["/api/v1/needs/"]["get"]["parameters"]}
    for name in ("audience", "domain", "theme", "territory", "stage", "source", "min_importance", "q", "ordering"):
        assert need_filters[name].get("description"), name
    export_parameters = {parameter["name"] for parameter in paths["/api/v1/needs/export/"]["get"]["parameters"]}
    assert {"format", "audience", "territory", "q"} <= export_parameters
    for path in ("/api/v1/surveys/{id}/responses/", "/api/v1/needs/import/"):
        operation = paths[path]["post"]
        body = operation["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
        component = schema["components"]["schemas"][body.rsplit("/", 1)[1]]
        assert component["properties"]["file"]["format"] == "binary"
        assert {"200", "400", "401", "403", "413"} <= set(operation["responses"])
    assert {op["tags"][0] for op in paths["/api/v1/needs/"].values()} == {"needs"}
    assert "409" in paths["/api/v1/audiences/{code}/"]["delete"]["responses"]
    assert {"401", "403"} <= set(paths["/api/v1/needs/"]["get"]["responses"])
