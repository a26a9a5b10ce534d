"""Needs import (CSV/JSON, French headers, dry run, all or nothing) and export (filters, formula-safe)."""

import csv
import datetime
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from audiences import services
from audiences.models import Need
from tests.audiences.factories import make_need
from tests.spreadsheets import cells_by_header, records_of, rows_of, workbook_of

FRENCH_CSV = (
    "identifiant;public;domaine;thèmes;besoin;territoire;étape;importance;satisfaction;volume;source;référence;date\n"
    "AT-1;families;daily-life;childcare|schools;Crèche Guéret;23096;Accueillir;0,8;0,3;25;Atelier;Atelier;15/01/2025\n"
    "AT-2;remote-workers;jobs;coworking;Coworking fibré;200034825;anchor;0.6;;;workshop;Atelier;2025-01-15\n"
)


def post_file(client, text: str, name: str = "needs.csv", **data):
    upload = SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")
    return client.post("/api/v1/needs/import/", {"file": upload, **data}, format="multipart")


def test_import_french_csv_then_idempotent_then_update(analyst_client, reference):
    response = post_file(analyst_client, FRENCH_CSV)
    assert response.status_code == 200, response.json()
    assert response.json() == {"dry_run": False, "rows": 2, "created": 2, "updated": 0, "unchanged": 0}
    need = Need.objects.get(external_id="AT-1")
    assert (need.stage, need.source, need.importance, need.satisfaction, need.demand_volume) == (
        "welcome",
        "workshop",
        0.8,
        0.3,
        25,
    )
    assert sorted(theme.code for theme in need.themes.all()) == ["childcare", "schools"]
    assert str(need.source_date) == "2025-01-15" and need.territory.code == "23096"
    assert post_file(analyst_client, FRENCH_CSV).json()["unchanged"] == 2
    changed = post_file(analyst_client, FRENCH_CSV.replace("0,8;0,3", "0,9;0,3"))
    assert changed.json()["updated"] == 1 and changed.json()["unchanged"] == 1
    assert Need.objects.get(external_id="AT-1").importance == 0.9


def test_import_json_and_dry_run(analyst_client, reference):
    records = [
        {
            "external_id": "W-1",
            "audience": "students",
            "domain": "housing",
            "themes": ["rent"],
            "statement": "Logement étudiant meublé",
            "territory": None,
            "stage": "welcome",
            "importance": 0.7,
            "satisfaction": None,
            "demand_volume": 12,
            "source": "workshop",
            "source_reference": "Atelier",
            "source_date": "2025-01-01",
        }
    ]
    text = json.dumps(records)
    dry = post_file(analyst_client, text, name="needs.json", dry_run="true")
    assert dry.json() == {"dry_run": True, "rows": 1, "created": 1, "updated": 0, "unchanged": 0}
    assert not Need.objects.exists()
    assert post_file(analyst_client, text, name="needs.json").json()["created"] == 1
    assert Need.objects.get().territory is None


def test_bad_import_lists_every_line_and_writes_nothing(analyst_client, reference):
    text = (
        "external_id,audience,domain,themes,statement,territory,stage,importance,satisfaction,demand_volume,source\n"
        "A,aliens,daily-life,,x,,,0.5,,,workshop\n"
        "B,families,jobs,childcare,x,,,0.5,,,workshop\n"
        "C,families,jobs,,x,99999,,0.5,,,workshop\n"
        "D,families,jobs,,x,,leave,0.5,,,workshop\n"
        "E,families,jobs,,x,,,1.5,,,workshop\n"
        "F,families,jobs,,x,,,0.5,abc,,workshop\n"
        "G,families,jobs,,x,,,0.5,,-3,workshop\n"
        "H,families,jobs,,,,,0.5,,,rumour\n"
        "A2,families,jobs,,ok,,,0.5,,,workshop\n"
        "A2,families,jobs,,ok,,,0.5,,,workshop\n"
    )
    response = post_file(analyst_client, text)
    assert response.status_code == 400
    assert [(error["line"], error["field"]) for error in response.json()["errors"]] == [
        (2, "audience"),
        (3, "themes"),
        (4, "territory"),
        (5, "stage"),
        (6, "importance"),
        (7, "satisfaction"),
        (8, "demand_volume"),
        (9, "statement"),
        (9, "source"),
        (11, "external_id"),
    ]
    assert not Need.objects.exists()


def test_export_csv_uses_filters_and_is_formula_safe(analyst_client, reference):
    make_need(statement='=HYPERLINK("http://evil")', external_id="X-1", audience="families")
    make_need(statement="Autre besoin", audience="retirees", territory="23096")
    response = analyst_client.get("/api/v1/needs/export/?format=csv&audience=families")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1
    assert rows[0]["statement"] == '\'=HYPERLINK("http://evil")'
    assert rows[0]["themes"] == "childcare" and rows[0]["audience"] == "families"


def test_export_json_round_trips_through_import(analyst_client, reference):
    make_need(statement="Besoin exporté", external_id="X-2", territory="200034825", importance=0.3)
    response = analyst_client.get("/api/v1/needs/export/?format=json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    records = json.loads(b"".join(response.streaming_content))
    assert records[0]["territory"] == "epci:200034825" and records[0]["external_id"] == "X-2"
    again = post_file(analyst_client, json.dumps(records), name="needs.json")
    assert again.json()["unchanged"] == 1
    csv_export = analyst_client.get("/api/v1/needs/export/?format=csv")
    assert post_file(analyst_client, b"".join(csv_export.streaming_content).decode("utf-8")).json()["unchanged"] == 1


def test_export_bad_format_or_filter_is_a_json_400(analyst_client, reference):
    for query in ("format=ods", "format=xlsx&territory=99999"):
        response = analyst_client.get(f"/api/v1/needs/export/?{query}")
        assert response.status_code == 400
        assert response.json()["status"] == 400


def test_import_too_large_is_413(analyst_client, reference):
    big = "external_id,audience\n" + "x,families\n" * 600_000
    response = post_file(analyst_client, big)
    assert response.status_code == 413


def test_export_xlsx_has_typed_cells_and_the_csv_headers(analyst_client, reference):
    make_need(statement='=HYPERLINK("http://evil")', external_id="X-3", importance=0.35, territory="23096")
    response = analyst_client.get("/api/v1/needs/export/?format=xlsx")
    workbook = workbook_of(response)
    assert response["Content-Disposition"] == 'attachment; filename="needs.xlsx"'
    assert response["Cache-Control"] == analyst_client.get("/api/v1/needs/export/")["Cache-Control"]
    sheet = workbook.worksheets[0]
    assert [cell.value for cell in sheet[1]] == services.NEED_EXPORT_HEADER
    (record,) = records_of(sheet)
    need = Need.objects.get(external_id="X-3")
    assert record["statement"] == '=HYPERLINK("http://evil")'  # a text cell, never a formula
    assert record["id"] == need.pk and isinstance(record["id"], int)
    assert record["importance"] == pytest.approx(0.35) and isinstance(record["importance"], float)
    assert record["territory"] == "commune:23096" and record["themes"] == "childcare"
    (updated,) = cells_by_header(sheet, "updated_at")
    local = timezone.localtime(need.updated_at).replace(tzinfo=None)
    assert updated.is_date and abs(updated.value - local) < datetime.timedelta(milliseconds=2)
    assert [cell.data_type for cell in cells_by_header(sheet, "statement")] == ["s"]
    assert [row[1] for row in rows_of(workbook.worksheets[-1])[1:]] == services.NEED_EXPORT_HEADER
