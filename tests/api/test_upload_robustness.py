"""Uploads of every quality (OWASP API4/API8): each import takes UTF-8 with or without BOM, Windows-1252 from French
spreadsheets, comma or semicolon; refuses empty, header-only, oversized, ill-formed and binary files with a precise
4xx naming the line and field; and never writes part of a file. CSV exports neutralise formulas."""

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings as settings_module
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audiences.models import Need, SurveyResponse
from audiences.services import RESPONSES_MAX_BYTES
from matching import services as matching_services
from offers.models import Offer
from offers.services import IMPORT_MAX_BYTES
from tests.audiences.factories import make_need, make_survey
from tests.matching.conftest import run_chunks
from tests.offers.factories import make_offer

pytestmark = pytest.mark.django_db


@dataclass
class Kind:
    """One import: French headers and rows whose first value we read back, and what it writes."""

    name: str
    header: list[str]
    rows: list[list[str]]
    max_bytes: int
    value_column: int  # the column `stored` reads back
    stored: Any = None  # () -> the stored values of the rows' first text field, to check decoding
    count: Any = None  # () -> number of rows the import writes (to check nothing is written)
    post: Any = None  # (content, filename) -> response

    def json(self, *, encoding: str = "utf-8") -> bytes:
        records = [dict(zip(self.header, row, strict=True)) for row in self.rows]
        return json.dumps(records, ensure_ascii=False).encode(encoding)

    def csv(self, *, delimiter: str = ";", encoding: str = "utf-8", rows: list[list[str]] | None = None) -> bytes:
        """As a spreadsheet writes it: cells holding the separator (a decimal comma, a comma in a text) quoted."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=delimiter)
        writer.writerows([self.header, *(self.rows if rows is None else rows)])
        return buffer.getvalue().encode(encoding)


def named(content: bytes, name: str):
    handle = io.BytesIO(content)
    handle.name = name
    return handle


@pytest.fixture
def kinds(editor_a_client, analyst_client, organisation_a):
    make_offer(organisation=organisation_a, title="Offre existante")
    make_need(statement="Besoin existant")
    survey = make_survey()
    offers = Kind(
        name="offers",
        # The commune is optional (offers without a place); thèmes, required, comes last.
        header=["identifiant", "Intitulé", "descriptif", "domaine", "gratuit", "commune", "thèmes"],
        rows=[
            ["o-1", "Crèche des Écureuils", "Accueil, goûter compris.", "daily-life", "oui", "23096", "childcare"],
            ["o-2", "Relais petite enfance", "Conseils aux parents.", "daily-life", "oui", "23008", "childcare"],
        ],
        max_bytes=IMPORT_MAX_BYTES,
        value_column=1,
        stored=lambda: sorted(Offer.objects.filter(source="cd23").values_list("title", flat=True)),
        count=Offer.objects.count,
        post=lambda content, name: editor_a_client.post(
            "/api/v1/offers/import/",
            {"file": named(content, name), "source": "cd23", "organisation": organisation_a.slug},
            format="multipart",
        ),
    )
    needs = Kind(
        name="needs",
        header=["identifiant", "public", "domaine", "libellé", "importance", "source"],
        rows=[
            ["n-1", "families", "daily-life", "Crèche ouverte le samedi", "0,8", "workshop"],
            ["n-2", "retirees", "daily-life", "Être aidé à domicile", "0,6", "workshop"],
        ],
        max_bytes=IMPORT_MAX_BYTES,
        value_column=3,
        stored=lambda: sorted(Need.objects.filter(external_id__startswith="n-").values_list("statement", flat=True)),
        count=Need.objects.count,
        post=lambda content, name: analyst_client.post(
            "/api/v1/needs/import/", {"file": named(content, name)}, format="multipart"
        ),
    )
    responses = Kind(
        name="responses",
        header=["répondant", "public", "commune", "question", "importance", "satisfaction"],
        rows=[["Réponse-1", "families", "23096", "creche", "5", "2"], ["r2", "retirees", "23008", "creche", "4", ""]],
        max_bytes=RESPONSES_MAX_BYTES,
        value_column=0,
        stored=lambda: sorted(SurveyResponse.objects.values_list("respondent_id", flat=True)),
        count=lambda: SurveyResponse.objects.count() + Need.objects.count(),
        post=lambda content, name: analyst_client.post(
            f"/api/v1/surveys/{survey.pk}/responses/", {"file": named(content, name)}, format="multipart"
        ),
    )
    return {kind.name: kind for kind in (offers, needs, responses)}


KINDS = ["offers", "needs", "responses"]
JSON_KINDS = ["offers", "needs"]


def expected_first_values(kind: Kind) -> list[str]:
    return sorted(row[kind.value_column] for row in kind.rows)


def refused(kind: Kind, content: bytes, name: str, status: int = 400) -> dict:
    """Post a bad file: the answer is the error body with `status`, and nothing was written."""
    before = kind.count()
    response = kind.post(content, name)
    assert response.status_code == status, response.content[:600]
    body = response.json()
    assert body["status"] == status and body["errors"] or status == 413, body
    assert kind.count() == before
    return body


# Accepted encodings and separators ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", KINDS)
@pytest.mark.parametrize(
    "encoding, delimiter",
    [("utf-8", ","), ("utf-8", ";"), ("utf-8-sig", ";"), ("utf-8-sig", ","), ("cp1252", ";"), ("cp1252", ",")],
)
def test_csv_in_every_encoding_and_separator_imports_the_same(kinds, name, encoding, delimiter):
    kind = kinds[name]
    response = kind.post(kind.csv(delimiter=delimiter, encoding=encoding), f"{name}.csv")
    assert response.status_code == 200, response.content[:600]
    assert kind.stored() == expected_first_values(kind)


@pytest.mark.parametrize("name", JSON_KINDS)
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_json_with_or_without_bom_imports(kinds, name, encoding):
    kind = kinds[name]
    response = kind.post(kind.json(encoding=encoding), f"{name}.json")
    assert response.status_code == 200, response.content[:600]
    assert kind.stored() == expected_first_values(kind)


def test_excel_unicode_text_export_imports(kinds):
    kind = kinds["needs"]
    response = kind.post(kind.csv(delimiter="\t", encoding="utf-16"), "besoins.txt")
    assert response.status_code == 200, response.content[:600]
    assert kind.stored() == expected_first_values(kind)


# Refused files ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", KINDS)
@pytest.mark.parametrize("content", [b"", b"   \r\n\r\n", b"\xef\xbb\xbf"])
def test_empty_file_is_refused(kinds, name, content):
    body = refused(kinds[name], content, f"{name}.csv")
    assert [error["code"] for error in body["errors"]] in (["empty"], ["required"])
    assert "empty" in body["errors"][0]["message"] or body["errors"][0]["field"] == "file"


@pytest.mark.parametrize("name", KINDS)
def test_header_only_is_refused(kinds, name):
    body = refused(kinds[name], kinds[name].csv(rows=[]), f"{name}.csv")
    assert body["errors"] == [
        {"code": "empty", "message": "The file has a header but no record.", "field": None, "line": None}
    ]


@pytest.mark.parametrize("name", KINDS)
def test_file_over_the_byte_cap_is_a_413_with_both_sizes(kinds, name):
    kind = kinds[name]
    content = kind.csv() + b"x" * (kind.max_bytes - len(kind.csv()) + 1)
    body = refused(kind, content, f"{name}.csv", status=413)
    assert body["code"] == "payload_too_large"
    assert body["message"] == f"The file is {kind.max_bytes + 1:,} bytes; the limit is {kind.max_bytes:,} bytes."


@pytest.mark.parametrize("name", KINDS)
def test_unknown_and_missing_columns_are_named_on_line_1(kinds, name):
    kind = kinds[name]
    header = [*kind.header[:-1], "couleur"]  # the last column is required in every import but the responses'
    kind.header = header
    body = refused(kind, kind.csv(), f"{name}.csv")
    problems = {(error["line"], error["field"], error["code"]) for error in body["errors"]}
    assert (1, "couleur", "unknown_column") in problems
    if name != "responses":
        assert any(code == "required" and line == 1 for line, _, code in problems), problems


@pytest.mark.parametrize("name", KINDS)
def test_a_ragged_line_is_named(kinds, name):
    kind = kinds[name]
    rows = [kind.rows[0], [*kind.rows[1], "de trop", "encore"]]
    body = refused(kind, kind.csv(rows=rows), f"{name}.csv")
    assert [(error["line"], error["code"]) for error in body["errors"]] == [(3, "too_many_fields")]


@pytest.mark.parametrize("name", KINDS)
def test_one_bad_value_refuses_the_whole_file_naming_its_line(kinds, name):
    kind = kinds[name]
    bad = list(kind.rows[1])
    bad[kind.header.index({"offers": "commune", "needs": "importance", "responses": "importance"}[name])] = "abc"
    body = refused(kind, kind.csv(rows=[kind.rows[0], bad]), f"{name}.csv")
    assert {error["line"] for error in body["errors"]} == {3}
    assert body["errors"][0]["field"] in ("commune", "importance")
    assert "nothing was written" in body["message"]


@pytest.mark.parametrize("name", JSON_KINDS)
def test_truncated_json_names_its_line(kinds, name):
    kind = kinds[name]
    text = json.dumps(json.loads(kind.json()), indent=2)
    body = refused(kind, text[: len(text) // 2].encode(), f"{name}.json")
    [error] = body["errors"]
    assert error["code"] == "invalid_json" and error["line"] > 1 and error["message"].startswith("Invalid JSON")


@pytest.mark.parametrize("name", JSON_KINDS)
@pytest.mark.parametrize(
    "document, code, line",
    [
        ({"something": "else"}, "invalid_json", None),
        ('"une chaîne"', "invalid_json", None),
        (42, "invalid_json", None),
        ([1, "deux"], "invalid_json", 1),
        ([{"titre_inconnu": "x"}], "unknown_column", 1),
    ],
)
def test_json_of_the_wrong_shape_is_refused(kinds, name, document, code, line):
    body = refused(kinds[name], json.dumps(document).encode(), f"{name}.json")
    assert (body["errors"][0]["code"], body["errors"][0]["line"]) == (code, line)


@pytest.mark.parametrize("name", KINDS)
@pytest.mark.parametrize(
    "content, filename",
    [
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + b"\x8a\x91" * 200, "besoins.xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "besoins.xls"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "photo.csv"),
        (bytes(range(256)) * 8, "data.csv"),
    ],
)
def test_binary_garbage_is_refused_as_not_text(kinds, name, content, filename):
    body = refused(kinds[name], content, filename)
    assert [error["code"] for error in body["errors"]] == ["binary_file"]
    assert "export it as CSV" in body["errors"][0]["message"]


# Formula injection in exports ---------------------------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+33 5 55 00", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def csv_cells(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


def assert_neutralised(cells: list[list[str]], formulas: list[str]) -> None:
    flat = [cell for row in cells[1:] for cell in row]
    for formula in formulas:
        # Titles and statements are stored stripped: "\t=1" is kept as "=1".
        assert any(cell.startswith(("'" + formula, "'" + formula.strip())) for cell in flat), (formula, flat)
    assert not any(cell.startswith(("=", "+", "@", "\t", "\r")) for cell in flat), flat


def test_offers_export_neutralises_formulas(organisation_a, anonymous_client):
    for formula in FORMULAS:
        make_offer(organisation=organisation_a, title=formula, description=formula)
    make_offer(organisation=organisation_a, title="Gîte", latitude=45.9, longitude=-0.5, commune="23096")
    response = anonymous_client.get("/api/v1/offers/export/", {"format": "csv"})
    assert response.status_code == 200
    cells = csv_cells(response)
    assert_neutralised(cells, FORMULAS)
    longitude = cells[0].index("longitude")
    assert "-0.5" in [row[longitude] for row in cells[1:]]  # numbers stay numbers


def test_needs_export_neutralises_formulas(reference, analyst_client):
    for formula in FORMULAS:
        make_need(statement=formula, source_reference=formula)
    response = analyst_client.get("/api/v1/needs/export/", {"format": "csv"})
    assert response.status_code == 200
    assert_neutralised(csv_cells(response), FORMULAS)


def test_matching_report_csv_neutralises_formulas(reference, analyst_client):
    for formula in FORMULAS:
        make_need(statement=formula, territory="23096", importance=0.9)
    run = matching_services.run_start(launched_by=None)
    run_chunks(run)
    response = analyst_client.get(f"/api/v1/matching/runs/{run.id}/report/", {"group_by": "audience", "format": "csv"})
    assert response.status_code == 200, response.content[:300]
    top_gaps = [row[-1] for row in csv_cells(response)[1:]]
    assert top_gaps and all(cell.startswith("'") for cell in top_gaps), top_gaps


# Parser limits and NUL characters in every upload (issue 17) -------------------------------------------------------

UPLOAD_EXAMPLES = settings(
    max_examples=15, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def uploads(kinds, editor_a_client, organisation_a):
    """Every import, data·inclusion's too (JSON only: its Kind cannot make a CSV)."""
    data_inclusion = Kind(
        name="data-inclusion",
        header=["id", "source", "nom", "thematiques"],
        rows=[["s-1", "dora", "Crèche", "famille--garde-denfants"]],
        max_bytes=IMPORT_MAX_BYTES,
        value_column=2,
        count=Offer.objects.count,
        post=lambda content, name: editor_a_client.post(
            "/api/v1/offers/import/data-inclusion/",
            {"file": named(content, name), "organisation": organisation_a.slug},
            format="multipart",
        ),
    )
    return {**kinds, "data-inclusion": data_inclusion}


