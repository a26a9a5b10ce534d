"""What every source format shares: the record a reader yields, the skip and the whole-file error, and the small
pure parsers they all use (JSON document, texts in several languages, dates, coordinates, the taxonomy's codes).

Pure Python (never imports Django): messages go through `api.pure_i18n`, translated when Django runs the reader.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from api.pure_i18n import gettext
from api.text import fold_text

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
TAXONOMY_FILE = DATA_DIR / "taxonomy.json"
INSEE_NAMES_FILE = DATA_DIR / "insee-names.json"

# The Offer columns the sync writes these into: longer values are cut here rather than refused there.
TITLE_MAX = 200
PRICE_DETAILS_MAX = 200
CONTACT_MAX = 300
URL_MAX = 500
EXTERNAL_ID_MAX = 128
PRICE_MAX = Decimal("99999999.99")  # Offer.price_amount: 10 digits, 2 decimals
# Service area meaning "the whole of France" (CONTRACTS §5); départements and régions share codes (75 is both Paris
# and Nouvelle-Aquitaine), so the readers qualify them: "departement:23", "region:75".
FRANCE = "FR"
PARIS = ZoneInfo("Europe/Paris")
EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class SourceRecord:
    """One usable record of a source, in our vocabulary where the format alone decides it (CONTRACTS §5)."""

    external_id: str
    title: str
    description: str
    categories: tuple[str, ...]
    domain: str | None = None
    themes: tuple[str, ...] = ()
    audiences: tuple[str, ...] = ()
    commune_code: str | None = None
    postal_code: str | None = None
    commune_name: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    remote: bool = False
    service_area: tuple[str, ...] = ()
    available_from: date | None = None
    available_until: date | None = None
    is_free: bool | None = None
    price_amount: Decimal | None = None
    price_details: str = ""
    url: str = ""
    contact: str = ""
    capacity: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordSkip:
    """A record that cannot be used, and why; `code` is stable, `message` is for people."""

    position: int
    external_id: str | None
    code: str
    message: str


class FormatError(Exception):
    """The whole file is unusable (another format, truncated, not JSON, an error page): nothing of it is applied."""

    def __init__(self, message: str, position: int | None = None):
        super().__init__(message)
        self.message = message
        self.position = position


class SourceFormat(Protocol):
    code: str
    label: str
    default_theme_mapping: Mapping[str, tuple[str, ...]]

    def read(self, content: bytes, *, today: date) -> Iterator[SourceRecord | RecordSkip]: ...


# The JSON document -------------------------------------------------------------------------------------------------

_HTML_START = re.compile(r"\s*<(!doctype|html|head|body|\?xml|[a-z]+[\s>])", re.IGNORECASE)


def json_document(content: bytes, *, format_label: str) -> Any:
    """The decoded JSON of a source file; FormatError saying precisely why a file is not a usable JSON document."""
    if isinstance(content, str):
        content = content.encode("utf-8")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(
            gettext("The file is not UTF-8 text (byte %(position)s): a %(format)s file is UTF-8 JSON.")
            % {"position": exc.start + 1, "format": format_label}
        ) from exc
    if not text.strip():
        raise FormatError(
            gettext("The file is empty: a %(format)s file is a JSON document.") % {"format": format_label}
        )
    if _HTML_START.match(text):
        raise FormatError(
            gettext(
                "The file is an HTML or XML page, not JSON: the source probably answered an error page instead of "
                "its %(format)s data."
            )
            % {"format": format_label}
        )
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        stripped = text.rstrip()
        if exc.pos >= len(stripped) or exc.msg.startswith("Unterminated string"):
            exc.lineno, exc.colno = stripped.count("\n") + 1, len(stripped) - stripped.rfind("\n")
            raise FormatError(
                gettext(
                    "The JSON is truncated: it stops at line %(line)s, column %(column)s before the document is "
                    "complete (an interrupted download?)."
                )
                % {"line": exc.lineno, "column": exc.colno}
            ) from exc
        raise FormatError(
            gettext("The file is not valid JSON: %(reason)s at line %(line)s, column %(column)s.")
            % {"reason": exc.msg, "line": exc.lineno, "column": exc.colno}
        ) from exc
    except RecursionError as exc:
        raise FormatError(gettext("The JSON is nested too deeply to be a source file.")) from exc
    except ValueError as exc:  # NaN/Infinity refused by _no_constant
        raise FormatError(gettext("The file is not valid JSON: %(reason)s.") % {"reason": exc}) from exc


def _no_constant(name: str):
    raise ValueError(gettext("%(value)s is not a number JSON allows") % {"value": name})


def wrong_format(data: Any, *, expected: str, format_code: str) -> FormatError:
    """The error for a JSON document of the wrong shape, naming the format it looks like when we know one."""
    from offers.source_formats import SOURCE_FORMATS  # the registry imports the readers, which import this module

    for code, source_format in SOURCE_FORMATS.items():
        recognises = getattr(source_format, "recognises", None)  # not part of the protocol: our readers have it
        if code != format_code and recognises is not None and recognises(data):
            return FormatError(
                gettext("The file is not in the %(format)s format (%(expected)s): it looks like %(other)s data.")
                % {"format": SOURCE_FORMATS[format_code].label, "expected": expected, "other": source_format.label}
            )
    return FormatError(
        gettext("The file is not in the %(format)s format: %(expected)s.")
        % {"format": SOURCE_FORMATS[format_code].label, "expected": expected}
    )


# Values ------------------------------------------------------------------------------------------------------------

_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def text(value: Any) -> str:
    """A clean one-paragraph-or-more text from a scalar ('' for None, lists and objects); NUL characters removed
    (PostgreSQL text cannot hold them)."""
    if value is None or isinstance(value, (dict, list, bool)):
        return ""
    value = str(value)
    if "\x00" in value:
        value = value.replace("\x00", "")
    if "\n" not in value and "\r" not in value and "  " not in value and "\t" not in value:
        return value.strip()  # the common case, cheap: a national feed has hundreds of thousands of fields
    lines = [_SPACES.sub(" ", line).strip() for line in value.splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def first(value: Any) -> Any:
    """The first element of a list (JSON-LD repeats every value in a list), the value itself otherwise."""
    while isinstance(value, list):
        if not value:
            return None
        value = value[0]
    return value


def as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def localised(value: Any, languages: Sequence[str] = ("fr", "en")) -> str:
    """The text of a multilingual value: {"fr": "..."} (OpenAgenda), {"fr": ["..."]} (JSON-LD), [{"@language": "fr",
    "@value": "..."}], or a plain string; French first, then English, then any language given."""
    if isinstance(value, list):
        tagged = {item.get("@language"): item.get("@value") for item in value if isinstance(item, dict)}
        if tagged:
            value = tagged
        else:
            return text(first(value))
    if isinstance(value, dict):
        if "@value" in value:
            return text(value["@value"])
        for language in languages:
            found = text(first(value.get(language)))
            if found:
                return found
        for other in value.values():
            found = text(first(other))
            if found:
                return found
        return ""
    return text(value)


def cut(value: str, limit: int) -> str:
    """`value` within `limit` characters, an ellipsis marking a cut."""
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def joined(parts: Iterable[str], separator: str = " · ") -> str:
    seen: list[str] = []
    for part in parts:
        if part and part not in seen:
            seen.append(part)
    return separator.join(seen)


def web_url(value: Any) -> str:
    """An http(s) URL that fits Offer.url, or ''."""
    url = text(first(value))
    if not url or len(url) > URL_MAX or " " in url or not url.lower().startswith(("http://", "https://")):
        return ""
    return url


def number(value: Any) -> float | None:
    """A finite float from a number or a numeric string ("46.17", "46,17"); None otherwise."""
    value = first(value)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        value = value.strip().replace(",", ".")
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if result == result and abs(result) != float("inf") else None


def whole_number(value: Any) -> int | None:
    value = first(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def amount(value: Any) -> Decimal | None:
    """A price as Decimal with 2 decimals ("12", "12,50", 12.5), None when absent, negative or too large."""
    value = first(value)
    if isinstance(value, bool) or value is None:
        return None
    try:
        result = Decimal(str(value).strip().replace(",", ".").replace(" ", ""))
    except InvalidOperation:
        return None
    if not result.is_finite() or result < 0 or result > PRICE_MAX:
        return None
    return result.quantize(Decimal("0.01"))


def day(value: Any, *, zone: ZoneInfo = PARIS) -> date | None:
    """The calendar day of an ISO date or date-time; an aware time is read in `zone` (an event at 23:30 UTC on
    14 July happens on 15 July in Paris)."""
    value = text(first(value))
    if len(value) < 10:
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone)
    return moment.date()


# Where -------------------------------------------------------------------------------------------------------------

# Metropolitan France with Corsica, then the overseas départements and collectivities (generous boxes: the check
# catches swapped or foreign coordinates, not a point a few kilometres off).
_FRANCE_BOXES = (
    (41.2, 51.2, -5.3, 9.7),  # metropolitan France and Corsica
    (15.8, 16.6, -61.9, -60.9),  # Guadeloupe
    (14.3, 14.95, -61.3, -60.75),  # Martinique
    (2.1, 5.8, -54.7, -51.5),  # Guyane
    (-21.45, -20.85, 55.2, 55.9),  # La Réunion
    (-13.05, -12.6, 44.95, 45.35),  # Mayotte
    (46.7, 47.2, -56.5, -56.1),  # Saint-Pierre-et-Miquelon
    (17.85, 18.15, -63.2, -62.75),  # Saint-Martin and Saint-Barthélemy
    (-14.5, -13.1, -178.3, -176.0),  # Wallis-et-Futuna
    (-28.0, -7.8, -155.0, -134.0),  # Polynésie française
    (-22.8, -19.5, 163.5, 168.2),  # Nouvelle-Calédonie
)


def coordinates(latitude: Any, longitude: Any) -> tuple[float | None, float | None, bool]:
    """(latitude, longitude, inside France): (None, None, True) when either is missing or both are 0 (the
    'null island' of feeds that write 0 for unknown)."""
    lat, lon = number(latitude), number(longitude)
    if lat is None or lon is None or (lat == 0 and lon == 0):
        return None, None, True
    inside = any(south <= lat <= north and west <= lon <= east for south, north, west, east in _FRANCE_BOXES)
    return lat, lon, inside


_INSEE_CODE = re.compile(r"^(\d[\dAB]\d{3})$", re.IGNORECASE)
_POSTAL_CODE = re.compile(r"^\d{5}$")
_DEPARTEMENT_CODE = re.compile(r"^(\d{2}|2[AB]|97\d)$", re.IGNORECASE)


def insee_code(value: Any) -> str | None:
    """A commune's INSEE code ('23096', '2A004'), or None; a number loses its leading zero in some feeds (1053 for
    01053)."""
    value = first(value)
    if isinstance(value, int) and not isinstance(value, bool):
        value = f"{value:05d}"
    code = text(value).upper()
    return code if _INSEE_CODE.match(code) else None


def postal_code(value: Any) -> str | None:
    value = first(value)
    if isinstance(value, int) and not isinstance(value, bool):
        value = f"{value:05d}"
    code = text(value)
    return code if _POSTAL_CODE.match(code) else None


def departement_area(code: str) -> str:
    return f"departement:{code.upper()}"


def region_area(code: str) -> str:
    return f"region:{code}"


def is_departement_code(value: str) -> bool:
    return bool(_DEPARTEMENT_CODE.match(value))


@cache
def insee_names() -> tuple[dict[str, str], dict[str, str]]:
    """(folded département name -> code, folded région name -> code), from the INSEE names we ship."""
    names = json.loads(INSEE_NAMES_FILE.read_text(encoding="utf-8"))
    departements = {fold_text(name): code for code, name in names["departements"].items()}
    regions = {fold_text(name): code for code, name in names["regions"].items()}
    return departements, regions


# Our taxonomy ------------------------------------------------------------------------------------------------------


@cache
def taxonomy() -> dict:
    return json.loads(TAXONOMY_FILE.read_text(encoding="utf-8"))


@cache
def theme_domains() -> dict[str, str]:
    """Theme code -> its domain code, as shipped in taxonomy.json."""
    return {theme["code"]: domain["code"] for domain in taxonomy()["domains"] for theme in domain["themes"]}


def checked_mapping(mapping: Mapping[str, tuple[str, ...]]) -> Mapping[str, tuple[str, ...]]:
    """A read-only default theme mapping whose every theme exists in taxonomy.json (a typo fails at import)."""
    known = theme_domains()
    unknown = sorted({theme for themes in mapping.values() for theme in themes} - set(known))
    if unknown:
        raise ValueError(f"unknown theme codes in a default mapping: {unknown}")
    return MappingProxyType({key: tuple(themes) for key, themes in mapping.items()})


def categories_themes(
    categories: Iterable[str], mapping: Mapping[str, Sequence[str]]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(themes, unmapped categories): the themes the categories map to, in order, without repeats."""
    themes: list[str] = []
    unmapped: list[str] = []
    for category in categories:
        mapped = mapping.get(category)
        if not mapped:
            unmapped.append(category)
            continue
        themes.extend(theme for theme in mapped if theme not in themes)
    return tuple(themes), tuple(unmapped)


