"""Survey waves through the API: the next wave copies what the analyst would otherwise retype, and compare shows how
importance and satisfaction moved, with figures checked against NumPy/SciPy computed here."""

import csv
import io
import math

import numpy as np
import pytest
from scipy import stats

from audiences import wave_comparison
from audiences.models import Survey, SurveyItem, SurveyResponse
from audiences.services import survey_needs_compute
from offers.models import Audience, Territory, Theme
from tests.audiences.factories import make_survey
from tests.spreadsheets import cells_by_header, records_of, workbook_of

MAPPING = {"columns": ["id", "IMP[creche]"], "respondent": {"column": "id"}}


@pytest.fixture
def first_wave(reference):
    survey = make_survey()
    survey.territory = Territory.objects.get(kind="departement", code="23")
    survey.mapping = MAPPING
    survey.save()
    creche = survey.items.get(code="creche")
    creche.satisfaction_scale_min, creche.satisfaction_scale_max = 0, 10
    creche.save()
    creche.themes.add(Theme.objects.get(code="schools"))
    return survey


def add_responses(survey: Survey, rows) -> None:
    """rows: (respondent, audience code, item code, importance, satisfaction, weight)."""
    items = {item.code: item for item in survey.items.all()}
    audiences = dict(Audience.objects.values_list("code", "pk"))
    SurveyResponse.objects.bulk_create(
        SurveyResponse(
            item=items[item],
            respondent_id=respondent,
            audience_id=audiences[audience],
            importance=importance,
            satisfaction=satisfaction,
            weight=weight,
        )
        for respondent, audience, item, importance, satisfaction, weight in rows
    )


def create_wave(client, survey, **body):
    body = {"title": "Enquête 2026", "date": "2026-03-02", "reference": "ENQ-2026", **body}
    return client.post(f"/api/v1/surveys/{survey.pk}/waves/", body, format="json")


def test_next_wave_copies_items_audiences_territory_and_mapping(analyst_client, first_wave):
    add_responses(first_wave, [("r1", "families", "creche", 5, 7, 1.0)])
    response = create_wave(analyst_client, first_wave)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["title"], body["date"], body["reference"], body["previous_wave"]) == (
        "Enquête 2026",
        "2026-03-02",
        "ENQ-2026",
        first_wave.pk,
    )
    assert body["audiences"] == ["families", "retirees"]
    assert body["response_count"] == 0
    wave = Survey.objects.get(pk=body["id"])
    assert (wave.territory, wave.mapping, wave.scale_min, wave.scale_max) == (first_wave.territory, MAPPING, 1, 5)
    copied = {item.code: item for item in wave.items.prefetch_related("themes")}
    assert set(copied) == {"creche", "emploi"}
    creche = copied["creche"]
    assert (creche.statement, creche.stage, creche.domain.code) == (
        "Trouver une place en crèche près de chez soi",
        "welcome",
        "daily-life",
    )
    assert (creche.satisfaction_scale_min, creche.satisfaction_scale_max) == (0, 10)
    assert {theme.code for theme in creche.themes.all()} == {"childcare", "schools"}
    assert copied["emploi"].measures_satisfaction is False
    # The earlier wave keeps its items and responses.
    assert first_wave.items.count() == 2
    assert SurveyResponse.objects.filter(item__survey=first_wave).count() == 1


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"date": "2025-03-01"}, "date", "not_after_previous_wave"),
        ({"date": "2026-13-01"}, "date", "invalid"),
        ({"title": ""}, "title", "blank"),
        ({"title": 3}, "title", "invalid_type"),
    ],
)
def test_bad_wave_is_refused_and_nothing_written(analyst_client, first_wave, body, field, code):
    response = create_wave(analyst_client, first_wave, **body)
    assert response.status_code == 400
    assert [(error["field"], error["code"]) for error in response.json()["errors"]] == [(field, code)]
    assert Survey.objects.count() == 1


