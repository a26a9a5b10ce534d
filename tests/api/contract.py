"""The check the contract runs (in process and against a live server) add to schemathesis' own: every 4xx answer is
a JSON body in the shared Error shape, whether or not the schema documents that status for the operation."""

import json

import schemathesis

ERROR_ITEM_KEYS = {"field", "line", "code", "message"}


@schemathesis.check
def refusals_are_json_errors(ctx, response, case):
    """A 4xx must be `application/json` with `status` (the response's own), `code`, `message` and `errors` (each
    with `field`, `line`, `code`, `message`): clients read every refusal the same way, whichever layer refused
    (URL resolver, parser, authentication, throttle, validation)."""
    if not 400 <= response.status_code < 500:
        return
    content_type = ";".join(response.headers.get("content-type", [""])).split(";")[0].strip()
    if content_type != "application/json":
        raise AssertionError(
            f"{response.status_code} answered {content_type or 'no content type'}, not application/json: "
            f"{response.content[:120]!r}"
        )
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        raise AssertionError(f"{response.status_code} answered invalid JSON: {response.content[:120]!r}") from exc
    problems = []
    if not isinstance(body, dict):
        problems.append("the body is not an object")
    else:
        if body.get("status") != response.status_code:
            problems.append(f"status is {body.get('status')!r}, not {response.status_code}")
        problems += [f"{key} is not a non-empty string" for key in ("code", "message") if not body.get(key)]
        errors = body.get("errors")
        if not isinstance(errors, list) or not all(
            isinstance(item, dict) and item.keys() >= ERROR_ITEM_KEYS for item in errors
        ):
            problems.append(f"errors is not a list of {sorted(ERROR_ITEM_KEYS)} objects")
    if problems:
        raise AssertionError(f"{response.status_code} is not an Error body ({'; '.join(problems)}): {body!r:.300}")
