"""Decoding untrusted JSON (request bodies and uploaded files) within limits, in pure Python: nesting depth, digits
per number, finite numbers that fit a 64-bit column, no NUL character; every problem with its path or line, in the
request's language (`api.pure_i18n`)."""

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from api.cells import INT64_MAX, INT64_MIN
from api.pure_i18n import gettext, gettext_noop

NUL = "\x00"
# A whole string (escapes included), a bracket, or a lone quote (an unterminated string: the decoder reports it).
_DEPTH_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]|"', re.DOTALL)


@dataclass(frozen=True)
class JSONProblem:
    """One refused part of a document: its dotted path (`items.2.capacity`) or its line, and why."""

    code: str
    message: str
    path: str | None = None
    line: int | None = None


class JSONLimitError(ValueError):
    """A well-formed document beyond a limit, with every problem found."""

    def __init__(self, problems: list[JSONProblem]):
        super().__init__(problems[0].message)
        self.problems = problems


@dataclass(frozen=True)
class _RefusedNumber:
    """What a number hook returns instead of raising, so that the walk can name the number's path."""

    code: str
    message: str


def json_depth_check(text: str, *, max_depth: int) -> None:
    """Refuse a document nested deeper than `max_depth`, before the decoder (which recurses) sees it."""
    if text.count("[") + text.count("{") <= max_depth:
        return
    depth = 0
    for match in _DEPTH_TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > max_depth:
                line = text.count("\n", 0, match.start()) + 1
                raise JSONLimitError(
                    [
                        JSONProblem(
                            code="too_deep",
                            message=gettext(
                                "The JSON is nested more than %(limit)s levels deep "
                                "(the limit, DJANGO_JSON_MAX_DEPTH)."
                            )
                            % {"limit": max_depth},
                            line=line,
                        )
                    ]
                )
        elif token in "]}":
            depth = max(depth - 1, 0)
        elif token == '"':
            return  # unterminated string: malformed, which the decoder says with its line


def _number_hooks(max_digits: int):
    def hook(convert, in_range, out_of_range: str):
        def parse(text: str):
            digits = sum(character.isdigit() for character in text)
            if digits > max_digits:
                message = gettext(
                    "A number of %(digits)s digits; the limit is %(limit)s (DJANGO_JSON_MAX_NUMBER_DIGITS)."
                ) % {"digits": digits, "limit": max_digits}
                return _RefusedNumber("number_too_long", message)
            number = convert(text)
            if in_range(number):
                return number
            return _RefusedNumber("out_of_range", gettext(out_of_range) % {"number": text})

        return parse

    def parse_constant(text: str):
        return _RefusedNumber("invalid_number", gettext("%(number)s is not a number JSON allows.") % {"number": text})

    return {
        "parse_int": hook(
            int,
            lambda number: INT64_MIN <= number <= INT64_MAX,
            gettext_noop("%(number)s is out of range: whole numbers go from -2**63 to 2**63 - 1."),
        ),
        "parse_float": hook(
            float, math.isfinite, gettext_noop("%(number)s is out of range: numbers go up to about 1.8e308.")
        ),
        "parse_constant": parse_constant,
    }


def _problems(data) -> list[JSONProblem]:
    """The refused numbers and the strings and keys holding a NUL, by path, in document order (no recursion)."""
    problems = []
    stack = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, _RefusedNumber):
            problems.append(JSONProblem(code=value.code, message=value.message, path=path or None))
        elif isinstance(value, str):
            if NUL in value:
                problems.append(_nul_problem(path))
        elif isinstance(value, dict):
            children = []
            for key, child in value.items():
                child_path = f"{path}.{key}" if path else key
                if NUL in key:
                    children.append((child_path, NUL))  # the key's problem, in its place in the document
                children.append((child_path, child))
            stack.extend(reversed(children))
        elif isinstance(value, list):
            stack.extend(
                reversed([(f"{path}.{index}" if path else str(index), child) for index, child in enumerate(value)])
            )
    return problems


def _nul_problem(path: str) -> JSONProblem:
    return JSONProblem(
        code="null_character",
        message=gettext("Text cannot contain the NUL character (U+0000)."),
        path=path.replace(NUL, "\\u0000") or "(body)",
    )


def json_decode(text: str, *, max_depth: int, max_digits: int) -> Any:
    """Decode `text`; json.JSONDecodeError when it is malformed, JSONLimitError listing every problem when it is
    nested too deep, holds a number that is too long, infinite, NaN or beyond 64 bits, or a NUL character."""
    json_depth_check(text, max_depth=max_depth)
    data = json.loads(text, **_number_hooks(max_digits))
    problems = _problems(data)
    if problems:
        raise JSONLimitError(problems)
    return data
