"""A tiny real source format for the sync tests (registered through SOURCE_SYNC_EXTRA_FORMATS, in the test process
and in the workers the tests start): one JSON object per line with the fields of a SourceRecord; a line
`{"skip": code}` is a record the format itself rejects; a line that is not a JSON object makes the file unusable."""

import json
from datetime import date
from decimal import Decimal

from offers.source_formats import FormatError, RecordSkip, SourceRecord

_TUPLES = ("categories", "themes", "audiences", "service_area")


class JSONLinesFormat:
    code = "test_jsonl"
    label = "JSON lines (tests)"
    default_theme_mapping = {
        "job": ("salaried-job",),
        "training": ("training",),
        "concert": ("cultural-event",),
        "creche": ("childcare",),
    }

    def read(self, content: bytes, *, today: date):
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FormatError(f"not UTF-8 text ({exc.reason})") from None
        for position, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise FormatError(f"line {position} is not JSON ({exc.msg})", position=position) from None
            if not isinstance(item, dict):
                raise FormatError(f"line {position} is not a JSON object", position=position)
            if "skip" in item:
                yield RecordSkip(position, item.get("external_id"), item["skip"], f"skipped by the format: {item}")
                continue
            until = item.get("available_until")
            if until and date.fromisoformat(until) < today:
                yield RecordSkip(position, item.get("external_id"), "event_over", "the event is over")
                continue
            values = {key: value for key, value in item.items() if key in SourceRecord.__dataclass_fields__}
            for key in _TUPLES:
                if key in values:
                    values[key] = tuple(values[key])
            for key in ("available_from", "available_until"):
                if values.get(key):
                    values[key] = date.fromisoformat(values[key])
            if values.get("price_amount") is not None:
                values["price_amount"] = Decimal(str(values["price_amount"]))
            values.setdefault("categories", ())
            values.setdefault("description", "")
            yield SourceRecord(**values)


JSON_LINES = JSONLinesFormat()
JSON_LINES_PATH = "tests.offers.sources_jsonl.JSON_LINES"


def job(number: int, **overrides) -> dict:
    """A job-offer record placed in Guéret (23096)."""
    return {
        "external_id": f"job-{number}",
        "title": f"Offre d'emploi {number}",
        "description": f"Poste numéro {number} à pourvoir.",
        "categories": ["job"],
        "commune_code": "23096",
        "is_free": True,
        "extra": {"source_url": f"https://example.org/offres/{number}"},
        **overrides,
    }


def jsonl(records: list[dict]) -> bytes:
    return "\n".join(json.dumps(record, ensure_ascii=False) for record in records).encode() + b"\n"