def test_waves_need_an_analyst_and_a_known_survey(editor_a_client, analyst_client, first_wave):
    assert create_wave(editor_a_client, first_wave).status_code == 403
    assert editor_a_client.get(f"/api/v1/surveys/{first_wave.pk}/compare/").status_code == 403
    assert analyst_client.post("/api/v1/surveys/999999/waves/", {}, format="json").status_code == 404
    assert Survey.objects.count() == 1


# Comparison ---------------------------------------------------------------------------------------------------------

# Wave 1, families: crèche importance 5, 4, 4, 2 (weights 1, 2, 1, 0.5), satisfaction 2, 5, 3, 1 on 0-10;
# retirees: importance 3, 5 (weights 1, 1), satisfaction 6 and no answer. emploi: families 4, 5.
WAVE_1 = [
    ("a1", "families", "creche", 5, 2, 1.0),
    ("a2", "families", "creche", 4, 5, 2.0),
    ("a3", "families", "creche", 4, 3, 1.0),
    ("a4", "families", "creche", 2, 1, 0.5),
    ("a5", "retirees", "creche", 3, 6, 1.0),
    ("a6", "retirees", "creche", 5, None, 1.0),
    ("a1", "families", "emploi", 4, None, 1.0),
    ("a2", "families", "emploi", 5, None, 2.0),
]
# Wave 2, families: crèche importance 5, 5, 4, 3, 4 (weights 1.5, 1, 1, 0.5, 2), satisfaction 8, 7, 9, 6, 8; no
# retiree answered; `emploi` is dropped and `mobilite` added.
WAVE_2 = [
    ("b1", "families", "creche", 5, 8, 1.5),
    ("b2", "families", "creche", 5, 7, 1.0),
    ("b3", "families", "creche", 4, 9, 1.0),
    ("b4", "families", "creche", 3, 6, 0.5),
    ("b5", "families", "creche", 4, 8, 2.0),
]


def _reference(values, weights):
    """Weighted mean, Kish n_eff and weighted sd as numpy computes them (np.cov with aweights, ddof=1)."""
    values, weights = np.asarray(values, dtype=float), np.asarray(weights, dtype=float)
    return (
        np.average(values, weights=weights),
        weights.sum() ** 2 / np.square(weights).sum(),
        math.sqrt(np.cov(values, aweights=weights, ddof=1)),
    )


def _welch(before, after):
    (mean_1, n_1, sd_1), (mean_2, n_2, sd_2) = before, after
    parts = sd_1**2 / n_1, sd_2**2 / n_2
    se = math.sqrt(sum(parts))
    freedom = se**4 / (parts[0] ** 2 / (n_1 - 1) + parts[1] ** 2 / (n_2 - 1))
    difference = mean_2 - mean_1
    half_width = stats.t.ppf(0.975, freedom) * se
    return difference, difference - half_width, difference + half_width, 2 * stats.t.sf(abs(difference) / se, freedom)


@pytest.fixture
def second_wave(analyst_client, first_wave):
    add_responses(first_wave, WAVE_1)
    wave = Survey.objects.get(pk=create_wave(analyst_client, first_wave).json()["id"])
    wave.items.filter(code="emploi").delete()
    SurveyItem.objects.create(
        survey=wave, code="mobilite", domain=wave.items.get().domain, statement="Se déplacer sans voiture"
    )
    add_responses(wave, WAVE_2)
    return wave