ALL_UPLOADS = [*KINDS, "data-inclusion"]


def with_value(kind: Kind, value: str) -> list[dict]:
    """The kind's JSON records, the value cell of the last one replaced by the raw JSON text `value`."""
    records = json.loads(kind.json())
    records[-1][kind.header[kind.value_column]] = "@@value@@"
    return json.dumps(records, ensure_ascii=False).replace('"@@value@@"', value)


@UPLOAD_EXAMPLES
@given(depth=st.integers(settings_module.JSON_MAX_DEPTH + 1, 3_000), name=st.sampled_from(ALL_UPLOADS))
def test_a_json_upload_nested_too_deep_is_a_400_naming_its_line(uploads, depth, name):
    kind = uploads[name]
    body = refused(kind, with_value(kind, "[" * depth + "]" * depth).encode(), "donnees.json")
    assert body["code"] == "too_deep" and body["errors"][0]["line"] == 1, body


@UPLOAD_EXAMPLES
@given(
    number=st.integers(settings_module.JSON_MAX_NUMBER_DIGITS + 1, 6_000).map(lambda digits: "7" * digits)
    | st.sampled_from(["1e400", "-1e999", str(2**63), "NaN", "-Infinity"]),
    name=st.sampled_from(ALL_UPLOADS),
)
def test_a_json_upload_with_a_huge_number_is_a_400_naming_its_record_and_field(uploads, number, name):
    kind = uploads[name]
    body = refused(kind, with_value(kind, number).encode(), "donnees.json")
    [error] = body["errors"]
    assert error["code"] in ("number_too_long", "out_of_range", "invalid_number"), error
    assert (error["line"], error["field"]) == (len(kind.rows), kind.header[kind.value_column])


