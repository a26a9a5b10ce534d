"""The demo loader: survey definition, responses through the upload service, workshop needs; idempotent."""

import json

import pytest
from django.db.models import F

from audiences.models import Need, Survey, SurveyResponse
from audiences.services import DEMO_DIR, audiences_demo_load
from tests.audiences.factories import RESPONSES_CSV

DEMO_FILES = ("survey.json", "responses.csv", "workshop_needs.json", "wide_survey.json", "wide_responses.csv")


def small_demo(directory):
    survey = {
        "title": "Mini enquête",
        "reference": "MINI-1",
        "date": "2025-03-01",
        "scale_min": 1,
        "scale_max": 5,
        "items": [
            {
                "code": "creche",
                "domain": "daily-life",
                "themes": ["childcare"],
                "statement": "Crèche",
                "measures": "both",
            },
            {
                "code": "emploi",
                "domain": "jobs",
                "themes": ["salaried-job"],
                "statement": "Emploi",
                "measures": "importance",
            },
        ],
        "segments": [{"audience": "families", "respondents": 3}, "retirees"],
    }
    (directory / "survey.json").write_text(json.dumps(survey), encoding="utf-8")
    (directory / "responses.csv").write_text(RESPONSES_CSV, encoding="utf-8")
    needs = [
        {
            "external_id": "atelier-1",
            "audience": "families",
            "domain": "daily-life",
            "themes": ["childcare"],
            "statement": "Crèche à horaires étendus",
            "territory": "23",
            "stage": "anchor",
            "importance": 0.8,
            "satisfaction": 0.2,
            "demand_volume": 30,
            "source": "workshop",
            "source_reference": "Atelier",
            "source_date": "2025-06-04",
        },
    ]
    (directory / "workshop_needs.json").write_text(json.dumps(needs), encoding="utf-8")
    return directory


def snapshot():
    return (
        sorted(Need.objects.values_list("pk", "importance", "updated_at")),
        sorted(SurveyResponse.objects.values_list("pk", "importance", "satisfaction")),
        Survey.objects.count(),
    )


def test_small_demo_loads_and_is_idempotent(reference, tmp_path):
    report = audiences_demo_load(directory=small_demo(tmp_path))
    assert report.survey_created and report.responses.responses_created == 10
    assert report.responses.needs_created == 9 and report.workshop_needs.created == 1
    survey = Survey.objects.get(reference="MINI-1")
    assert sorted(survey.audiences.values_list("code", flat=True)) == ["families", "retirees"]
    assert survey.items.get(code="emploi").measures_satisfaction is False
    before = snapshot()
    again = audiences_demo_load(directory=tmp_path)
    assert not again.survey_created
    assert (again.responses.responses_created, again.responses.responses_updated) == (0, 0)
    assert (again.responses.needs_created, again.responses.needs_updated, again.responses.needs_deleted) == (0, 0, 0)
    assert (again.workshop_needs.created, again.workshop_needs.updated) == (0, 0)
    assert snapshot() == before


def test_real_demo_files_load_and_are_idempotent(reference):
    missing = [name for name in DEMO_FILES if not (DEMO_DIR / name).exists()]
    if missing:
        pytest.skip(f"demo files not on this branch yet: {', '.join(missing)} in {DEMO_DIR}")
    report = audiences_demo_load()
    assert report.responses.rows > 1000 and report.responses.needs_created > 100
    assert report.workshop_needs.created >= 3
    rows = Need.objects.values(
        domain_code=F("domain__code"), audience_code=F("audience__code"), territory_kind=F("territory__kind")
    )
    assert {row["domain_code"] for row in rows} == {"jobs", "housing", "culture", "tourism", "daily-life"}
    assert len({row["audience_code"] for row in rows}) >= 5
    assert {row["territory_kind"] for row in rows} >= {"departement", "epci"}
    # The wide survey: a LimeSurvey export read through the mapping stored with it, needs per audience and EPCI.
    wide = report.wide_responses
    assert report.wide_survey_created and wide.mapping_stored
    assert wide.respondents >= 300 and wide.responses_created > 1500 and wide.open_answers > 50
    wide_survey = Survey.objects.get(reference="ENQ-LS-23-2026")
    assert wide_survey.mapping["columns"][:2] == ["id", "submitdate"]
    assert set(wide_survey.items.values_list("importance_scale_max", flat=True)) == {4}
    wide_needs = Need.objects.filter(survey_item__survey=wide_survey)
    assert wide_needs.count() == wide.needs_created > 100
    assert len(set(wide_needs.values_list("audience__code", flat=True))) == 6
    before = snapshot()
    again = audiences_demo_load()
    assert not again.wide_survey_created and not again.wide_responses.mapping_stored
    assert (again.wide_responses.responses_created, again.wide_responses.responses_updated) == (0, 0)
    assert (again.wide_responses.needs_created, again.wide_responses.needs_updated) == (0, 0)
    assert (again.responses.responses_created, again.responses.responses_updated) == (0, 0)
    assert (again.responses.needs_created, again.responses.needs_updated, again.responses.needs_deleted) == (0, 0, 0)
    assert (again.workshop_needs.created, again.workshop_needs.updated) == (0, 0)
    assert snapshot() == before