def test_compare_with_the_previous_wave(analyst_client, first_wave, second_wave):
    response = analyst_client.get(f"/api/v1/surveys/{second_wave.pk}/compare/")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["survey"]["id"], body["baseline"]["id"]) == (second_wave.pk, first_wave.pk)
    assert body["items_added"] == [{"code": "mobilite", "statement": "Se déplacer sans voiture"}]
    assert body["items_dropped"] == [{"code": "emploi", "statement": "Trouver un emploi salarié"}]
    rows = {(row["item"], row["audience"]): row for row in body["rows"]}
    assert list(rows) == [("creche", None), ("creche", "families"), ("creche", "retirees")]

    families = rows[("creche", "families")]
    before = _reference([(s - 1) / 4 for s in (5, 4, 4, 2)], [1, 2, 1, 0.5])
    after = _reference([(s - 1) / 4 for s in (5, 5, 4, 3, 4)], [1.5, 1, 1, 0.5, 2])
    difference, low, high, p_value = _welch(before, after)
    importance = families["importance"]
    assert importance["before_mean"] == pytest.approx(before[0], abs=1e-6)
    assert importance["before_effective_response_count"] == pytest.approx(before[1], abs=1e-6)
    assert importance["after_mean"] == pytest.approx(after[0], abs=1e-6)
    assert (importance["before_response_count"], importance["after_response_count"]) == (4, 5)
    assert importance["difference"] == pytest.approx(difference, abs=1e-6)
    assert importance["difference_ci_low"] == pytest.approx(low, abs=1e-5)
    assert importance["difference_ci_high"] == pytest.approx(high, abs=1e-5)
    assert importance["p_value"] == pytest.approx(p_value, abs=1e-5)
    assert importance["significant"] is bool(p_value < 0.05)

    # Satisfaction on the item's 0-10 scale: 2, 5, 3, 1 -> .2, .5, .3, .1; 8, 7, 9, 6, 8 -> .8 ... a clear rise.
    before = _reference([0.2, 0.5, 0.3, 0.1], [1, 2, 1, 0.5])
    after = _reference([0.8, 0.7, 0.9, 0.6, 0.8], [1.5, 1, 1, 0.5, 2])
    difference, low, high, p_value = _welch(before, after)
    satisfaction = families["satisfaction"]
    assert satisfaction["before_mean"] == pytest.approx(before[0], abs=1e-6)
    assert satisfaction["after_mean"] == pytest.approx(after[0], abs=1e-6)
    assert satisfaction["difference_ci_low"] == pytest.approx(low, abs=1e-5)
    assert satisfaction["p_value"] == pytest.approx(p_value, abs=1e-5)
    assert satisfaction["significant"] is True and p_value < 0.05

    # Retirees answered only the first wave: their figures, no difference.
    retirees = rows[("creche", "retirees")]["importance"]
    assert (retirees["before_mean"], retirees["before_response_count"]) == (pytest.approx(0.75), 2)
    assert (retirees["after_mean"], retirees["after_response_count"], retirees["difference"]) == (None, 0, None)
    assert retirees["significant"] is None

    # Every respondent together: the first wave pools families and retirees.
    everyone = rows[("creche", None)]["importance"]
    pooled = _reference([(s - 1) / 4 for s in (5, 4, 4, 2, 3, 5)], [1, 2, 1, 0.5, 1, 1])
    assert everyone["before_mean"] == pytest.approx(pooled[0], abs=1e-6)
    assert everyone["before_response_count"] == 6
    assert everyone["after_mean"] == importance["after_mean"]


def test_compare_unweighted_waves_is_welchs_t_test(analyst_client, first_wave, second_wave):
    SurveyResponse.objects.update(weight=1.0)
    body = analyst_client.get(f"/api/v1/surveys/{second_wave.pk}/compare/").json()
    row = next(row for row in body["rows"] if row["audience"] == "families")
    before = [(s - 1) / 4 for s in (5, 4, 4, 2)]
    after = [(s - 1) / 4 for s in (5, 5, 4, 3, 4)]
    welch = stats.ttest_ind(after, before, equal_var=False)
    interval = welch.confidence_interval(0.95)
    importance = row["importance"]
    assert importance["before_effective_response_count"] == 4.0
    assert importance["p_value"] == pytest.approx(welch.pvalue, abs=1e-5)
    assert importance["difference_ci_low"] == pytest.approx(interval.low, abs=1e-5)
    assert importance["difference_ci_high"] == pytest.approx(interval.high, abs=1e-5)


def test_compare_with_any_earlier_wave_of_the_chain(analyst_client, first_wave, second_wave):
    third = create_wave(analyst_client, second_wave, date="2027-03-01").json()
    response = analyst_client.get(f"/api/v1/surveys/{third['id']}/compare/", {"with": first_wave.pk})
    assert response.status_code == 200, response.json()
    assert response.json()["baseline"]["id"] == first_wave.pk
    default = analyst_client.get(f"/api/v1/surveys/{third['id']}/compare/").json()
    assert default["baseline"]["id"] == second_wave.pk
    # No answer yet in the third wave: each row shows the earlier figures only.
    assert {row["importance"]["after_response_count"] for row in default["rows"]} == {0}


