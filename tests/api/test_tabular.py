"""The shared upload reader: encodings, separators, French headers, caps and precise errors."""

import pytest

from api.exceptions import InvalidInput, PayloadTooLarge
from api.tabular import Column, cell_text, column_label, csv_lines, csv_safe, read_table, read_upload

COLUMNS = [
    Column("title", aliases=("titre", "intitulé"), required=True),
    Column("commune", aliases=("code commune",), required=True),
    Column("capacity", aliases=("capacité",)),
]


def read(content: bytes, **kwargs):
    return read_upload(content=content, columns=COLUMNS, **kwargs)


@pytest.mark.parametrize(
    "content",
    [
        "titre;code commune;capacité\nCrèche Les Lutins;23096;12\n".encode(),
        "\ufeffTitre,Code commune,Capacité\r\nCrèche Les Lutins,23096,12\r\n".encode(),
        "INTITULÉ;Code Commune;capacite\nCrèche Les Lutins;23096;12\n".encode("cp1252"),
        b'[{"title": "Cr\\u00e8che Les Lutins", "commune": "23096", "capacity": "12"}]',
    ],
    ids=["utf8-semicolon", "utf8-bom-comma-crlf", "latin1-french-headers", "json"],
)
def test_reads_every_common_shape(content):
    rows = read(content)
    assert len(rows) == 1
    assert rows[0].values == {"title": "Crèche Les Lutins", "commune": "23096", "capacity": "12"}


def test_lines_count_the_header_and_quoted_newlines():
    rows = read(b'title,commune\n"Gite\nsur deux lignes",23096\nAutre,23001\n')
    assert [row.line for row in rows] == [3, 4]


def test_blank_lines_are_skipped():
    assert len(read(b"title,commune\n\nA,23096\n,\n")) == 1


def test_header_problems_are_all_listed():
    with pytest.raises(InvalidInput) as raised:
        read(b"titre;prix;prix2\nA;1;2\n")
    problems = [(e.line, e.field, e.code) for e in raised.value.errors]
    assert problems == [
        (1, "prix", "unknown_column"),
        (1, "prix2", "unknown_column"),
        (1, "commune", "required"),
    ]


def test_ragged_line_is_reported_with_its_number():
    with pytest.raises(InvalidInput) as raised:
        read(b"title,commune\nA,23096\nB,23001,extra\n")
    assert [(e.line, e.code) for e in raised.value.errors] == [(3, "too_many_fields")]


@pytest.mark.parametrize("content", [b"", b"   \n", b"title,commune\n"])
def test_empty_files_are_refused(content):
    with pytest.raises(InvalidInput) as raised:
        read(content)
    assert raised.value.errors[0].code == "empty"


def test_size_and_row_caps_are_413():
    with pytest.raises(PayloadTooLarge, match="limit is 10 bytes"):
        read(b"title,commune\nA,23096\n", max_bytes=10)
    with pytest.raises(PayloadTooLarge, match="limit is 2 per upload"):
        read(b"title,commune\nA,1\nB,2\nC,3\n", max_rows=2)


def test_invalid_json_gives_its_line():
    with pytest.raises(InvalidInput) as raised:
        read(b'[\n {"title": "A",\n  "commune": }\n]', filename="offers.json")
    assert raised.value.errors[0].line == 3


def test_json_unknown_field_and_missing_required():
    with pytest.raises(InvalidInput) as raised:
        read(b'[{"title": "A", "commune": "1"}, {"titre": "B", "colour": "red"}]')
    assert [(e.line, e.field, e.code) for e in raised.value.errors] == [
        (2, "colour", "unknown_column"),
        (2, "commune", "required"),
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("+33 5 55", "'+33 5 55"),
        ("-1", "'-1"),
        ("@SUM", "'@SUM"),
        ("Gîte", "Gîte"),
        (None, ""),
        (12, "12"),
        (-0.25, "-0.25"),
        (-3, "-3"),
    ],
)
def test_csv_safe_neutralises_formulas(value, expected):
    assert csv_safe(value) == expected


def test_csv_lines_escape_and_bom():
    text = "".join(csv_lines(["title", "note"], [["Gîte, lac", "=1+1"]]))
    assert text == '\ufefftitle,note\r\n"Gîte, lac",\'=1+1\r\n'


# read_table: wide files (one row per respondent) whatever their headers -------------------------------------------


def table_errors(content: bytes, **kwargs) -> list[tuple[str, int | None]]:
    with pytest.raises(InvalidInput) as caught:
        read_table(content=content, **kwargs)
    return [(error.code, error.line) for error in caught.value.errors]


@pytest.mark.parametrize(
    "content",
    [
        "Q1;Q2\r\nTrès bien;2\r\n".encode("cp1252"),
        "\ufeffQ1,Q2\nTrès bien,2\n".encode(),
        "Q1\tQ2\r\nTrès bien\t2\r\n".encode("utf-16"),
    ],
)
def test_read_table_encodings_and_separators(content):
    table = read_table(content=content)
    assert table.headers == ["Q1", "Q2"]
    assert table.rows == [(2, ["Très bien", "2"])]


def test_read_table_pads_short_rows_and_skips_blank_ones():
    table = read_table(content=b"a,b,c\n1\n,,\n4,5,\n")
    assert table.rows == [(2, ["1", None, None]), (4, ["4", "5", ""])]


def test_read_table_structural_errors():
    assert table_errors(b"a,b\n1,2,3\n") == [("too_many_fields", 2)]
    assert table_errors(b"a,b\n1,x\x00y\n") == [("null_character", 2)]
    assert table_errors(b"a,,b\n1,2,3\n") == [("blank_header", 1)]
    assert table_errors(b"a,b\n") == [("empty", None)]
    assert table_errors(b"\xd0\xcf\x11\xe0" + b"\x00" * 600) == [("unsupported_format", None)]
    assert table_errors(b"PK\x03\x04not a zip at all") == [("invalid_xlsx", None)]
    assert table_errors(b"a\n1\n", sheet="Feuil1") == [("invalid", None)]


def test_read_table_caps():
    with pytest.raises(PayloadTooLarge, match="3 columns"):
        read_table(content=b"a,b,c\n1,2,3\n", max_columns=2)
    with pytest.raises(PayloadTooLarge, match="more than 1 rows"):
        read_table(content=b"a\n1\n2\n", max_rows=1)
    with pytest.raises(PayloadTooLarge, match="cells"):
        read_table(content=b"a,b\n1,2\n3,4\n", max_cells=3)


def test_cell_text_and_column_label():
    assert [cell_text(value) for value in (23096.0, 1.25, "x ", 7)] == ["23096", "1.25", "x", "7"]
    assert column_label(28, "Q") == "column 28 (AB) « Q »"
