"""Streamed file exports of the list endpoints: CSV (spreadsheet-safe) or a JSON list, one helper for every app."""

from collections.abc import Iterable

from django.http import StreamingHttpResponse

from api.exceptions import ErrorItem, InvalidInput
from api.tabular import csv_lines, json_lines

EXPORT_FORMATS = ("csv", "json")


def export_format(params) -> str:
    """The `format` query parameter: csv (the default) or json; anything else is a 400 naming it."""
    file_format = params.get("format") or "csv"
    if file_format not in EXPORT_FORMATS:
        raise InvalidInput([ErrorItem(field="format", message="format must be csv or json.")])
    return file_format


def _cells(record: dict, columns: list[str]) -> list:
    return ["|".join(value) if isinstance(value, list) else value for value in (record[name] for name in columns)]


def export_response(
    *, file_format: str, records: Iterable[dict], columns: list[str], filename: str
) -> StreamingHttpResponse:
    """`records` streamed as a JSON list, or as CSV `columns` with lists joined by `|`; downloaded as `filename`."""
    if file_format == "json":
        response = StreamingHttpResponse(json_lines(records), content_type="application/json")
    else:
        rows = (_cells(record, columns) for record in records)
        response = StreamingHttpResponse(csv_lines(columns, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.{file_format}"'
    return response