@pytest.mark.parametrize("other", ["later", "unrelated", "itself", "unknown", "text"])
def test_compare_with_a_survey_that_is_not_an_earlier_wave_is_refused(analyst_client, first_wave, second_wave, other):
    unrelated = make_survey(reference="AUTRE")
    value = {
        "later": second_wave.pk,
        "unrelated": unrelated.pk,
        "itself": first_wave.pk,
        "unknown": 999999,
        "text": "deux",
    }[other]
    response = analyst_client.get(f"/api/v1/surveys/{first_wave.pk}/compare/", {"with": value})
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["with"]


def test_compare_a_first_wave_is_refused(analyst_client, first_wave):
    response = analyst_client.get(f"/api/v1/surveys/{first_wave.pk}/compare/")
    assert response.status_code == 400
    assert [(error["field"], error["code"]) for error in response.json()["errors"]] == [("with", "no_previous_wave")]


def test_compare_as_csv(analyst_client, first_wave, second_wave):
    response = analyst_client.get(f"/api/v1/surveys/{second_wave.pk}/compare/", {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    json_rows = analyst_client.get(f"/api/v1/surveys/{second_wave.pk}/compare/").json()["rows"]
    assert [(row["item"], row["audience"]) for row in rows] == [
        (row["item"], row["audience"] or "") for row in json_rows
    ]
    families = rows[1]
    assert float(families["satisfaction_difference"]) == pytest.approx(json_rows[1]["satisfaction"]["difference"])
    assert families["satisfaction_significant"] == "True"
    assert families["importance_before_response_count"] == "4"


def test_compare_figures_are_those_of_the_needs(analyst_client, first_wave, second_wave):
    """The area-wide need of each wave (its territory is the survey's) carries the same weighted mean as the
    comparison."""
    survey_needs_compute(survey=first_wave)
    survey_needs_compute(survey=second_wave)
    row = next(
        row
        for row in analyst_client.get(f"/api/v1/surveys/{second_wave.pk}/compare/").json()["rows"]
        if row["audience"] == "families"
    )
    needs = {
        need["survey"]: need
        for need in analyst_client.get("/api/v1/needs/", {"audience": "families"}).json()["results"]
        if need["survey_item"] == "creche" and need["territory"] in ("23", "departement:23")
    }
    assert needs[first_wave.pk]["importance"] == row["importance"]["before_mean"]
    assert needs[second_wave.pk]["satisfaction"] == row["satisfaction"]["after_mean"]
    assert needs[first_wave.pk]["effective_response_count"] == row["importance"]["before_effective_response_count"]


def test_compare_as_xlsx(analyst_client, first_wave, second_wave):
    response = analyst_client.get(f"/api/v1/surveys/{second_wave.pk}/compare/", {"format": "xlsx"})
    workbook = workbook_of(response)
    assert f'filename="comparaison-vagues-{second_wave.pk}-{first_wave.pk}.xlsx"' in response["Content-Disposition"]
    sheet = workbook.worksheets[0]
    assert [cell.value for cell in sheet[1]] == wave_comparison.CSV_HEADER
    json_rows = analyst_client.get(f"/api/v1/surveys/{second_wave.pk}/compare/").json()["rows"]
    records = records_of(sheet)
    assert [(record["item"], record["audience"]) for record in records] == [
        (row["item"], row["audience"]) for row in json_rows
    ]
    families = records[1]
    assert families["satisfaction_difference"] == pytest.approx(json_rows[1]["satisfaction"]["difference"])
    assert families["satisfaction_significant"] is True
    counts = [cell for cell in cells_by_header(sheet, "importance_after_response_count") if cell.value is not None]
    assert counts and all(isinstance(cell.value, int) and cell.number_format == "#,##0" for cell in counts)
