"""The journey stage (attract, welcome, anchor) as a report and compare dimension: kept on each result by the run,
grouped and labelled in French in JSON, CSV and charts."""

import csv
import io

import pytest

from audiences.models import Need
from matching import services
from matching.models import NeedResult, RunStatus
from tests.conftest import make_user
from tests.matching.conftest import run_chunks
from tests.matching.factories import make_need_result, make_report_need, make_run

pytestmark = pytest.mark.django_db


def url(run, endpoint="report", **params):
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"/api/v1/matching/runs/{run.id}/{endpoint}/" + (f"?{query}" if query else "")


@pytest.fixture
def staged_run(reference):
    run = make_run()
    make_need_result(run, statement="Trouver un logement à l'arrivée", stage="welcome", importance=0.8, coverage=0.5)
    make_need_result(run, statement="Découvrir les offres d'emploi", stage="attract", importance=0.6, coverage=0.0)
    make_need_result(run, statement="Garder un médecin", stage="anchor", importance=1.0, coverage=0.9)
    make_need_result(run, statement="Besoin dont le besoin d'origine a disparu", stage="", importance=0.2)
    return run


def test_a_run_keeps_each_needs_stage(catalogue):
    _offers, needs = catalogue
    Need.objects.filter(id=needs["create"].id).update(stage="attract")
    Need.objects.filter(id=needs["audience"].id).update(stage="welcome")
    run = services.run_start(launched_by=make_user("launcher", analyst=True))
    run_chunks(run)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    stages = dict(NeedResult.objects.filter(run=run).values_list("need_id", "stage"))
    assert stages[needs["create"].id] == "attract"
    assert stages[needs["audience"].id] == "welcome"
    assert stages[needs["maintain"].id] == "anchor"  # the model's default stage


def test_report_groups_by_stage_with_french_labels(analyst_client, staged_run):
    response = analyst_client.get(url(staged_run, group_by="stage"))
    assert response.status_code == 200
    groups = {group["dimensions"][0]["code"]: group for group in response.json()["groups"]}
    assert {code: group["dimensions"][0]["label"] for code, group in groups.items()} == {
        "attract": "Attirer",
        "welcome": "Accueillir",
        "anchor": "Ancrer",
        "": "Étape non renseignée",
    }
    assert groups["attract"]["gap_total"] == pytest.approx(0.6)
    assert groups["welcome"]["gap_total"] == pytest.approx(0.4)
    assert [top["statement"] for top in groups["welcome"]["top_gaps"]] == ["Trouver un logement à l'arrivée"]


def test_stage_crosses_with_another_dimension_in_csv_and_svg(analyst_client, staged_run):
    response = analyst_client.get(url(staged_run, group_by="stage,domain", format="csv"))
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert lines[1][:3] == ["Étape du parcours", "attract", "Attirer"]
    assert lines[1][3:6] == ["Domaine", "housing", "Logement"]
    svg = analyst_client.get(url(staged_run, group_by="stage,domain", format="svg")).content.decode()
    assert "Étape du parcours" in svg and "Accueillir" in svg


def test_response_lists_each_results_stage(analyst_client, staged_run):
    body = analyst_client.get(f"/api/v1/matching/runs/{staged_run.id}/needs/").json()
    assert {result["statement"]: result["stage"] for result in body["results"]}["Garder un médecin"] == "anchor"


def test_compare_groups_by_stage(analyst_client, reference):
    need = make_report_need(statement="Accueil des nouveaux arrivants")
    baseline, current = make_run(), make_run()
    make_need_result(baseline, need=need, statement=need.statement, stage="welcome", gap=0.1)
    make_need_result(current, need=need, statement=need.statement, stage="welcome", gap=0.5)
    body = analyst_client.get(url(current, "compare", baseline=baseline.id, group_by="stage")).json()
    (group,) = body["groups"]
    assert group["dimensions"] == [{"dimension": "stage", "code": "welcome", "label": "Accueillir"}]
    assert group["gap_delta"] == pytest.approx(0.4) and group["statuses"]["grew"] == 1