@UPLOAD_EXAMPLES
@given(
    # No line break: a quoted cell over two lines would move the record's line (errors name its last line).
    text=st.text(st.characters(codec="utf-8", exclude_characters="\x00\ufeff\r\n"), max_size=20),
    nuls=st.integers(1, 3),
    name=st.sampled_from(KINDS),
    row=st.integers(0, 1),
)
def test_a_nul_in_any_csv_cell_is_a_400_naming_its_line_and_column(kinds, text, nuls, name, row):
    kind = kinds[name]
    rows = [list(cells) for cells in kind.rows]
    rows[row][kind.value_column] = text[: len(text) // 2] + "\x00" * nuls + text[len(text) // 2 :]
    body = refused(kind, kind.csv(rows=rows), f"{name}.csv")
    assert {(error["line"], error["code"]) for error in body["errors"]} == {(row + 2, "null_character")}, body
    assert body["errors"][0]["field"] in (kind.header[kind.value_column], "respondent_id", "title", "statement")


@pytest.mark.parametrize("name", ALL_UPLOADS)
@pytest.mark.parametrize("key", ["²", "٣", "x"])
def test_a_refused_number_under_any_key_is_a_400(uploads, name, key):
    # Keys that are digits to str.isdigit() but not to int() ("²", Arabic-Indic three) were a 500.
    kind = uploads[name]
    for document in ({key: "1e400"}, *({list_key: {key: "1e400"}} for list_key in ("offers", "needs", "responses"))):
        text = json.dumps(document).replace('"1e400"', "1e400")
        body = refused(kind, text.encode(), "donnees.json")
        assert body["errors"], body


@pytest.mark.parametrize("name", ALL_UPLOADS)
@pytest.mark.parametrize("raw", [False, True])
def test_a_nul_in_a_json_upload_is_a_400_naming_its_record(uploads, name, raw):
    kind = uploads[name]
    content = with_value(kind, '"Cr\\u0000che"')
    body = refused(kind, (content.replace("\\u0000", "\x00") if raw else content).encode(), "donnees.json")
    [error] = body["errors"]
    assert error["code"] == "null_character", error
    if raw:  # before decoding: the text's line, and the column in the message
        assert error["line"] == 1 and "(column " in error["message"]
    else:
        assert (error["line"], error["field"]) == (len(kind.rows), kind.header[kind.value_column])


BOMS = [b"\xef\xbb\xbf", "\ufeff".encode("utf-16-le"), "\ufeff".encode("utf-16-be")]


@UPLOAD_EXAMPLES
@given(
    boms=st.lists(st.sampled_from(BOMS), min_size=1, max_size=5), name=st.sampled_from(KINDS), csv_too=st.booleans()
)
def test_files_of_byte_order_marks_are_never_a_500(kinds, boms, name, csv_too):
    kind = kinds[name]
    content = b"".join(boms) + (kind.csv() if csv_too else b"")
    before = kind.count()
    response = kind.post(content, f"{name}.csv")
    assert response.status_code in (200, 400), response.content[:300]
    if response.status_code == 400:
        assert response.json()["errors"] and kind.count() == before


@pytest.mark.parametrize("name", KINDS)
def test_two_byte_order_marks_are_an_empty_file_and_before_a_csv_are_ignored(kinds, name):
    kind = kinds[name]
    body = refused(kind, b"\xef\xbb\xbf\xef\xbb\xbf", f"{name}.csv")
    assert [error["code"] for error in body["errors"]] == ["empty"]
    response = kind.post("\ufeff\ufeff".encode() + kind.csv(), f"{name}.csv")
    assert response.status_code == 200, response.content[:300]
    assert kind.stored() == expected_first_values(kind)
