"""The cell parsers every upload shares (offers, needs, survey responses): one reading of each kind of cell."""

import datetime
import subprocess
import sys
from decimal import Decimal

import pytest

from api.cells import (
    CellError,
    parse_bool,
    parse_choice,
    parse_date,
    parse_decimal,
    parse_float,
    parse_int,
    parse_list,
    parse_text,
)

STAGES = [("anchor", "Ancrer"), ("welcome", "Accueillir")]


@pytest.mark.parametrize("value", [None, "", "  "])
def test_blank_cells_are_empty(value):
    assert [parse(value) for parse in (parse_bool, parse_decimal, parse_float, parse_int, parse_date)] == [None] * 5
    assert (parse_list(value), parse_text(value), parse_choice(value, STAGES)) == ([], "", None)


@pytest.mark.parametrize(
    ("value", "expected"), [("12", 12), (" 1 200 ", 1200), ("-2", -2), (7, 7), ("3,0", 3), ("3.0", 3), (3.0, 3)]
)
def test_whole_numbers(value, expected):
    assert parse_int(value) == expected


@pytest.mark.parametrize("value", ["3.5", "3,5", 3.5, "abc", True, "nan", "inf", [3]])
def test_not_whole_numbers(value):
    with pytest.raises(CellError, match="is not a whole number"):
        parse_int(value)


def test_numbers_take_a_decimal_comma_and_must_be_finite():
    assert (parse_float("46,17"), parse_float(" 46.17 "), parse_float(1)) == (46.17, 46.17, 1.0)
    for value in ("abc", "nan", "inf", float("nan"), False, 10**400):
        with pytest.raises(CellError, match="is not a number"):
            parse_float(value)
    assert parse_decimal("12,50 €") == Decimal("12.50")


@pytest.mark.parametrize("value", ["2025-01-15", "15/01/2025", "15-01-2025", "15.01.2025", datetime.date(2025, 1, 15)])
def test_dates_in_every_accepted_format(value):
    assert parse_date(value) == datetime.date(2025, 1, 15)


@pytest.mark.parametrize("value", ["31/02/2025", "2025/01/15", "janvier"])
def test_not_dates(value):
    with pytest.raises(CellError, match="is not a date"):
        parse_date(value)


def test_lists_bools_and_choices():
    assert parse_list("childcare| schools;;rent,") == ["childcare", "schools", "rent"]
    assert parse_list(["a", None, " b "]) == ["a", "b"]
    assert (parse_bool("Oui"), parse_bool("non"), parse_bool(True)) == (True, False, True)
    with pytest.raises(CellError, match="yes/no"):
        parse_bool("peut-être")
    assert (parse_choice("ACCUEILLIR", STAGES), parse_choice("anchor", STAGES)) == ("welcome", "anchor")
    assert parse_choice("en ligne", STAGES, aliases={"en ligne": "welcome"}) == "welcome"
    with pytest.raises(CellError, match="'leave' is not one of anchor, welcome"):
        parse_choice(" leave ", STAGES)


def test_cells_import_without_django():
    code = "import sys, api.cells; sys.exit('django' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
