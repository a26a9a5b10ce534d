"""XLSX answers (`format=xlsx`) of every endpoint that offers CSV: one writer for typed, French-readable workbooks.

A workbook is a list of `SpreadsheetTable`s (one sheet each) plus a last sheet describing every column (sheet,
header, meaning, unit). Cells are typed, never numbers as text: integers and decimals are numeric cells with a
number format, shares are percentages, dates and date-times are date cells (time-zone-aware values converted to the
project's time zone and written naive, as Excel has no time zones). Number formats are stored in the file's
invariant notation (`#,##0.00`) and Excel or LibreOffice show them with the reader's locale: "1 234,50" in French.

Memory stays bounded for large exports: openpyxl's write-only mode streams each sheet's rows to a temporary file and
the finished workbook is spooled to disk past a few megabytes, then streamed to the client. The workbook is built
whole before the answer starts, so a failure is still a JSON error with its status.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import decimal
import math
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

TEXT = "text"
INTEGER = "integer"
DECIMAL = "decimal"
PERCENT = "percent"
DATE = "date"
DATETIME = "datetime"
BOOLEAN = "boolean"
KINDS = (TEXT, INTEGER, DECIMAL, PERCENT, DATE, DATETIME, BOOLEAN)

DATE_FORMAT = "DD/MM/YYYY"
DATETIME_FORMAT = "DD/MM/YYYY HH:MM:SS"
MAX_WIDTH = 60
MIN_WIDTH = 8
# A workbook smaller than this stays in memory; a larger one goes to a temporary file.
SPOOL_BYTES = 8 * 1024 * 1024
# Sheet names: at most 31 characters, none of these.
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDE4EE")
_WRAP = Alignment(wrap_text=True, vertical="top")


@dataclasses.dataclass(frozen=True)
class SpreadsheetColumn:
    """One column: its header (the CSV's), what it means and its unit (the description sheet), how cells are typed.

    `kind` is one of KINDS; `decimals` the digits shown for DECIMAL and PERCENT; `width` in characters (default:
    from the header and the kind)."""

    header: str
    description: str = ""
    unit: str = ""
    kind: str = TEXT
    decimals: int = 2
    width: int | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")

    @property
    def number_format(self) -> str | None:
        fraction = f".{'0' * self.decimals}" if self.decimals else ""
        return {
            INTEGER: "#,##0",
            DECIMAL: f"#,##0{fraction}",
            PERCENT: f"0{fraction}%",
            DATE: DATE_FORMAT,
            DATETIME: DATETIME_FORMAT,
        }.get(self.kind)

    @property
    def column_width(self) -> int:
        if self.width is not None:
            return self.width
        natural = {TEXT: 24, INTEGER: 10, DECIMAL: 12, PERCENT: 10, DATE: 12, DATETIME: 20, BOOLEAN: 8}[self.kind]
        return max(MIN_WIDTH, min(MAX_WIDTH, max(natural, len(str(self.header)) + 2)))


@dataclasses.dataclass(frozen=True)
class SpreadsheetTable:
    """One sheet: a `title` (shortened to Excel's 31 characters), its columns, and rows of cells in column order
    (an iterable read once, so a generator keeps a large export out of memory)."""

    title: str
    columns: Sequence[SpreadsheetColumn]
    rows: Iterable[Sequence[Any]]


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        value = "|".join(str(item) for item in value)  # as in the CSV files
    return ILLEGAL_CHARACTERS_RE.sub("", str(value))


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float, decimal.Decimal)):
        number = value
    else:
        text = str(value).strip().replace("\u202f", "").replace("\xa0", "").replace(" ", "")
        if not text:
            return None
        try:
            number = decimal.Decimal(text.replace(",", "."))
        except decimal.InvalidOperation:
            return None
    if isinstance(number, decimal.Decimal):
        if not number.is_finite():
            return None
        integral = number.as_tuple().exponent >= 0  # "12" is an integer, "12.50" a decimal
        return int(number) if integral else float(number)
    if isinstance(number, float) and not math.isfinite(number):
        return None
    return number


def _naive_local(value: dt.datetime) -> dt.datetime:
    if timezone.is_aware(value):
        value = timezone.localtime(value, timezone.get_default_timezone())
    return value.replace(tzinfo=None)


def _date_or_time(value: Any, kind: str) -> dt.date | dt.datetime | None:
    if isinstance(value, str):
        if not value:
            return None
        try:
            value = dt.datetime.fromisoformat(value) if kind == DATETIME else dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    if isinstance(value, dt.datetime):
        return _naive_local(value) if kind == DATETIME else _naive_local(value).date()
    if isinstance(value, dt.date):
        return value
    return None


def typed_value(value: Any, kind: str) -> Any:
    """A cell's value as the type its column holds (None when empty or not readable as that type: never text in a
    numeric column). Strings may be ISO dates, or numbers as DRF serialises decimals ("12.50")."""
    if value is None or value == "":
        return None
    if kind in (INTEGER, DECIMAL, PERCENT):
        number = _number(value)
        return round(number) if kind == INTEGER and number is not None else number
    if kind in (DATE, DATETIME):
        return _date_or_time(value, kind)
    if kind == BOOLEAN:
        return value if isinstance(value, bool) else None
    return _text(value)


def sheet_title(title: str, taken: set[str]) -> str:
    """`title` made a valid, unique sheet name (Excel: 31 characters, no []:*?/\\, unique ignoring case)."""
    base = _SHEET_NAME_FORBIDDEN.sub("-", str(title)).strip("'") or "Feuille"
    base = base[:31]
    name, counter = base, 2
    while name.lower() in taken:
        suffix = f" ({counter})"
        name, counter = base[: 31 - len(suffix)] + suffix, counter + 1
    taken.add(name.lower())
    return name


def _header_cell(sheet, value: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=_text(value))
    cell.data_type = "s"  # never a formula, whatever the header says
    cell.font = _HEADER_FONT
    cell.fill = _HEADER_FILL
    return cell


def _row_writer(sheet, columns: Sequence[SpreadsheetColumn]) -> Callable[[Sequence[Any]], list]:
    """A function from one row of raw values to the cells written: typed values; formatted cells where a number
    format applies; text starting with = kept as text (openpyxl would store "=..." as a formula).

    One cell per column is reused from row to row: a write-only sheet serialises each row as it is appended, and
    styling a new cell for every value would cost more than writing it."""
    kinds = [column.kind for column in columns]
    formatted = [column.number_format is not None for column in columns]
    prototypes = [WriteOnlyCell(sheet) for _column in columns]  # one per column: a row holds each once
    for column, cell in zip(columns, prototypes, strict=True):
        if column.number_format is not None:
            cell.number_format = column.number_format

    def cells(row: Sequence[Any]) -> list:
        written: list = []
        for value, kind, has_format, cell in zip(row, kinds, formatted, prototypes, strict=True):
            value = typed_value(value, kind)
            if value is None or not (has_format or (kind == TEXT and value[:1] == "=")):
                written.append(value)  # plain values: openpyxl's own unstyled cell is cheaper
                continue
            cell.value = value
            if kind == TEXT:
                cell.data_type = "s"
            written.append(cell)
        return written

    return cells


def _table_write(workbook: Workbook, table: SpreadsheetTable, title: str) -> None:
    sheet = workbook.create_sheet(title)
    columns = list(table.columns)
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.column_width
    sheet.freeze_panes = "A2"
    sheet.append([_header_cell(sheet, column.header) for column in columns])
    cells = _row_writer(sheet, columns)
    count = 0
    for row in table.rows:
        sheet.append(cells(row))
        count += 1
    # Written at the end of the sheet, so the range can cover rows counted while they streamed.
    sheet.auto_filter.ref = f"A1:{get_column_letter(max(len(columns), 1))}{count + 1}"


DESCRIPTION_COLUMNS = (
    SpreadsheetColumn(gettext_lazy("Sheet"), width=28),
    SpreadsheetColumn(gettext_lazy("Column"), width=36),
    SpreadsheetColumn(gettext_lazy("Meaning"), width=80),
    SpreadsheetColumn(gettext_lazy("Unit"), width=24),
)


def workbook_write(tables: Sequence[SpreadsheetTable], file) -> None:
    """Write `tables` (one sheet each, in order) and the sheet describing their columns into the binary `file`."""
    workbook = Workbook(write_only=True)
    taken: set[str] = set()
    titles = [sheet_title(table.title, taken) for table in tables]
    try:
        for table, title in zip(tables, titles, strict=True):
            _table_write(workbook, table, title)
    except BaseException:
        _abandon(workbook)
        raise
    descriptions = [
        (title, column.header, column.description, column.unit)
        for table, title in zip(tables, titles, strict=True)
        for column in table.columns
    ]
    description_sheet = workbook.create_sheet(sheet_title(gettext("Columns"), taken))
    for index, column in enumerate(DESCRIPTION_COLUMNS, start=1):
        description_sheet.column_dimensions[get_column_letter(index)].width = column.column_width
    description_sheet.freeze_panes = "A2"
    description_sheet.append([_header_cell(description_sheet, column.header) for column in DESCRIPTION_COLUMNS])
    for values in descriptions:
        row = []
        for value in values:
            cell = WriteOnlyCell(description_sheet, value=_text(value))
            cell.data_type = "s"
            cell.alignment = _WRAP
            row.append(cell)
        description_sheet.append(row)
    description_sheet.auto_filter.ref = f"A1:D{len(descriptions) + 1}"
    workbook.save(file)


def _abandon(workbook: Workbook) -> None:
    """Close and delete the temporary files of a workbook that will not be saved (its rows failed): openpyxl only
    deletes them on save, or when the process exits."""
    for sheet in workbook.worksheets:
        writer = getattr(sheet, "_writer", None)
        if writer is None:
            continue
        with contextlib.suppress(Exception):
            if sheet._rows is not None:
                sheet._rows.close()
            writer.close()
            writer.cleanup()


def xlsx_response(*, tables: Sequence[SpreadsheetTable], filename: str) -> FileResponse:
    """`tables` as an XLSX attachment named `filename` (without extension), spooled to disk when large."""
    # FileResponse closes the file once sent, so no context manager here.
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, dir=settings.FILE_UPLOAD_TEMP_DIR)  # noqa: SIM115
    try:
        workbook_write(tables, spool)
    except BaseException:
        spool.close()
        raise
    size = spool.tell()
    spool.seek(0)
    response = FileResponse(spool, as_attachment=True, filename=f"{filename}.xlsx", content_type=XLSX_MEDIA_TYPE)
    response["Content-Length"] = str(size)
    return response
