"""Reading uploaded CSV/JSON files and writing CSV exports, shared by every import and export of the API.

Uploads come from French spreadsheets as often as from scripts: UTF-8 with or without BOM or Windows-1252,
comma or semicolon separators, French or English headers. Everything here reports problems with the line (CSV)
or record number (JSON) and column, so the caller can refuse the whole file with every problem listed.
"""

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

from api.exceptions import ErrorItem, InvalidInput, PayloadTooLarge
from api.jsonlimits import NUL, JSONLimitError, json_decode
from api.parsers import json_limit_errors
from api.text import fold_text

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_ROWS = 10_000
CSV_DELIMITERS = ",;\t"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    """A column of an import: its canonical (English) name, accepted header aliases, and whether it is required."""

    name: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    help: str = ""


@dataclass(frozen=True)
class Row:
    """One record of an upload: canonical column name -> raw text (or JSON value), and where it came from."""

    line: int
    values: dict


def header_key(header: str) -> str:
    """'Date de début' -> 'date_de_debut': how headers are compared, so accents, case and spaces never matter."""
    return fold_text(header).replace(" ", "_")


# Zip (xlsx, ods) and OLE2 (xls) containers: spreadsheets uploaded as they are instead of exported.
BINARY_SIGNATURES = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")
# Control bytes that text never holds (tab, line feed and carriage return excepted): past 5% of the first 4 kB (and
# past a few dozen, so that a short file with stray NULs is not called binary), the file is binary; fewer are text
# errors, named with their line and column.
_CONTROL_BYTES = bytes([*range(0, 9), 11, 12, *range(14, 32), 127])
_STRAY_CONTROL_BYTES = 32
_BOM = "\ufeff"


def _looks_binary(content: bytes) -> bool:
    head = content[:4096]
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return head.startswith(BINARY_SIGNATURES) or controls > max(len(head) / 20, _STRAY_CONTROL_BYTES)


def _decode(content: bytes) -> str:
    if content.startswith(b"\xef\xbb\xbf"):
        try:
            return content[3:].decode("utf-8")
        except UnicodeDecodeError as exc:  # the mark says UTF-8: do not guess another encoding
            message = f"The file starts with a UTF-8 byte-order mark but is not UTF-8: {exc}."
            raise InvalidInput([ErrorItem(code="invalid_encoding", message=message)]) from exc
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" export (UTF-16, tab-separated)
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InvalidInput([ErrorItem(code="invalid_encoding", message=f"Invalid UTF-16: {exc}.")]) from exc
    if _looks_binary(content):
        raise InvalidInput(
            [
                ErrorItem(
                    code="binary_file",
                    message="The file is not text (a spreadsheet workbook or another binary file?): export it as "
                    "CSV (UTF-8 or Windows-1252, comma or semicolon) or JSON.",
                )
            ]
        )
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        # French spreadsheets export Windows-1252 (a superset of Latin-1 with the euro sign and typographic quotes).
        return content.decode("cp1252", errors="replace")


def _is_json(text: str, filename: str | None, content_type: str | None) -> bool:
    if filename and filename.lower().endswith(".json"):
        return True
    if content_type and "json" in content_type.lower():
        return True
    return text.lstrip()[:1] in ("[", "{")


def _column_index(columns: Iterable[Column]) -> dict[str, str]:
    index = {}
    for column in columns:
        for alias in (column.name, *column.aliases):
            index[header_key(alias)] = column.name
    return index


def read_upload(
    *,
    content: bytes,
    columns: list[Column],
    filename: str | None = None,
    content_type: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_rows: int = DEFAULT_MAX_ROWS,
    list_key: str | None = None,
) -> list[Row]:
    """Parse a CSV or JSON upload into rows keyed by canonical column names.

    Raises PayloadTooLarge (413) past `max_bytes` or `max_rows`, and InvalidInput (400) listing every structural
    problem (empty file, unknown or missing columns, ragged lines, invalid JSON). Value-level checks are the
    caller's, with the row's `line`.
    """
    if len(content) > max_bytes:
        raise PayloadTooLarge(f"The file is {len(content):,} bytes; the limit is {max_bytes:,} bytes.")
    # Any number of byte-order marks (a file saved twice with one) is not content.
    text = _decode(content).lstrip(_BOM)
    if not text.strip():
        raise InvalidInput([ErrorItem(code="empty", message="The file is empty.")])
    is_json = _is_json(text, filename, content_type)
    rows = _read_json(text, columns, list_key) if is_json else _read_csv(text, columns)
    if len(rows) > max_rows:
        raise PayloadTooLarge(f"The file has {len(rows):,} records; the limit is {max_rows:,} per upload.")
    if not rows:
        raise InvalidInput([ErrorItem(code="empty", message="The file has a header but no record.")])
    return rows


