"""Read an XLSX answer back with openpyxl, as a spreadsheet user would open it: shared by the tests of every
endpoint that offers `format=xlsx`."""

import io

import openpyxl

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook_of(response) -> openpyxl.Workbook:
    """The workbook of a 200 XLSX attachment; checks what every XLSX answer has (media type, attachment, frozen
    header row, autofilter, the column description sheet last)."""
    assert response.status_code == 200, getattr(response, "content", b"")[:500]
    assert response["Content-Type"] == XLSX_MEDIA_TYPE
    assert response["Content-Disposition"].startswith("attachment;") and ".xlsx" in response["Content-Disposition"]
    content = b"".join(response.streaming_content)
    assert int(response["Content-Length"]) == len(content)
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    for sheet in workbook.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
        assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A1:"), sheet.title
    described = {(row[0], row[1]) for row in rows_of(workbook.worksheets[-1])[1:]}
    for sheet in workbook.worksheets[:-1]:
        assert {(sheet.title, header) for header in rows_of(sheet)[0]} <= described, sheet.title
    return workbook


def rows_of(sheet) -> list[tuple]:
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def records_of(sheet) -> list[dict]:
    """The sheet's lines as dicts keyed by header."""
    header, *rows = rows_of(sheet)
    return [dict(zip(header, row, strict=True)) for row in rows]


def cells_by_header(sheet, header: str) -> list:
    """The cells (with their type and number format) of the column `header`, below the header."""
    headers = [cell.value for cell in sheet[1]]
    index = headers.index(header)
    return [row[index] for row in sheet.iter_rows(min_row=2)]
