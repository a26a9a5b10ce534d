"""One test per filter of /api/v1/needs/ (and the survey filter)."""

import pytest

from tests.audiences.factories import make_need, make_survey


@pytest.fixture
def needs(reference):
    return {
        "gueret": make_need(
            statement="Place en crèche à Guéret", territory="23096", importance=0.9, stage="welcome", source="survey"
        ),
        "epci": make_need(
            audience="remote-workers",
            domain="jobs",
            themes=("coworking",),
            statement="Espace de coworking",
            territory="200034825",
            importance=0.6,
        ),
        "aubusson": make_need(
            audience="retirees",
            themes=("health-care",),
            statement="Médecin généraliste",
            territory="23008",
            importance=0.4,
            stage="anchor",
            source="study",
        ),
        "area": make_need(statement="Transport à la demande", themes=("mobility",), importance=0.2, stage="attract"),
    }


def ids(client, query: str) -> set[str]:
    response = client.get(f"/api/v1/needs/?{query}")
    assert response.status_code == 200, response.json()
    return {need["statement"] for need in response.json()["results"]}


def test_audience(analyst_client, needs):
    assert ids(analyst_client, "audience=retirees") == {"Médecin généraliste"}
    assert ids(analyst_client, "audience=retirees,remote-workers") == {"Médecin généraliste", "Espace de coworking"}
    bad = analyst_client.get("/api/v1/needs/?audience=aliens")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "audience"


def test_domain(analyst_client, needs):
    assert ids(analyst_client, "domain=jobs") == {"Espace de coworking"}
    assert analyst_client.get("/api/v1/needs/?domain=nothing").status_code == 400


def test_theme(analyst_client, needs):
    assert ids(analyst_client, "theme=health-care,mobility") == {"Médecin généraliste", "Transport à la demande"}
    assert analyst_client.get("/api/v1/needs/?theme=nothing").status_code == 400


def test_territory_hierarchy(analyst_client, needs):
    # EPCI query: the commune need inside it, the EPCI need itself, the whole-area need; not Aubusson's.
    assert ids(analyst_client, "territory=200034825") == {
        "Place en crèche à Guéret",
        "Espace de coworking",
        "Transport à la demande",
    }
    # Commune query: its own need, the EPCI covering it, the whole area.
    assert ids(analyst_client, "territory=23096") == {
        "Place en crèche à Guéret",
        "Espace de coworking",
        "Transport à la demande",
    }
    # Département query: everything inside it.
    assert len(ids(analyst_client, "territory=departement:23")) == 4
    # Another commune of the EPCI (Ajain): not Guéret's need, but the EPCI's and the area's.
    assert ids(analyst_client, "territory=23002") == {"Espace de coworking", "Transport à la demande"}
    bad = analyst_client.get("/api/v1/needs/?territory=99999")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "territory"


def test_stage(analyst_client, needs):
    assert ids(analyst_client, "stage=attract") == {"Transport à la demande"}
    assert analyst_client.get("/api/v1/needs/?stage=leave").status_code == 400


def test_source(analyst_client, needs):
    assert ids(analyst_client, "source=study") == {"Médecin généraliste"}


def test_survey(analyst_client, reference):
    from tests.audiences.factories import RESPONSES_CSV, upload

    survey = make_survey()
    upload(analyst_client, survey, RESPONSES_CSV)
    make_need(statement="Hors enquête")
    response = analyst_client.get(f"/api/v1/needs/?survey={survey.pk}&page_size=100")
    assert response.json()["count"] == 9


def test_min_importance(analyst_client, needs):
    assert ids(analyst_client, "min_importance=0.6") == {"Place en crèche à Guéret", "Espace de coworking"}
    assert analyst_client.get("/api/v1/needs/?min_importance=2").status_code == 400


def test_q_ignores_accents_and_case(analyst_client, needs):
    assert ids(analyst_client, "q=CRECHE gueret") == {"Place en crèche à Guéret"}
    assert ids(analyst_client, "q=médecin") == {"Médecin généraliste"}
    assert ids(analyst_client, "q=crèche médecin") == set()


def test_ordering(analyst_client, needs):
    response = analyst_client.get("/api/v1/needs/?ordering=importance")
    assert [need["importance"] for need in response.json()["results"]] == [0.2, 0.4, 0.6, 0.9]
    default = analyst_client.get("/api/v1/needs/")
    assert [need["importance"] for need in default.json()["results"]] == [0.9, 0.6, 0.4, 0.2]
    assert analyst_client.get("/api/v1/needs/?ordering=statement").status_code == 400


def test_survey_audience_filter(analyst_client, reference):
    make_survey(audiences=("families",), reference="A")
    make_survey(audiences=("retirees", "families"), reference="B")
    make_survey(audiences=("students",), reference="C")
    response = analyst_client.get("/api/v1/surveys/?audience=families")
    assert sorted(survey["reference"] for survey in response.json()["results"]) == ["A", "B"]
