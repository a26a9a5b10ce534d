"""The OpenAPI schema validates with zero warnings and documents the error body everywhere."""

import pytest

pytestmark = pytest.mark.django_db


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
    uploads = ("responses/", "responses/wide/", "responses/preview/", "mapping/suggest/")
    for path in ("/api/v1/needs/import/", *(f"/api/v1/surveys/{{id}}/{upload}" for upload in uploads)):
        operation = paths[path]["post"]
        body = operation["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
        component = schema["components"]["schemas"][body.rsplit("/", 1)[1]]
        assert component["properties"]["file"]["format"] == "binary"
        assert {"200", "400", "401", "403", "413"} <= set(operation["responses"])
    for decision, success in (("accept", "201"), ("reject", "200")):
        operation = paths[f"/api/v1/surveys/{{id}}/candidate-needs/{{key}}/{decision}/"]["post"]
        assert "`question:theme:audience`" in _parameter(operation, "key")["description"]
        assert {success, "404", "409"} <= set(operation["responses"])
        assert operation["responses"][success]["content"][JSON]["schema"]["$ref"].endswith("/CandidateNeed")
    assert {op["tags"][0] for op in paths["/api/v1/needs/"].values()} == {"needs"}
    assert "409" in paths["/api/v1/audiences/{code}/"]["delete"]["responses"]
    assert {"401", "403"} <= set(paths["/api/v1/needs/"]["get"]["responses"])


JSON = "application/json"
ERROR_REF = "#/components/schemas/Error"


def _parameter(operation, name: str) -> dict:
    return next(parameter for parameter in operation["parameters"] if parameter["name"] == name)


def _operations(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield f"{method.upper()} {path}", operation


def test_every_operation_has_an_id_tags_a_summary_and_documented_parameters(schema):
    declared_tags = {tag["name"] for tag in schema["tags"]}
    for label, operation in _operations(schema):
        assert operation.get("operationId"), label
        assert operation.get("summary"), label
        assert operation.get("tags") and set(operation["tags"]) <= declared_tags, label
        for parameter in operation.get("parameters", []):
            assert parameter.get("description"), f"{label} parameter {parameter['name']} has no description"
    assert schema["paths"]["/api/v1/"]["get"]["tags"] == ["root"]


def test_every_json_body_has_an_example(schema):
    for label, operation in _operations(schema):
        request_body = operation.get("requestBody", {}).get("content", {})
        if JSON in request_body:
            assert request_body[JSON].get("examples"), f"{label}: request body without example"
        for status, response in operation["responses"].items():
            content = response.get("content", {})
            if status.startswith("2") and JSON in content:
                assert content[JSON].get("examples"), f"{label} {status}: body without example"


def test_every_error_response_is_the_error_body_with_its_own_example(schema):
    for label, operation in _operations(schema):
        errors = {status: response for status, response in operation["responses"].items() if status[0] in "45"}
        if label != "GET /api/v1/health/":
            assert errors, f"{label} documents no error response"
        for status, response in errors.items():
            if label == "GET /api/v1/health/":
                continue
            content = response["content"][JSON]
            assert content["schema"]["$ref"] == ERROR_REF, f"{label} {status}"
            values = [example["value"] for example in content.get("examples", {}).values()]
            # The shared example of the status, and an operation's own cases of it (`too_many_runs`), if any.
            assert values and {value["status"] for value in values} == {int(status)}, f"{label} {status}: example"


def test_errors_every_operation_can_return_are_documented(schema):
    paths = schema["paths"]
    # A wrong or revoked token is refused even where anonymous reads are allowed.
    for path in ("/api/v1/", "/api/v1/taxonomy/", "/api/v1/offers/", "/api/v1/territories/{code}/"):
        assert "401" in paths[path]["get"]["responses"], path
    # A page beyond the last is a 404 on every paginated list.
    for path in ("/api/v1/offers/", "/api/v1/needs/", "/api/v1/matching/runs/"):
        assert "404" in paths[path]["get"]["responses"], path
    # Bodies in a media type the operation does not read.
    for path, method in (("/api/v1/offers/", "post"), ("/api/v1/needs/import/", "post")):
        assert "415" in paths[path][method]["responses"], path
    assert "429" in paths["/api/v1/matching/search/"]["post"]["responses"]


def test_pagination_bounds_are_part_of_the_contract(schema):
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/offers/"]["get"]["parameters"]}
    assert parameters["page"]["schema"]["minimum"] == 1
    assert (parameters["page_size"]["schema"]["minimum"], parameters["page_size"]["schema"]["maximum"]) == (1, 100)
    export = {p["name"] for p in schema["paths"]["/api/v1/offers/export/"]["get"]["parameters"]}
    assert not {"page", "page_size"} & export  # exports stream the whole list


def test_component_and_enum_names_are_tidy(schema):
    components = set(schema["components"]["schemas"])
    assert not [name for name in components if name.endswith("RequestRequest")]
    assert {"MatchingSearchRequest", "OfferImportRequest", "TokenRequest", "TokenResponse"} <= components
    assert {"NeedSourceEnum", "JourneyStageEnum", "IpaCrosshairRuleEnum"} <= components
    assert not {"RuleEnum", "SourceEnum", "StageEnum"} & components


def test_nullable_and_list_shapes_match_the_answers(schema):
    components = schema["components"]["schemas"]
    assert components["MatchingRun"]["properties"]["scope_territory"].get("nullable") is True
    export = schema["paths"]["/api/v1/needs/export/"]["get"]["responses"]["200"]["content"][JSON]["schema"]
    assert export == {"type": "array", "items": {"$ref": "#/components/schemas/NeedExportRecord"}}
    offers_export = schema["paths"]["/api/v1/offers/export/"]["get"]["responses"]["200"]["content"][JSON]["schema"]
    assert offers_export == {"type": "array", "items": {"$ref": "#/components/schemas/Offer"}}
