"""The JSON parser of every endpoint: DRF's, within the limits of `api.jsonlimits`.

A body nested deeper than JSON_MAX_DEPTH (the decoder recurses: 1,000 levels were a RecursionError, a 500), a number
longer than JSON_MAX_NUMBER_DIGITS, infinite, NaN or beyond 64 bits, or a NUL character (PostgreSQL text cannot hold
U+0000: a 500 there, stored on SQLite) is refused here, once for every endpoint, with the path of each problem.
"""

import json

from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from api.jsonlimits import JSONLimitError, json_decode

# What Python's decoder says of malformed JSON (json.JSONDecodeError.msg), worded for the catalogue; a message not
# listed here is shown as Python words it.
_JSON_DECODE_REASONS = {
    "Expecting value": _("a value was expected"),
    "Expecting property name enclosed in double quotes": _("a property name in double quotes was expected"),
    "Expecting ':' delimiter": _("a ':' was expected"),
    "Expecting ',' delimiter": _("a ',' was expected"),
    "Unterminated string starting at": _("a string is not closed"),
    "Invalid control character at": _("a string holds a control character"),
    "Invalid \\escape": _("a string holds an invalid escape"),
    "Invalid \\uXXXX escape": _("a string holds an invalid \\uXXXX escape"),
    "Extra data": _("there is more after the JSON document"),
}


def json_decode_reason(exc: json.JSONDecodeError) -> str:
    """What is wrong with a malformed document, in the request's language (without the position)."""
    reason = _JSON_DECODE_REASONS.get(exc.msg)
    return str(reason) if reason is not None else exc.msg


def json_limit_errors(exc: JSONLimitError) -> dict:
    """InvalidInput arguments for a JSONLimitError: an error per problem, and their code when they all share one."""
    from api.exceptions import ErrorItem

    errors = [ErrorItem(field=p.path, line=p.line, code=p.code, message=p.message) for p in exc.problems]
    codes = {problem.code for problem in exc.problems}
    return {"errors": errors, "code": codes.pop() if len(codes) == 1 else None}


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        # api.exceptions imports DRF's views, which load this parser from the settings: import it when parsing.
        from api.exceptions import InvalidInput

        encoding = parsers.get_encoding(parser_context or {})
        try:
            return json_decode(
                stream.read().decode(encoding),
                max_depth=settings.JSON_MAX_DEPTH,
                max_digits=settings.JSON_MAX_NUMBER_DIGITS,
            )
        except JSONLimitError as exc:
            raise InvalidInput(**json_limit_errors(exc)) from exc
        except (ValueError, json.JSONDecodeError) as exc:  # UnicodeDecodeError is a ValueError
            raise ParseError(_json_parse_error(exc)) from exc


def _json_parse_error(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return gettext("JSON parse error: %(reason)s (line %(line)s, column %(column)s).") % {
            "reason": json_decode_reason(exc),
            "line": exc.lineno,
            "column": exc.colno,
        }
    return gettext("JSON parse error: %(reason)s.") % {"reason": exc}
