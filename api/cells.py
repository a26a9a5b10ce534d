"""The cell parsers of every upload (offers, needs, survey responses), so a number, a date or a list reads the same way
in each file; pure Python (no Django).

Each parser takes a raw cell (text from a CSV, any JSON value from a JSON file), returns None (or [] / "") for a
blank one, and raises CellError, whose message names the value, for one it cannot read. Callers that word their
errors their own way catch CellError and say what they expected. Messages are in the request's language
(`api.pure_i18n`: this module never imports Django).
"""

import datetime
import math
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from api.pure_i18n import every_translation, gettext
from api.text import fold_text

# What French spreadsheets and our own exports write: ISO dates first, then the French ways.
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y")
LIST_SEPARATORS = re.compile(r"[|,;]")
_WHOLE_NUMBER = re.compile(r"[-+]?\d+")
# What a database integer column holds (64 bits): 20 digits already exceed it.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_TRUE = {"true", "1", "oui", "o", "vrai", "yes", "y", "gratuit", "x"}
_FALSE = {"false", "0", "non", "n", "faux", "no", "payant"}


class CellError(ValueError):
    """A cell that does not read as what its column holds; the message names the value."""


def blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_text(value) -> str:
    return "" if value is None else str(value).strip()


def parse_list(value) -> list[str]:
    """A JSON list, or codes separated by `|`, `,` or `;`; blank items dropped."""
    if blank(value):
        return []
    items = value if isinstance(value, list | tuple) else LIST_SEPARATORS.split(str(value))
    return [str(item).strip() for item in items if not blank(item)]


def parse_bool(value) -> bool | None:
    if blank(value) or isinstance(value, bool):
        return None if blank(value) else value
    folded = fold_text(str(value))
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    raise CellError(gettext("%(value)s is not a yes/no value (use true/false or oui/non).") % {"value": repr(value)})


def parse_decimal(value) -> Decimal | None:
    """An amount: `12.50`, `12,50`, `12,50 €`, `1 200`."""
    if blank(value):
        return None
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    text = str(value).replace("€", "").replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace(",", ".")
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise CellError(gettext("%(value)s is not a number (e.g. 12.50 or 12,50).") % {"value": repr(value)}) from exc


def parse_float(value) -> float | None:
    """A finite number with a decimal point or a decimal comma (`46.17`, `46,17`)."""
    if blank(value):
        return None
    if isinstance(value, bool):
        raise CellError(_not_a_number(value))
    try:
        number = float(value) if isinstance(value, int | float) else float(str(value).strip().replace(",", "."))
    except (ValueError, OverflowError) as exc:
        raise CellError(_not_a_number(value)) from exc
    if not math.isfinite(number):
        raise CellError(_not_a_number(value))
    return number


def _not_a_number(value) -> str:
    return gettext("%(value)s is not a number.") % {"value": repr(value)}


def parse_int(value) -> int | None:
    """A whole number: `12`, `1 200`, or a decimal with nothing after the point (`3,0`, `3.0`, the 3.0 of JSON)."""
    if blank(value):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return _int64(value, value)
    text = str(value).strip().replace(" ", "")
    if _WHOLE_NUMBER.fullmatch(text):
        # Exact (a float would round it); its length checked first, as int() of thousands of digits raises.
        sign, digits = ("-" if text.startswith("-") else ""), text.lstrip("+-").lstrip("0") or "0"
        return _int64(int(sign + digits) if len(digits) <= 19 else INT64_MAX + 1, value)
    try:
        number = parse_float(text)
    except CellError:
        number = None
    if number is None or number != int(number):
        raise CellError(gettext("%(value)s is not a whole number.") % {"value": repr(value)})
    return _int64(int(number), value)


def _int64(number: int, value) -> int:
    if not INT64_MIN <= number <= INT64_MAX:
        if len(str(value)) <= 40:
            message = gettext("%(value)s is out of range: whole numbers go from -2**63 to 2**63 - 1.")
        else:
            message = gettext(
                "A number of %(length)s characters is out of range: whole numbers go from -2**63 to 2**63 - 1."
            )
        raise CellError(message % {"value": repr(value), "length": len(str(value))})
    return number


def parse_date(value) -> datetime.date | None:
    if blank(value):
        return None
    if isinstance(value, datetime.date):
        return value
    text = str(value).strip()
    for pattern in DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise CellError(gettext("%(value)s is not a date (use YYYY-MM-DD or DD/MM/YYYY).") % {"value": repr(value)})


def parse_choice(value, choices: Iterable[tuple[str, str]], *, aliases: dict[str, str] | None = None) -> str | None:
    """A choice by its code, its label (French or English, whatever the request's language) or an alias, ignoring
    case and accents (`Accueillir` -> `welcome`)."""
    if blank(value):
        return None
    folded = fold_text(str(value))
    choices = list(choices)
    for code, label in choices:
        if folded == fold_text(code) or folded in {fold_text(text) for text in every_translation(label)}:
            return code
    for alias, code in (aliases or {}).items():
        if folded == fold_text(alias):
            return code
    raise CellError(
        gettext("%(value)s is not one of %(codes)s")
        % {"value": repr(parse_text(value)), "codes": ", ".join(code for code, _label in choices)}
    )