def domain_pick(themes: Sequence[str], domain_of: Mapping[str, str]) -> tuple[str | None, tuple[str, ...]]:
    """(domain, its themes): the domain most of `themes` belong to, ties going to the one listed first; the themes
    of other domains are dropped (an offer has one domain). Themes `domain_of` does not know are ignored."""
    known = [theme for theme in themes if theme in domain_of]
    if not known:
        return None, ()
    domains = [domain_of[theme] for theme in known]
    domain = max(dict.fromkeys(domains), key=lambda code: (domains.count(code), -domains.index(code)))
    return domain, tuple(theme for theme in known if domain_of[theme] == domain)


def skip(position: int, external_id: str | None, code: str, message: str) -> RecordSkip:
    return RecordSkip(position=position, external_id=external_id, code=code, message=message)


def no_identifier(position: int) -> RecordSkip:
    return skip(position, None, "no_identifier", gettext("The record has no identifier: it cannot be kept in sync."))


def not_an_object(position: int) -> RecordSkip:
    return skip(position, None, "not_an_object", gettext("The record is not a JSON object."))


def no_title(position: int, external_id: str) -> RecordSkip:
    return skip(position, external_id, "no_title", gettext("The record has no title."))


def identifier_too_long(position: int, external_id: str) -> RecordSkip:
    return skip(
        position,
        external_id[:EXTERNAL_ID_MAX],
        "identifier_too_long",
        gettext("The record's identifier is longer than %(limit)s characters.") % {"limit": EXTERNAL_ID_MAX},
    )


def outside_france(position: int, external_id: str, where: str) -> RecordSkip:
    return skip(
        position,
        external_id,
        "outside_france",
        gettext("The record is outside France (%(where)s).") % {"where": where},
    )


def no_place(position: int, external_id: str) -> RecordSkip:
    return skip(
        position,
        external_id,
        "no_place",
        gettext("The record says neither where it is (commune, postal code, coordinates) nor which area it serves."),
    )


def event_over(position: int, external_id: str, last_day: date) -> RecordSkip:
    return skip(
        position,
        external_id,
        "event_over",
        gettext("The event is over (its last date was %(day)s).") % {"day": last_day.isoformat()},
    )


def external_id_of(value: Any) -> str:
    value = first(value)
    if isinstance(value, (bool, dict, list)):
        return ""
    return text(value) if value is not None else ""
