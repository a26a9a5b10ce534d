"""OpenAPI examples of the cross-cutting bodies (errors, health, API root, tokens) and the helpers every app's
`examples.py` builds its own with: realistic data of the Creuse, attached with `extend_schema_serializer`."""

from drf_spectacular.utils import OpenApiExample

STAMP = "2025-05-12T09:30:00+02:00"


def response(summary: str, value, *, status_codes=(200, 201), name: str | None = None) -> OpenApiExample:
    return OpenApiExample(
        name or summary, summary=summary, value=value, response_only=True, status_codes=[str(c) for c in status_codes]
    )


def request(summary: str, value, *, name: str | None = None) -> OpenApiExample:
    return OpenApiExample(name or summary, summary=summary, value=value, request_only=True)


# Errors: one example per status, so each error response of the schema shows its own case. ----------------------


def error(status: int, code: str, summary: str, message: str, errors: tuple = ()) -> OpenApiExample:
    body = {"status": status, "code": code, "message": message, "errors": list(errors)}
    return response(summary, body, status_codes=[status], name=code)


ERROR_EXAMPLES = [
    error(
        400,
        "invalid",
        "Invalid input: every problem, with its field",
        "The request is invalid; see errors.",
        (
            {"field": "commune", "line": None, "code": "not_found", "message": "No commune has the code '23999'."},
            {"field": "themes.0", "line": None, "code": "invalid", "message": "Unknown theme 'creche'."},
        ),
    ),
    error(401, "not_authenticated", "Missing or unknown token", "Authentication credentials were not provided."),
    error(
        403,
        "permission_denied",
        "Role not allowed",
        "This resource is reserved to analysts: your account does not have the analyst role.",
    ),
    error(404, "not_found", "Unknown resource", "No territory has the code '99999'."),
    error(
        409,
        "conflict",
        "Resource in a state that refuses the request",
        "The run has not succeeded yet: its report is not available.",
    ),
    error(413, "payload_too_large", "File too large", "The file is 12,582,912 bytes; the limit is 10,485,760 bytes."),
    error(
        415,
        "unsupported_media_type",
        "Body in a media type the operation does not read",
        'Unsupported media type "text/plain" in request.',
    ),
    error(429, "throttled", "Too many requests", "Request was throttled. Expected available in 42 seconds."),
]

# Cross-cutting ----------------------------------------------------------------------------------------------------

HEALTH_EXAMPLES = [
    response("Healthy", {"status": "ok", "database": "ok", "version": "1.0.0"}, status_codes=[200]),
    response(
        "Database unreachable",
        {"status": "unavailable", "database": "unavailable", "version": "1.0.0"},
        status_codes=[503],
    ),
]

API_ROOT_EXAMPLES = [
    response(
        "Entry points",
        {
            "name": "Ancrage API",
            "version": "1.0.0",
            "links": {
                "offers": "https://api.ancrage.example/api/v1/offers/",
                "territories": "https://api.ancrage.example/api/v1/territories/",
                "matching_search": "https://api.ancrage.example/api/v1/matching/search/",
                "schema": "https://api.ancrage.example/api/schema/",
            },
        },
    )
]

TOKEN_REQUEST_EXAMPLES = [request("Analyst credentials", {"username": "analyste", "password": "ancrage-demo"})]
TOKEN_RESPONSE_EXAMPLES = [response("A token", {"token": "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"})]
