"""The XLSX writer (api/spreadsheets.py): typed cells, French-readable number formats, safe text, valid sheet
names, bounded memory; read back with openpyxl."""

import datetime as dt
import decimal
import io

import openpyxl
import pytest

from api.spreadsheets import (
    BOOLEAN,
    DATE,
    DATETIME,
    DECIMAL,
    INTEGER,
    PERCENT,
    SpreadsheetColumn,
    SpreadsheetTable,
    sheet_title,
    typed_value,
    workbook_write,
)

COLUMNS = [
    SpreadsheetColumn("Nom", "Name"),
    SpreadsheetColumn("Besoins", "Count", "needs", INTEGER),
    SpreadsheetColumn("Prix", "Price", "euros", DECIMAL),
    SpreadsheetColumn("Couverture", "Share", "share", PERCENT, decimals=1),
    SpreadsheetColumn("Date", "Day", kind=DATE),
    SpreadsheetColumn("Modifié", "When", kind=DATETIME),
    SpreadsheetColumn("Gratuit", "Free", kind=BOOLEAN),
]


def written(tables) -> openpyxl.Workbook:
    buffer = io.BytesIO()
    workbook_write(tables, buffer)
    return openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))


def test_cells_are_typed_with_number_formats():
    winter = dt.datetime(2025, 1, 15, 9, 30, tzinfo=dt.UTC)
    rows = [
        ["Crèche", 3, "12.50", 0.25, "2025-03-01", winter, True],
        [["a", "b"], decimal.Decimal("7"), decimal.Decimal("1.5"), None, dt.date(2024, 2, 29),
         "2025-07-01T10:00:00+00:00", False],
    ]  # fmt: skip
    sheet = written([SpreadsheetTable("Groupes", COLUMNS, rows)])["Groupes"]
    first, second = list(sheet.iter_rows(min_row=2))
    assert [cell.value for cell in sheet[1]] == [column.header for column in COLUMNS]
    assert first[0].value == "Crèche" and second[0].value == "a|b"
    assert (first[1].value, first[1].data_type, first[1].number_format) == (3, "n", "#,##0")
    assert isinstance(second[1].value, int) and second[1].value == 7
    assert (first[2].value, first[2].number_format) == (12.5, "#,##0.00") and isinstance(first[2].value, float)
    assert (first[3].value, first[3].number_format) == (0.25, "0.0%")
    assert second[3].value is None
    assert first[4].value == dt.datetime(2025, 3, 1) and first[4].number_format == "DD/MM/YYYY"
    # Aware date-times are written in the project's time zone (Paris: UTC+1 in winter, +2 in summer), naive.
    assert first[5].value == dt.datetime(2025, 1, 15, 10, 30) and first[5].is_date
    assert second[5].value == dt.datetime(2025, 7, 1, 12, 0)
    assert (first[6].value, second[6].value) == (True, False)
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:G3"
    assert sheet.column_dimensions["A"].width == 24


def test_text_never_becomes_a_formula_and_control_characters_are_dropped():
    rows = [['=HYPERLINK("http://evil")', "=1+1"], ["+33 5 55", "=2"], ["bell\x07 here", "ok"]]
    columns = [SpreadsheetColumn("=Titre"), SpreadsheetColumn("Autre")]
    sheet = written([SpreadsheetTable("T", columns, rows)])["T"]
    cells = [row[0] for row in sheet.iter_rows()]
    assert [cell.data_type for cell in cells] == ["s", "s", "s", "s"]
    assert [cell.value for cell in cells] == ["=Titre", '=HYPERLINK("http://evil")', "+33 5 55", "bell here"]
    assert [row[1].value for row in sheet.iter_rows(min_row=2)] == ["=1+1", "=2", "ok"]
    assert {row[1].data_type for row in sheet.iter_rows()} == {"s"}


def test_numbers_never_land_as_text():
    assert typed_value("12,5", DECIMAL) == 12.5
    assert typed_value("1\u202f234", INTEGER) == 1234
    assert typed_value("n/a", DECIMAL) is None
    assert typed_value(float("nan"), DECIMAL) is None
    assert typed_value(2.6, INTEGER) == 3
    assert typed_value("2025-13-01", DATE) is None
    assert typed_value("yes", BOOLEAN) is None


def test_description_sheet_lists_every_column_of_every_sheet():
    tables = [
        SpreadsheetTable("Groupes", COLUMNS[:2], [["x", 1]]),
        SpreadsheetTable("Groupes", COLUMNS[2:3], []),  # same title: made unique
    ]
    workbook = written(tables)
    assert workbook.sheetnames == ["Groupes", "Groupes (2)", "Columns"]
    description = list(workbook["Columns"].iter_rows(values_only=True))
    assert description == [
        ("Sheet", "Column", "Meaning", "Unit"),
        ("Groupes", "Nom", "Name", None),
        ("Groupes", "Besoins", "Count", "needs"),
        ("Groupes (2)", "Prix", "Price", "euros"),
    ]
    assert workbook["Groupes (2)"].auto_filter.ref == "A1:A1"


def test_sheet_titles_are_valid_excel_names():
    taken: set[str] = set()
    assert sheet_title("Écarts: top [1/2]?", taken) == "Écarts- top -1-2--"
    long = "x" * 40
    assert sheet_title(long, taken) == "x" * 31
    assert sheet_title(long, taken) == "x" * 27 + " (2)"
    assert sheet_title("ÉCARTS- TOP -1-2--", taken) == "ÉCARTS- TOP -1-2-- (2)"


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind must be one of"):
        SpreadsheetColumn("x", kind="money")


def test_rows_that_fail_leave_no_temporary_file():
    from openpyxl.worksheet import _writer

    def failing_rows():
        yield ["a"]
        raise RuntimeError("the database went away")

    before = list(_writer.ALL_TEMP_FILES)
    with pytest.raises(RuntimeError, match="went away"):
        workbook_write([SpreadsheetTable("T", [SpreadsheetColumn("x")], failing_rows())], io.BytesIO())
    assert before == _writer.ALL_TEMP_FILES
