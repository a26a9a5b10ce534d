"""`format=xlsx` on the report, compare and IPA endpoints: one sheet per table with the CSV's headers and typed
cells, read back with openpyxl; the workbook says the same as the JSON."""

import pytest

from matching import reports
from matching.models import RunStatus
from matching.report_sheets import COLUMN_SPECS
from tests.matching.factories import make_need_result, make_report_need, make_run
from tests.spreadsheets import cells_by_header, records_of, workbook_of

pytestmark = pytest.mark.django_db

GUERET = "r75/d23/e200034825/c23096/"
AHUN = "r75/d23/e200067189/c23001/"


def url(run, endpoint="report", **params):
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"/api/v1/matching/runs/{run.id}/{endpoint}/?format=xlsx" + (f"&{query}" if query else "")


@pytest.fixture
def run(reference):
    run = make_run()
    make_need_result(run, statement='=HYPERLINK("http://x")', theme_codes=["rent"], territory_path=GUERET,
                     importance=0.8, coverage=0.5, satisfaction=0.3, recommendation="adjust")  # fmt: skip
    make_need_result(run, statement="Logement social", audience_code="retirees", theme_codes=["rent"],
                     territory_path=AHUN, importance=0.6, coverage=0.0, recommendation="create")  # fmt: skip
    make_need_result(run, statement="Coworking", domain_code="jobs", theme_codes=["coworking"],
                     territory_path="r75/d23/", importance=1.0, coverage=0.9, satisfaction=0.9,
                     recommendation="maintain")  # fmt: skip
    return run


def test_every_csv_header_has_its_column_spec():
    for header in (*reports.REPORT_CSV_HEADER[:-1], *reports.COMPARE_CSV_HEADER, *reports.IPA_CSV_HEADER):
        assert header in COLUMN_SPECS


def test_report_workbook(analyst_client, run):
    response = analyst_client.get(url(run, group_by="domain,audience", top=2))
    workbook = workbook_of(response)
    assert f'filename="ecarts-domain-audience-{run.id}.xlsx"' in response["Content-Disposition"]
    assert response["Cache-Control"] == analyst_client.get(url(run).replace("xlsx", "csv"))["Cache-Control"]
    groups_sheet, top_sheet, recommendations_sheet, description = workbook.worksheets
    assert [cell.value for cell in groups_sheet[1]] == reports.REPORT_CSV_HEADER[:-1]
    body = analyst_client.get(url(run, group_by="domain,audience", top=2).replace("xlsx", "json")).json()
    groups = records_of(groups_sheet)
    assert [(group["Libellé 1"], group["Libellé 2"]) for group in groups] == [
        tuple(value["label"] for value in group["dimensions"]) for group in body["groups"]
    ]
    assert [group["Écart total"] for group in groups] == pytest.approx([g["gap_total"] for g in body["groups"]])
    assert all(isinstance(group["Besoins"], int) for group in groups)
    coverage = cells_by_header(groups_sheet, "Couverture moyenne")
    assert all(cell.data_type == "n" and cell.number_format == "0.0%" for cell in coverage)
    assert [cell.value for cell in coverage] == pytest.approx([g["coverage_mean"] for g in body["groups"]])
    assert cells_by_header(groups_sheet, "Écart total")[0].number_format == "#,##0.00"
    tops = records_of(top_sheet)
    assert len(tops) == 3 and {top["Rank"] for top in tops} == {1}
    hyperlink = next(top for top in tops if top["Besoin"].startswith("="))
    assert hyperlink["Gap"] == pytest.approx(0.4) and hyperlink["Couverture après"] == pytest.approx(0.5)
    assert cells_by_header(top_sheet, "Besoin")[0].data_type == "s"
    recommendations = records_of(recommendations_sheet)
    assert [(row["Recommendation"], row["Besoins"]) for row in recommendations] == [
        ("create", 1),
        ("adjust", 1),
        ("promote", 0),
        ("maintain", 1),
    ]
    assert sum(row["Share of the needs"] for row in recommendations) == pytest.approx(1.0)
    assert description.title == "Columns"


def test_compare_workbook(analyst_client, reference):
    needs = {name: make_report_need(statement=name) for name in ("opened", "closed", "grew", "new")}
    baseline, current = make_run(), make_run()
    before = {"opened": (0.02, "maintain"), "closed": (0.4, "create"), "grew": (0.2, "adjust")}
    after = {"opened": (0.3, "adjust"), "closed": (0.0, "maintain"), "grew": (0.35, "adjust"), "new": (0.6, "create")}
    for run, values in ((baseline, before), (current, after)):
        for name, (gap, recommendation) in values.items():
            make_need_result(run, need=needs[name], statement=name, gap=gap, recommendation=recommendation)
    workbook = workbook_of(analyst_client.get(url(current, "compare", baseline=baseline.id)))
    needs_sheet, statuses_sheet, totals_sheet, groups_sheet, _ = workbook.worksheets
    assert [cell.value for cell in needs_sheet[1]] == reports.COMPARE_CSV_HEADER
    by_statement = {row["Besoin"]: row for row in records_of(needs_sheet)}
    assert {name: row["Statut"] for name, row in by_statement.items()} == {name: name for name in needs}
    assert by_statement["grew"]["Variation de l'écart"] == pytest.approx(0.15)
    assert by_statement["new"]["Écart avant"] is None and by_statement["new"]["Écart après"] == pytest.approx(0.6)
    statuses = {row["Statut"]: row["Besoins"] for row in records_of(statuses_sheet)}
    assert statuses == {status: (1 if status in needs else 0) for status in reports.COMPARE_STATUSES}
    (totals,) = records_of(totals_sheet)
    assert (totals["Total gap before"], totals["Total gap after"]) == (pytest.approx(0.62), pytest.approx(1.25))
    (housing,) = records_of(groups_sheet)
    assert housing["Libellé 1"] == "Logement" and housing["Écart apparu"] == 1 and housing["Besoins"] == 4


def test_ipa_workbook(analyst_client, run):
    workbook = workbook_of(analyst_client.get(url(run, "ipa")))
    needs_sheet, quadrants_sheet, cross_sheet, _ = workbook.worksheets
    assert [cell.value for cell in needs_sheet[1]] == reports.IPA_CSV_HEADER
    needs = records_of(needs_sheet)
    assert len(needs) == 3 and {need["Libellé du quadrant"] for need in needs} == {
        "Faible priorité",
        "Maintenir le bon travail",
        "Non classé",
    }
    assert sum(row["Besoins"] for row in records_of(quadrants_sheet)) == 3
    (cross,) = records_of(cross_sheet)
    assert cross["Rule"] == "mean" and cross["Importance"] == pytest.approx(0.9)


def test_xlsx_of_an_unfinished_run_is_409(analyst_client, reference):
    response = analyst_client.get(url(make_run(status=RunStatus.RUNNING)))
    assert response.status_code == 409 and response["Content-Type"] == "application/json"
