"""Streamed file exports of the list endpoints: CSV (spreadsheet-safe), a JSON list or an XLSX workbook (typed
cells, `api.spreadsheets`), one helper for every app.

An export answers an error as JSON with its status (400...) whenever the failure can still change the status: the
first record is read before the answer starts, so the filtered query has run. A failure after that cannot change
the 200 any more: it is logged and the stream is cut (no closing chunk of the chunked body, and a JSON export lacks
its closing `]`), so the client sees an incomplete download instead of a short file that looks whole."""

import itertools
import logging
from collections.abc import Iterable, Iterator, Sequence

from django.http import StreamingHttpResponse
from django.utils.translation import gettext

from api.exceptions import ErrorItem, InvalidInput
from api.spreadsheets import SpreadsheetColumn, SpreadsheetTable, xlsx_response
from api.tabular import csv_lines, json_lines

logger = logging.getLogger("api")

EXPORT_FORMATS = ("csv", "json", "xlsx")


def export_format(params) -> str:
    """The `format` query parameter: csv (the default), json or xlsx; anything else is a 400 naming it."""
    file_format = params.get("format") or "csv"
    if file_format not in EXPORT_FORMATS:
        raise InvalidInput([ErrorItem(field="format", message=gettext("format must be csv, json or xlsx."))])
    return file_format


def _cells(record: dict, columns: list[str]) -> list:
    return ["|".join(value) if isinstance(value, list) else value for value in (record[name] for name in columns)]


_END = object()


def records_started(records: Iterable) -> Iterator:
    """`records` with its first item already read: the query (and any filter that fails only when it runs) runs in
    the view, where an error still becomes its JSON answer."""
    iterator = iter(records)
    first = next(iterator, _END)
    return iter(()) if first is _END else itertools.chain([first], iterator)


def _cut_on_failure(lines: Iterable[str], filename: str) -> Iterator[str]:
    try:
        yield from lines
    except Exception:
        logger.exception("The export %s failed after it started; its stream is cut so the client sees it.", filename)
        raise  # the WSGI server closes the connection without the final chunk


def streamed_file(lines: Iterable[str], *, content_type: str, filename: str, disposition: str = "attachment"):
    """A streamed download of `lines` (built from `records_started` records) named `filename`."""
    response = StreamingHttpResponse(_cut_on_failure(lines, filename), content_type=content_type)
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response


def export_response(
    *,
    file_format: str,
    records: Iterable[dict],
    columns: list[str],
    filename: str,
    sheet: tuple[str, Sequence[SpreadsheetColumn]] | None = None,
):
    """`records` streamed as a JSON list, or as CSV `columns` with lists joined by `|`; downloaded as `filename`.
    XLSX: `sheet` is (sheet title, one SpreadsheetColumn per column, headers as the CSV's) and the cells are typed."""
    if file_format == "xlsx":
        title, sheet_columns = sheet or (filename, [SpreadsheetColumn(name) for name in columns])
        rows = (_cells(record, columns) for record in records)
        return xlsx_response(tables=[SpreadsheetTable(title, sheet_columns, rows)], filename=filename)
    records = records_started(records)
    if file_format == "json":
        return streamed_file(json_lines(records), content_type="application/json", filename=f"{filename}.json")
    rows = (_cells(record, columns) for record in records)
    return streamed_file(csv_lines(columns, rows), content_type="text/csv; charset=utf-8", filename=f"{filename}.csv")
