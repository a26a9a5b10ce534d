"""The source-format contract (CONTRACTS.md §5) the sync reads through: taken from `offers.source_formats` when that
package is present, else these same definitions with an empty registry, so syncs work (with formats registered by
tests) before the format readers land. Once `offers.source_formats` exists this module only re-exports it."""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

try:
    from offers.source_formats import SOURCE_FORMATS, FormatError, RecordSkip, SourceFormat, SourceRecord
except ImportError:

    @dataclass(frozen=True)
    class SourceRecord:
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
        position: int
        external_id: str | None
        code: str
        message: str

    class FormatError(Exception):
        def __init__(self, message: str, position: int | None = None):
            super().__init__(message)
            self.message = message
            self.position = position

    class SourceFormat(Protocol):
        code: str
        label: str
        default_theme_mapping: Mapping[str, tuple[str, ...]]

        def read(self, content: bytes, *, today: date) -> Iterator[SourceRecord | RecordSkip]: ...

    SOURCE_FORMATS: dict[str, SourceFormat] = {}

__all__ = ["SOURCE_FORMATS", "FormatError", "RecordSkip", "SourceFormat", "SourceRecord"]
