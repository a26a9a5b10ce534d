"""Offer export: CSV and JSON, same filters as the list, streamed, safe against spreadsheet formulas."""

import csv
import io
import json

import pytest

from offers.views import EXPORT_COLUMNS
from tests.offers.factories import make_offer
from tests.spreadsheets import cells_by_header, records_of, workbook_of

pytestmark = pytest.mark.django_db


def content(response) -> str:
    assert response.status_code == 200, getattr(response, "content", b"")
    return b"".join(response.streaming_content).decode("utf-8")


def test_csv_export_escapes_formulas_and_applies_filters(anonymous_client, organisation_a):
    make_offer(organisation=organisation_a, title='=HYPERLINK("http://evil")', description="+33 5 55 00 00 00")
    make_offer(organisation=organisation_a, title="Gîte", domain="tourism", themes=["accommodation"])
    make_offer(organisation=organisation_a, title="Brouillon", status="draft")
    response = anonymous_client.get("/api/v1/offers/export/", {"format": "csv", "domain": "daily-life"})
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = content(response)
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [row["title"] for row in rows] == ['\'=HYPERLINK("http://evil")']
    assert rows[0]["description"] == "'+33 5 55 00 00 00"
    assert rows[0]["themes"] == "childcare"
    assert rows[0]["service_area"] == "commune:23096"


def test_json_export(anonymous_client, organisation_a):
    for number in range(3):
        make_offer(organisation=organisation_a, title=f"Offre {number}")
    response = anonymous_client.get("/api/v1/offers/export/", {"format": "json", "near": "46.17,1.87", "radius_km": 5})
    assert response["Content-Type"].startswith("application/json")
    data = json.loads(content(response))
    assert [item["title"] for item in data] == ["Offre 0", "Offre 1", "Offre 2"]
    assert data[0]["distance_km"] < 5


def test_export_large_set_in_chunks(organisation_a):
    for number in range(7):
        make_offer(organisation=organisation_a, title=f"Offre {number:02d}")
    from offers import selectors

    rows = list(selectors.offer_rows_iter(selectors.offer_list(), chunk_size=3))
    assert [row["title"] for row in rows] == [f"Offre {number:02d}" for number in range(7)]


def test_export_rejects_bad_filters(anonymous_client, reference):
    response = anonymous_client.get("/api/v1/offers/export/", {"format": "csv", "radius_km": 3})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "near"


def test_xlsx_export_has_typed_cells_the_csv_headers_and_the_filters(anonymous_client, organisation_a):
    make_offer(
        organisation=organisation_a,
        title='=HYPERLINK("http://evil")',
        is_free=False,
        price_amount="12.50",
        capacity=12,
    )
    make_offer(organisation=organisation_a, title="Gîte", domain="tourism", themes=["accommodation"])
    response = anonymous_client.get("/api/v1/offers/export/", {"format": "xlsx", "domain": "daily-life"})
    workbook = workbook_of(response)
    assert response.get("Cache-Control") == anonymous_client.get("/api/v1/offers/export/").get("Cache-Control")
    sheet = workbook.worksheets[0]
    assert [cell.value for cell in sheet[1]] == EXPORT_COLUMNS
    (record,) = records_of(sheet)
    assert record["title"] == '=HYPERLINK("http://evil")' and record["themes"] == "childcare"
    assert record["price_amount"] == 12.5 and record["capacity"] == 12 and isinstance(record["id"], int)
    assert isinstance(record["is_free"], bool)
    assert (
        isinstance(record["latitude"], float) and cells_by_header(sheet, "latitude")[0].number_format == "#,##0.000000"
    )
    assert cells_by_header(sheet, "updated_at")[0].is_date
    assert cells_by_header(sheet, "price_amount")[0].number_format == "#,##0.00"
    assert cells_by_header(sheet, "title")[0].data_type == "s"
