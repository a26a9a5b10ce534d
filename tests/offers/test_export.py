"""Offer export: CSV and JSON, same filters as the list, streamed, safe against spreadsheet formulas."""

import csv
import io
import json

import pytest

from tests.offers.factories import make_offer

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
