"""Reading uploaded CSV/JSON/XLSX files and writing CSV exports, shared by every import and export of the API.

Uploads come from French spreadsheets as often as from scripts: UTF-8 with or without BOM or Windows-1252,
comma or semicolon separators, French or English headers. `read_upload` reads files of known columns into rows keyed
by canonical names; `read_table` reads a survey tool's wide export (CSV or an XLSX workbook, whatever its headers)
into its headers and raw rows. Everything here reports problems with the line (CSV), sheet row (XLSX) or record
number (JSON) and column, so the caller can refuse the whole file with every problem listed.
"""

import csv
import io
import json
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.translation import gettext, ngettext
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from api.exceptions import ErrorItem, InvalidInput, PayloadTooLarge, grouped_number
from api.jsonlimits import NUL, JSONLimitError, json_decode
from api.parsers import json_decode_reason, json_limit_errors
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
            message = gettext("The file starts with a UTF-8 byte-order mark but is not UTF-8: %(reason)s.") % {
                "reason": exc
            }
            raise InvalidInput([ErrorItem(code="invalid_encoding", message=message)]) from exc
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" export (UTF-16, tab-separated)
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                [ErrorItem(code="invalid_encoding", message=gettext("Invalid UTF-16: %(reason)s.") % {"reason": exc})]
            ) from exc
    if _looks_binary(content):
        raise InvalidInput(
            [
                ErrorItem(
                    code="binary_file",
                    message=gettext(
                        "The file is not text (a spreadsheet workbook or another binary file?): export it as "
                        "CSV (UTF-8 or Windows-1252, comma or semicolon) or JSON."
                    ),
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
        raise PayloadTooLarge(file_too_large_message(len(content), max_bytes))
    # Any number of byte-order marks (a file saved twice with one) is not content.
    text = _decode(content).lstrip(_BOM)
    if not text.strip():
        raise InvalidInput([ErrorItem(code="empty", message=gettext("The file is empty."))])
    is_json = _is_json(text, filename, content_type)
    rows = _read_json(text, columns, list_key) if is_json else _read_csv(text, columns)
    if len(rows) > max_rows:
        raise PayloadTooLarge(
            gettext("The file has %(records)s records; the limit is %(limit)s per upload.")
            % {"records": grouped_number(len(rows)), "limit": grouped_number(max_rows)}
        )
    if not rows:
        raise InvalidInput([ErrorItem(code="empty", message=gettext("The file has a header but no record."))])
    return rows


def _csv_reader(text: str):
    first_line = text.splitlines()[0]
    delimiter = max(CSV_DELIMITERS, key=first_line.count)
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def _read_csv(text: str, columns: list[Column]) -> list[Row]:
    reader = _csv_reader(text)
    try:
        headers = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise InvalidInput(
            [
                ErrorItem(
                    line=1, code="invalid_csv", message=gettext("Unreadable header: %(reason)s.") % {"reason": exc}
                )
            ]
        ) from exc

    index = _column_index(columns)
    errors: list[ErrorItem] = []
    canonical: list[str | None] = []
    for header in headers:
        name = index.get(header_key(header))
        if NUL in header:
            errors.append(_nul_error(line=1, field=header.replace(NUL, "\\u0000")))
        elif name is None and header.strip():
            errors.append(
                ErrorItem(
                    line=1,
                    field=header,
                    code="unknown_column",
                    message=gettext("Unknown column %(column)s.") % {"column": repr(header)},
                )
            )
        if name is not None and name in canonical:
            errors.append(
                ErrorItem(line=1, field=header, code="duplicate_column", message=gettext("Column given twice."))
            )
        canonical.append(name)
    _check_required(columns, set(filter(None, canonical)), errors, line=1)
    if errors:
        raise InvalidInput(errors, message=gettext("The file's header is invalid; nothing was written."))

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
                        message=gettext("%(fields)s fields for %(columns)s columns (check the separator and quotes).")
                        % {"fields": len(record), "columns": len(headers)},
                    )
                )
                continue
            values = {name: cell.strip() for name, cell in zip(canonical, record, strict=False) if name is not None}
            errors.extend(_nul_error(line=line, field=name) for name, cell in values.items() if NUL in cell)
            rows.append(Row(line=line, values=values))
    except csv.Error as exc:
        errors.append(
            ErrorItem(
                line=reader.line_num,
                code="invalid_csv",
                message=gettext("Unreadable CSV: %(reason)s.") % {"reason": exc},
            )
        )
    if errors:
        raise InvalidInput(errors, message=_malformed_lines(len(errors)))
    return rows


@dataclass(frozen=True)
class Table:
    """A wide file as it came: its headers (whitespace collapsed) and its data rows, each (line, cells by position).

    CSV cells are stripped text; XLSX cells keep their type (numbers stay numbers, dates are dates, text is
    stripped). Every row has one cell per header (short rows padded with None); blank rows are skipped.
    """

    headers: list[str]
    rows: list[tuple[int, list]]
    sheet: str | None = None


def header_text(value) -> str:
    """A header as compared and shown: line breaks and runs of spaces of long question texts become one space."""
    return " ".join(str(value).split()) if value is not None else ""


def cell_text(value) -> str:
    """A cell of `read_table` as text: a workbook's whole numbers without their `.0` (an INSEE code or a respondent
    id typed as a number), dates in ISO format."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).strip()


def column_letter(position: int) -> str:
    """1 -> 'A', 27 -> 'AA': how a spreadsheet names the column at `position`."""
    letters = ""
    while position:
        position, remainder = divmod(position - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def column_label(position: int, header: str | None = None) -> str:
    """'column 7 (G)', or 'column 7 (G) « Vous êtes : »' when the header is worth naming."""
    label = gettext("column %(position)s (%(letter)s)") % {"position": position, "letter": column_letter(position)}
    if header:
        shown = header if len(header) <= 60 else header[:57] + "..."
        label += f" « {shown} »"
    return label


def read_table(
    *,
    content: bytes,
    filename: str | None = None,
    sheet: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_columns: int = 500,
    max_cells: int = 3_000_000,
) -> Table:
    """Read a wide file (one row per respondent): a CSV (any encoding and separator `read_upload` reads) or an XLSX
    workbook (its first sheet, or `sheet` by name), the first row holding the headers.

    Raises PayloadTooLarge past `max_bytes`, `max_rows` data rows, `max_columns` columns or `max_cells` cells, and
    InvalidInput listing every structural problem: a blank header (an empty or merged cell) among named ones, two
    columns with the same header (both positions named), a row with more cells than headers, an empty file.
    """
    if len(content) > max_bytes:
        raise PayloadTooLarge(file_too_large_message(len(content), max_bytes))
    caps = {"max_rows": max_rows, "max_columns": max_columns, "max_cells": max_cells}
    if content.startswith(b"PK\x03\x04") or (filename or "").lower().endswith((".xlsx", ".xlsm")):
        return _read_xlsx(content, sheet=sheet, max_bytes=max_bytes, **caps)
    if content.startswith(b"\xd0\xcf\x11\xe0"):
        message = gettext("An Excel 97-2003 workbook (.xls) cannot be read: save it as .xlsx or export it as CSV.")
        raise InvalidInput([ErrorItem(code="unsupported_format", message=message)])
    if sheet:
        message = gettext("A sheet is named, but the file is CSV (sheets are for XLSX workbooks).")
        raise InvalidInput([ErrorItem(field="sheet", code="invalid", message=message)])
    text = _decode(content).lstrip(_BOM)
    if not text.strip():
        raise InvalidInput([ErrorItem(code="empty", message=gettext("The file is empty."))])
    reader = _csv_reader(text)
    try:
        return _table_build(
            ((reader.line_num, [cell.strip() for cell in record]) for record in reader),
            sheet=None,
            check_nul=NUL in text,  # looked for cell by cell only when the text holds one
            **caps,
        )
    except csv.Error as exc:
        message = gettext("Unreadable CSV: %(reason)s.") % {"reason": exc}
        raise InvalidInput([ErrorItem(line=reader.line_num, code="invalid_csv", message=message)]) from exc


# An XLSX is a zip: past this ratio of its size once uncompressed, it is refused before it is parsed (a zip bomb).
XLSX_MAX_EXPANSION = 40


def _read_xlsx(content: bytes, *, sheet: str | None, max_bytes: int, **caps) -> Table:
    unreadable = gettext(
        "The file is not a readable XLSX workbook (%(reason)s): save it again as .xlsx, or export it as CSV."
    )
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise InvalidInput([ErrorItem(code="invalid_xlsx", message=unreadable % {"reason": exc})]) from exc
    if expanded > max_bytes * XLSX_MAX_EXPANSION:
        raise PayloadTooLarge(
            gettext("The workbook expands to %(size)s bytes; the limit is %(limit)s bytes.")
            % {"size": grouped_number(expanded), "limit": grouped_number(max_bytes * XLSX_MAX_EXPANSION)}
        )
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InvalidInput([ErrorItem(code="invalid_xlsx", message=unreadable % {"reason": exc})]) from exc
    try:
        if sheet:
            if sheet not in workbook.sheetnames:
                names = ", ".join(repr(name) for name in workbook.sheetnames)
                message = gettext("The workbook has no sheet %(sheet)s (its sheets: %(names)s).") % {
                    "sheet": repr(sheet),
                    "names": names,
                }
                raise InvalidInput([ErrorItem(field="sheet", code="unknown_sheet", message=message)])
            worksheet = workbook[sheet]
        else:
            worksheet = workbook.worksheets[0]
        # A workbook's declared dimensions may be wrong (some exporters write A1): read the rows as they are.
        worksheet.reset_dimensions()
        records = (
            (line, [value.strip() if isinstance(value, str) else value for value in record])
            for line, record in enumerate(worksheet.iter_rows(values_only=True), start=1)
        )
        # XML cannot hold a NUL character: a workbook's cells never do.
        return _table_build(records, sheet=worksheet.title, check_nul=False, **caps)
    finally:
        workbook.close()


def _blank_cell(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _table_build(
    records, *, sheet: str | None, max_rows: int, max_columns: int, max_cells: int, check_nul: bool = True
) -> Table:
    first = next(records, None)
    if first is None:
        raise InvalidInput([ErrorItem(code="empty", message=gettext("The file is empty."))])
    header_line, raw_headers = first
    headers = [header_text(value) for value in raw_headers]
    while headers and not headers[-1]:
        headers.pop()
    if not headers:
        raise InvalidInput(
            [ErrorItem(line=header_line, code="empty", message=gettext("The first row holds no header."))]
        )
    if len(headers) > max_columns:
        raise PayloadTooLarge(
            gettext("The file has %(columns)s columns; the limit is %(limit)s.")
            % {"columns": grouped_number(len(headers)), "limit": grouped_number(max_columns)}
        )
    errors: list[ErrorItem] = []
    positions: dict[str, int] = {}
    for position, header in enumerate(headers, start=1):
        if not header:
            message = gettext("The header of %(column)s is blank (an empty or merged cell): name the column.") % {
                "column": column_label(position)
            }
            errors.append(ErrorItem(line=header_line, code="blank_header", message=message))
        elif NUL in header:
            errors.append(_nul_error(line=header_line, field=header.replace(NUL, "\\u0000")))
        elif header in positions:
            message = gettext(
                "%(first)s and %(second)s have the same header: rename one (every column must be told apart)."
            ) % {"first": column_label(positions[header], header), "second": column_label(position, header)}
            errors.append(ErrorItem(line=header_line, field=header, code="duplicate_column", message=message))
        else:
            positions[header] = position
    if errors:
        raise InvalidInput(errors, message=gettext("The file's header is invalid; nothing was written."))

    width = len(headers)
    rows: list[tuple[int, list]] = []
    for line, record in records:
        if not any(not _blank_cell(cell) for cell in record):
            continue
        if len(rows) >= max_rows:
            raise PayloadTooLarge(
                gettext("The file has more than %(limit)s rows; the limit is %(limit)s per upload.")
                % {"limit": grouped_number(max_rows)}
            )
        if (len(rows) + 1) * width > max_cells:
            raise PayloadTooLarge(
                gettext(
                    "The file has more than %(limit)s cells (%(columns)s columns x %(rows)s rows so far); "
                    "the limit is %(limit)s per upload."
                )
                % {"limit": grouped_number(max_cells), "columns": width, "rows": grouped_number(len(rows) + 1)}
            )
        cells = list(record[:width])
        extra = record[width:]
        if any(not _blank_cell(cell) for cell in extra):
            message = gettext("%(cells)s cells for %(columns)s columns (check the separator and quotes).") % {
                "cells": len(record),
                "columns": width,
            }
            errors.append(ErrorItem(line=line, code="too_many_fields", message=message))
            continue
        if len(cells) < width:
            cells.extend([None] * (width - len(cells)))
        if check_nul:
            for position, cell in enumerate(cells):
                if isinstance(cell, str) and NUL in cell:
                    errors.append(_nul_error(line=line, field=headers[position]))
        rows.append((line, cells))
    if errors:
        raise InvalidInput(errors, message=_malformed_lines(len(errors)))
    if not rows:
        raise InvalidInput([ErrorItem(code="empty", message=gettext("The file has a header but no row."))])
    return Table(headers=headers, rows=rows, sheet=sheet)


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
            [
                ErrorItem(
                    line=exc.lineno,
                    code="invalid_json",
                    message=gettext("Invalid JSON: %(reason)s.") % {"reason": json_decode_reason(exc)},
                )
            ]
        ) from exc
    except JSONLimitError as exc:
        raise InvalidInput(**_record_errors(exc, list_key)) from exc
    if isinstance(data, dict) and list_key and isinstance(data.get(list_key), list):
        data = data[list_key]
    if not isinstance(data, list):
        if list_key:
            message = gettext("Expected a list of objects (or an object with a %(key)s list).") % {
                "key": repr(list_key)
            }
        else:
            message = gettext("Expected a list of objects.")
        raise InvalidInput([ErrorItem(code="invalid_json", message=message)])
    index = _column_index(columns)
    errors: list[ErrorItem] = []
    rows: list[Row] = []
    for number, record in enumerate(data, start=1):
        if not isinstance(record, dict):
            errors.append(ErrorItem(line=number, code="invalid_json", message=gettext("Record is not an object.")))
            continue
        values = {}
        for key, value in record.items():
            name = index.get(header_key(str(key)))
            if name is None:
                errors.append(
                    ErrorItem(line=number, field=str(key), code="unknown_column", message=gettext("Unknown field."))
                )
            else:
                values[name] = value
        _check_required(columns, set(values), errors, line=number)
        rows.append(Row(line=number, values=values))
    if errors:
        raise InvalidInput(
            errors,
            message=ngettext(
                "%(count)s problem in the records; nothing was written.",
                "%(count)s problems in the records; nothing was written.",
                len(errors),
            )
            % {"count": len(errors)},
        )
    return rows


def _nul_error(*, line: int, field: str | None, column: int | None = None) -> ErrorItem:
    if column:
        message = gettext("Text cannot contain the NUL character (U+0000) (column %(column)s).") % {"column": column}
    else:
        message = gettext("Text cannot contain the NUL character (U+0000).")
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
                ErrorItem(
                    line=line,
                    field=column.name,
                    code="required",
                    message=gettext("Missing column %(column)s.") % {"column": repr(column.name)},
                )
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


def file_too_large_message(size: int, limit: int) -> str:
    return gettext("The file is %(size)s bytes; the limit is %(limit)s bytes.") % {
        "size": grouped_number(size),
        "limit": grouped_number(limit),
    }


def _malformed_lines(count: int) -> str:
    return ngettext(
        "%(count)s line is malformed; nothing was written.",
        "%(count)s lines are malformed; nothing was written.",
        count,
    ) % {"count": count}