def _read_csv(text: str, columns: list[Column]) -> list[Row]:
    first_line = text.splitlines()[0]
    delimiter = max(CSV_DELIMITERS, key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        headers = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise InvalidInput([ErrorItem(line=1, code="invalid_csv", message=f"Unreadable header: {exc}.")]) from exc

    index = _column_index(columns)
    errors: list[ErrorItem] = []
    canonical: list[str | None] = []
    for header in headers:
        name = index.get(header_key(header))
        if NUL in header:
            errors.append(_nul_error(line=1, field=header.replace(NUL, "\\u0000")))
        elif name is None and header.strip():
            errors.append(
                ErrorItem(line=1, field=header, code="unknown_column", message=f"Unknown column {header!r}.")
            )
        if name is not None and name in canonical:
            errors.append(ErrorItem(line=1, field=header, code="duplicate_column", message="Column given twice."))
        canonical.append(name)
    _check_required(columns, set(filter(None, canonical)), errors, line=1)
    if errors:
        raise InvalidInput(errors, message="The file's header is invalid; nothing was written.")

    rows: list[Row] = []
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(record) > len(headers):
                errors.append(
                    ErrorItem(
                        line=line,
                        code="too_many_fields",
                        message=f"{len(record)} fields for {len(headers)} columns (check the separator and quotes).",
                    )
                )
                continue
            values = {name: cell.strip() for name, cell in zip(canonical, record, strict=False) if name is not None}
            errors.extend(_nul_error(line=line, field=name) for name, cell in values.items() if NUL in cell)
            rows.append(Row(line=line, values=values))
    except csv.Error as exc:
        errors.append(ErrorItem(line=reader.line_num, code="invalid_csv", message=f"Unreadable CSV: {exc}."))
    if errors:
        raise InvalidInput(errors, message=f"{len(errors)} line(s) are malformed; nothing was written.")
    return rows


def _read_json(text: str, columns: list[Column], list_key: str | None) -> list[Row]:
    if NUL in text:  # raw, which the decoder would call an invalid control character
        raise InvalidInput(
            [
                _nul_error(line=number, field=None, column=line.index(NUL) + 1)
                for number, line in enumerate(text.split("\n"), start=1)
                if NUL in line
            ]
        )
    try:
        data = json_decode(text, max_depth=settings.JSON_MAX_DEPTH, max_digits=settings.JSON_MAX_NUMBER_DIGITS)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            [ErrorItem(line=exc.lineno, code="invalid_json", message=f"Invalid JSON: {exc.msg}.")]
        ) from exc
    except JSONLimitError as exc:
        raise InvalidInput(**_record_errors(exc, list_key)) from exc
    if isinstance(data, dict) and list_key and isinstance(data.get(list_key), list):
        data = data[list_key]
    if not isinstance(data, list):
        expected = f"a list of objects (or an object with a {list_key!r} list)" if list_key else "a list of objects"
        raise InvalidInput([ErrorItem(code="invalid_json", message=f"Expected {expected}.")])
    index = _column_index(columns)
    errors: list[ErrorItem] = []
    rows: list[Row] = []
    for number, record in enumerate(data, start=1):
        if not isinstance(record, dict):
            errors.append(ErrorItem(line=number, code="invalid_json", message="Record is not an object."))
            continue
        values = {}
        for key, value in record.items():
            name = index.get(header_key(str(key)))
            if name is None:
                errors.append(ErrorItem(line=number, field=str(key), code="unknown_column", message="Unknown field."))
            else:
                values[name] = value
        _check_required(columns, set(values), errors, line=number)
        rows.append(Row(line=number, values=values))
    if errors:
        raise InvalidInput(errors, message=f"{len(errors)} problem(s) in the records; nothing was written.")
    return rows


def _nul_error(*, line: int, field: str | None, column: int | None = None) -> ErrorItem:
    where = f" (column {column})" if column else ""
    message = f"Text cannot contain the NUL character (U+0000){where}."
    return ErrorItem(line=line, field=field, code="null_character", message=message)


def _record_errors(exc: JSONLimitError, list_key: str | None) -> dict:
    """The errors of a JSON upload beyond a limit, by record number and field (`3.capacity` is record 4's)."""
    arguments = json_limit_errors(exc)
    errors = []
    for error in arguments["errors"]:
        parts = error.field.split(".") if error.field and error.field != "(body)" else []
        if parts and parts[0] == list_key:
            parts = parts[1:]
        if parts and parts[0].isascii() and parts[0].isdigit():  # "²" is a digit int() cannot read
            error = ErrorItem(
                line=int(parts[0]) + 1, field=".".join(parts[1:]) or None, code=error.code, message=error.message
            )
        errors.append(error)
    return {**arguments, "errors": errors}


def _check_required(columns: list[Column], present: set[str], errors: list[ErrorItem], *, line: int) -> None:
    for column in columns:
        if column.required and column.name not in present:
            errors.append(
                ErrorItem(line=line, field=column.name, code="required", message=f"Missing column {column.name!r}.")
            )


def csv_safe(value) -> str:
    """A cell a spreadsheet will show as text, never run as a formula (OWASP CSV injection)."""
    text = "" if value is None else str(value)
    # A number is data, not a formula: prefixing a negative one (a gap delta, a longitude west of Greenwich) would
    # turn it into text in the spreadsheet and break the re-import.
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return text
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(header: list[str], rows: Iterable[Iterable], *, delimiter: str = ",") -> Iterator[str]:
    """Yield an escaped CSV document line by line (UTF-8 BOM first so that spreadsheets read accents right)."""
    writer = csv.writer(_Echo(), delimiter=delimiter)
    yield "\ufeff" + writer.writerow(header)
    for row in rows:
        yield writer.writerow([csv_safe(value) for value in row])


def json_lines(records: Iterable[dict]) -> Iterator[str]:
    """Yield a JSON array one record per line, so a large export streams instead of building in memory."""
    yield "["
    for index, record in enumerate(records):
        yield ("," if index else "") + "\n" + json.dumps(record, cls=DjangoJSONEncoder, ensure_ascii=False)
    yield "\n]\n"
