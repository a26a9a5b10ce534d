"""Every example of the OpenAPI schema is valid against what it illustrates: request bodies against the request
schema, responses against the schema of their status and media type, parameters against the parameter's schema,
and the examples of schema properties against those properties."""

import copy
import datetime

from jsonschema import Draft4Validator, FormatChecker

# jsonschema checks "date-time" only with an optional package: Python reads RFC 3339 timestamps itself.
FORMATS = FormatChecker()
FORMATS.checks("date-time", raises=ValueError)(datetime.datetime.fromisoformat)


def draft4(node):
    """An OpenAPI 3.0 schema object as JSON Schema draft 4, which OpenAPI 3.0 extends: `nullable: true` also
    accepts null (its other keywords, such as readOnly or example, are annotations draft 4 ignores). Objects refuse
    undeclared fields here, so an example keeps no field the API renamed or dropped."""
    if isinstance(node, list):
        return [draft4(value) for value in node]
    if not isinstance(node, dict):
        return node
    node = {key: draft4(value) for key, value in node.items()}
    if "properties" in node:
        node.setdefault("additionalProperties", False)
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


def _holder_examples(label: str, holder: dict, schema: dict):
    if "example" in holder:
        yield label, holder["example"], schema
    for name, example in holder.get("examples", {}).items():
        yield f"{label} example {name}", example["value"], schema


def _property_examples(label: str, schema: dict):
    if "example" in schema:
        yield label, schema["example"], schema
    for name, subschema in schema.get("properties", {}).items():
        yield from _property_examples(f"{label}.{name}", subschema)
    if isinstance(schema.get("items"), dict):
        yield from _property_examples(f"{label}[]", schema["items"])
    for keyword in ("allOf", "anyOf", "oneOf"):
        for subschema in schema.get(keyword, []):
            yield from _property_examples(label, subschema)


def schema_examples(schema: dict):
    """(where, example value, OpenAPI schema it must satisfy) for every example of the schema."""
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            label = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                where = f"{label} {parameter['in']} parameter {parameter['name']}"
                yield from _holder_examples(where, parameter, parameter["schema"])
            for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
                yield from _holder_examples(f"{label} request {media_type}", content, content.get("schema", {}))
            for status, response in operation["responses"].items():
                for media_type, content in response.get("content", {}).items():
                    yield from _holder_examples(f"{label} {status} {media_type}", content, content.get("schema", {}))
    for name, component in schema["components"]["schemas"].items():
        yield from _property_examples(f"component {name}", component)


def example_errors(schema: dict) -> list[str]:
    """One line per example that does not validate, with the path inside the example and the reason."""
    components = draft4(schema["components"])
    errors = []
    for where, value, target in schema_examples(schema):
        # Local $refs ("#/components/schemas/...") resolve in this document.
        validator = Draft4Validator({"allOf": [draft4(target)], "components": components}, format_checker=FORMATS)
        for error in validator.iter_errors(value):
            errors.append(f"{where} at {'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}")
    return errors


def test_every_example_of_the_schema_is_valid(schema):
    assert example_errors(schema) == []


def test_every_kind_of_example_is_checked(schema):
    where = [label for label, _, _ in schema_examples(schema)]
    assert len(where) > 250
    assert any(" request application/json example " in label for label in where)
    assert any(" 200 application/json example " in label for label in where)
    assert any(" 404 application/json example " in label for label in where)
    assert any(" path parameter " in label for label in where)
    assert any(label.startswith("component ") for label in where)


def test_a_missing_field_a_wrong_type_an_undeclared_field_and_a_null_are_caught(schema):
    broken = copy.deepcopy(schema)
    report = broken["paths"]["/api/v1/matching/runs/{run_id}/report/"]["get"]["responses"]["200"]
    (example,) = report["content"]["application/json"]["examples"].values()
    del example["value"]["totals"]
    example["value"]["top"] = "one"
    example["value"]["groups"][0]["gap_sum"] = 0.87
    run = broken["paths"]["/api/v1/matching/runs/"]["post"]["requestBody"]["content"]["application/json"]
    (request,) = run["examples"].values()
    request["value"]["scope_audiences"] = None  # not nullable
    assert sorted(example_errors(broken)) == [
        "GET /api/v1/matching/runs/{run_id}/report/ 200 application/json example GapsByDomain at (root): "
        "'totals' is a required property",
        "GET /api/v1/matching/runs/{run_id}/report/ 200 application/json example GapsByDomain at groups/0: "
        "Additional properties are not allowed ('gap_sum' was unexpected)",
        "GET /api/v1/matching/runs/{run_id}/report/ 200 application/json example GapsByDomain at top: "
        "'one' is not of type 'integer'",
        "POST /api/v1/matching/runs/ request application/json example Families'NeedsInTheGrandGuéret at "
        "scope_audiences: None is not of type 'array'",
    ]
