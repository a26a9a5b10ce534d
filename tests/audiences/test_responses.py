"""Survey response uploads: aggregation figures checked by hand, bad files refused whole, idempotent re-uploads.

Hand computations (scale 1-5, normalised (x - 1) / 4; t(0.975, 1) = 12.706205; top-2-box = scores 4 and 5):
  crèche, families, whole area (d23): importance 5, 4, 2 -> 1, .75, .25 -> mean .666667, n 3, top-2 2;
      sd .381881, half-width 4.302653 * .381881 / sqrt(3) = .948643 -> CI clipped [0, 1];
      satisfaction 2, 1, 4 -> .25, 0, .75 -> mean .333333, n 3.
  crèche, families, Grand Guéret (r1, r2): importance 1, .75 -> .875, n 2, top-2 2, CI [0, 1];
      satisfaction .25, 0 -> .125.
  crèche, families, Creuse Grand Sud (r3): importance .25, n 1, top-2 0, no CI; satisfaction .75, n 1.
  crèche, retirees, whole area (r4, r5): importance .5, 1 -> .75, top-2 1; satisfaction (r5 only) .5, n 1, no CI.
  crèche, retirees, Creuse Sud Ouest (r4): importance .5, n 1; no satisfaction answer -> null, count 0.
  emploi (importance only), families, area and Grand Guéret: 3, 5 -> .5, 1 -> .75, n 2, top-2 1; r3 gave no
      answer, so Creuse Grand Sud has no emploi need. Retirees area: 1, 4 -> 0, .75 -> .375, top-2 1;
      retirees Creuse Sud Ouest: 1 -> 0, n 1.
  = 9 needs.
"""

import math

import numpy as np
import pytest
from scipy import stats

from audiences.models import Need, SurveyResponse
from audiences.services import survey_needs_compute
from offers.models import Territory
from tests.audiences.factories import CORRECTED_CSV, RESPONSES_CSV, make_survey, upload

GRAND_GUERET, CREUSE_GRAND_SUD, CREUSE_SUD_OUEST = "200034825", "200044014", "200067189"


def needs_by_group(survey) -> dict:
    needs = Need.objects.filter(survey_item__survey=survey).select_related("survey_item", "audience", "territory")
    return {
        (need.survey_item.code, need.audience.code, need.territory.code if need.territory else None): need
        for need in needs
    }


@pytest.fixture
def survey(reference):
    return make_survey()


def test_upload_computes_needs_per_audience_and_epci(analyst_client, survey):
    response = upload(analyst_client, survey, RESPONSES_CSV)
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "rows": 10,
        "responses_created": 10,
        "responses_updated": 0,
        "responses_unchanged": 0,
        "needs_created": 9,
        "needs_updated": 0,
        "needs_unchanged": 0,
        "needs_deleted": 0,
    }
    groups = needs_by_group(survey)
    assert set(groups) == {
        ("creche", "families", "23"),
        ("creche", "families", GRAND_GUERET),
        ("creche", "families", CREUSE_GRAND_SUD),
        ("creche", "retirees", "23"),
        ("creche", "retirees", CREUSE_SUD_OUEST),
        ("emploi", "families", "23"),
        ("emploi", "families", GRAND_GUERET),
        ("emploi", "retirees", "23"),
        ("emploi", "retirees", CREUSE_SUD_OUEST),
    }

    def figures(key):
        need = groups[key]
        return (
            need.importance,
            need.response_count,
            need.demand_volume,
            need.importance_ci_low,
            need.importance_ci_high,
            need.satisfaction,
            need.satisfaction_response_count,
            need.satisfaction_ci_low,
            need.satisfaction_ci_high,
        )

    approx = pytest.approx
    assert figures(("creche", "families", "23")) == (approx(0.666667), 3, 2, 0.0, 1.0, approx(0.333333), 3, 0.0, 1.0)
    assert figures(("creche", "families", GRAND_GUERET)) == (0.875, 2, 2, 0.0, 1.0, 0.125, 2, 0.0, 1.0)
    assert figures(("creche", "families", CREUSE_GRAND_SUD)) == (0.25, 1, 0, None, None, 0.75, 1, None, None)
    assert figures(("creche", "retirees", "23")) == (0.75, 2, 1, 0.0, 1.0, 0.5, 1, None, None)
    assert figures(("creche", "retirees", CREUSE_SUD_OUEST)) == (0.5, 1, 0, None, None, None, 0, None, None)
    assert figures(("emploi", "families", "23")) == (0.75, 2, 1, 0.0, 1.0, None, 0, None, None)
    assert figures(("emploi", "families", GRAND_GUERET)) == (0.75, 2, 1, 0.0, 1.0, None, 0, None, None)
    assert figures(("emploi", "retirees", "23")) == (0.375, 2, 1, 0.0, 1.0, None, 0, None, None)
    assert figures(("emploi", "retirees", CREUSE_SUD_OUEST)) == (0.0, 1, 0, None, None, None, 0, None, None)

    need = groups[("creche", "families", "23")]
    assert need.territory.kind == "departement"
    assert (need.source, need.source_reference, str(need.source_date)) == (
        "survey",
        "Enquête besoins des habitants (ENQ-2025)",
        "2025-03-01",
    )
    assert need.stage == "welcome" and need.domain.code == "daily-life"
    assert [theme.code for theme in need.themes.all()] == ["childcare"]
    assert groups[("emploi", "retirees", "23")].stage == "attract"


def test_unclipped_confidence_interval_on_a_larger_group(analyst_client, reference):
    # six families in Guéret rate the crèche 2, 3, 3, 4, 3, 3 -> .25, .5, .5, .75, .5, .5: mean .5, sd .158114,
    # half-width 2.570582 * .158114 / sqrt(6) = .165930 -> [.334070, .665930]; top-2-box 1.
    survey = make_survey(audiences=("families",))
    lines = ["respondent_id,commune,item,importance"] + [
        f"f{index},23096,creche,{score}" for index, score in enumerate([2, 3, 3, 4, 3, 3])
    ]
    assert upload(analyst_client, survey, "\n".join(lines)).status_code == 200
    need = needs_by_group(survey)[("creche", "families", "23096")]
    assert (need.importance, need.response_count, need.demand_volume) == (0.5, 6, 1)
    assert need.importance_ci_low == pytest.approx(0.334070, abs=1e-6)
    assert need.importance_ci_high == pytest.approx(0.665930, abs=1e-6)
    # Every respondent in one commune: the area is that commune, and its EPCI gets the same figures.
    epci_need = needs_by_group(survey)[("creche", "families", GRAND_GUERET)]
    assert epci_need.importance == 0.5


def test_responses_without_communes_give_one_need_for_the_whole_area(analyst_client, reference):
    survey = make_survey(audiences=("families",))
    text = "repondant;question;importance;satisfaction\na;creche;5;1\nb;creche;1;\n"
    assert upload(analyst_client, survey, text).status_code == 200
    groups = needs_by_group(survey)
    assert list(groups) == [("creche", "families", None)]
    assert groups[("creche", "families", None)].importance == 0.5


def test_same_file_twice_is_idempotent(analyst_client, survey):
    upload(analyst_client, survey, RESPONSES_CSV)
    before = {key: (need.pk, need.updated_at) for key, need in needs_by_group(survey).items()}
    response = upload(analyst_client, survey, RESPONSES_CSV)
    assert response.status_code == 200
    report = response.json()
    assert (report["responses_created"], report["responses_updated"], report["responses_unchanged"]) == (0, 0, 10)
    assert (report["needs_created"], report["needs_updated"], report["needs_unchanged"], report["needs_deleted"]) == (
        0,
        0,
        9,
        0,
    )
    assert {key: (need.pk, need.updated_at) for key, need in needs_by_group(survey).items()} == before
    assert SurveyResponse.objects.filter(item__survey=survey).count() == 10


def test_corrected_file_updates_responses_and_needs(analyst_client, survey):
    upload(analyst_client, survey, RESPONSES_CSV)
    response = upload(analyst_client, survey, CORRECTED_CSV)
    assert response.status_code == 200, response.json()
    report = response.json()
    # r3 crèche, r4 crèche (commune), r4 emploi, r5 crèche and emploi (commune).
    assert (report["responses_created"], report["responses_updated"], report["responses_unchanged"]) == (0, 5, 5)
    # Updated: crèche families area and Creuse Grand Sud, emploi retirees area; created: retirees in Creuse Grand
    # Sud (crèche, emploi); deleted: retirees in Creuse Sud Ouest (nobody left there).
    assert (report["needs_created"], report["needs_updated"], report["needs_unchanged"], report["needs_deleted"]) == (
        2,
        3,
        4,
        2,
    )
    groups = needs_by_group(survey)
    assert len(groups) == 9
    # crèche families area: 5, 4, 4 -> 1, .75, .75 = .833333, top-2 3.
    need = groups[("creche", "families", "23")]
    assert (need.importance, need.demand_volume) == (pytest.approx(0.833333), 3)
    # emploi retirees area: 2, 4 -> .25, .75 = .5; Creuse Grand Sud retirees: crèche 3, 5 -> .75.
    assert groups[("emploi", "retirees", "23")].importance == 0.5
    assert groups[("creche", "retirees", CREUSE_GRAND_SUD)].importance == 0.75
    assert ("creche", "retirees", CREUSE_SUD_OUEST) not in groups


BAD_CSV = """respondent_id,audience,commune,item,importance,satisfaction
r1,families,23096,creche,6,2
r1,families,23096,unknown,3,
r2,aliens,23002,creche,4,1
r3,families,99999,creche,2,4
r4,retirees,23001,creche,abc,
r1,retirees,23096,emploi,3,
r1,families,23096,creche,4,2
r6,families,23096,emploi,3,4
r7,families,23096,creche,3.5,1
,families,23096,creche,3,1
r8,,23096,creche,3,1
r10,families,23096,creche,3,1
r10,families,23002,emploi,3,
r11,families,23096,creche,5,5
"""


def test_bad_file_lists_every_bad_line_and_writes_nothing(analyst_client, survey):
    response = upload(analyst_client, survey, BAD_CSV)
    assert response.status_code == 400
    body = response.json()
    assert "nothing was written" in body["message"]
    assert [(error["line"], error["field"], error["code"]) for error in body["errors"]] == [
        (2, "importance", "out_of_scale"),
        (3, "item", "unknown_item"),
        (4, "audience", "unknown_audience"),
        (5, "commune", "unknown_commune"),
        (6, "importance", "not_integer"),
        (7, "audience", "inconsistent"),
        (8, "item", "duplicate"),
        (9, "satisfaction", "not_measured"),
        (10, "importance", "not_integer"),
        (11, "respondent_id", "required"),
        (12, "audience", "required"),
        (14, "commune", "inconsistent"),
    ]
    assert "line 2" in body["errors"][6]["message"]
    assert SurveyResponse.objects.count() == 0
    assert Need.objects.count() == 0


def test_bad_file_after_a_good_one_changes_nothing(analyst_client, survey):
    upload(analyst_client, survey, RESPONSES_CSV)
    before = sorted(SurveyResponse.objects.values_list("respondent_id", "item__code", "importance", "satisfaction"))
    needs_before = sorted(Need.objects.values_list("pk", "importance", "updated_at"))
    assert (
        upload(
            analyst_client, survey, RESPONSES_CSV.replace("r5,retirees,,creche,5,3", "r5,retirees,,creche,9,3")
        ).status_code
        == 400
    )
    assert (
        sorted(SurveyResponse.objects.values_list("respondent_id", "item__code", "importance", "satisfaction"))
        == before
    )
    assert sorted(Need.objects.values_list("pk", "importance", "updated_at")) == needs_before


def test_communes_outside_the_survey_territory_are_refused_by_line_and_nothing_is_written(analyst_client, survey):
    """The survey covers Grand Guéret: r3 answers from Aubusson (Creuse Grand Sud), r4 from Ahun (Creuse Sud Ouest)."""
    survey.territory = Territory.objects.get(code=GRAND_GUERET)
    survey.save()
    response = upload(analyst_client, survey, RESPONSES_CSV)
    assert response.status_code == 400, response.json()
    body = response.json()
    assert "nothing was written" in body["message"]
    assert [(error["line"], error["field"], error["code"], error["message"]) for error in body["errors"]] == [
        (
            line,
            "commune",
            "outside_territory",
            f"commune {code} ({name}) is not in the survey's territory, Communauté d'agglomération du Grand Guéret",
        )
        for line, code, name in [
            (6, "23008", "Aubusson"),
            (7, "23008", "Aubusson"),
            (8, "23001", "Ahun"),
            (9, "23001", "Ahun"),
        ]
    ]
    assert SurveyResponse.objects.count() == 0
    assert Need.objects.count() == 0
    # The respondents of the territory alone are accepted.
    inside = "\n".join(line for line in RESPONSES_CSV.splitlines() if not line.startswith(("r3,", "r4,")))
    assert upload(analyst_client, survey, inside).status_code == 200
    assert SurveyResponse.objects.count() == 6


def test_structural_problems(analyst_client, survey):
    missing_item = upload(analyst_client, survey, "respondent_id,importance\nr1,3\n")
    assert missing_item.status_code == 400
    assert missing_item.json()["errors"][0]["field"] == "item"
    no_file = analyst_client.post(f"/api/v1/surveys/{survey.pk}/responses/", {}, format="multipart")
    assert no_file.status_code == 400
    assert no_file.json()["errors"][0]["field"] == "file"
    assert SurveyResponse.objects.count() == 0


def test_survey_targeting_one_audience_defaults_it(analyst_client, reference):
    survey = make_survey(audiences=("families",))
    text = "respondent_id,item,importance\na,creche,5\nb,creche,4\nc,creche,3\n"
    assert upload(analyst_client, survey, text).status_code == 200
    assert set(SurveyResponse.objects.values_list("audience__code", flat=True)) == {"families"}
    # an audience the survey does not target is refused
    bad = upload(analyst_client, survey, "respondent_id,audience,item,importance\nd,retirees,creche,5\n")
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["code"] == "unknown_audience"


def test_upload_to_an_unknown_survey_is_404(analyst_client, reference):
    assert upload(analyst_client, type("S", (), {"pk": 999999})(), RESPONSES_CSV).status_code == 404


def test_weighted_needs_checked_against_numpy(analyst_client, survey):
    """Weights r1 = 2, r2 = .5, r3 = 1.5 (families); r4 = 1, r5 = 3 (retirees). crèche, families, whole area:
    importance 5, 4, 2 -> 1, .75, .25; Σw = 4, n_eff = 16 / 6.5 = 2.461538; top-2-box 2 + .5 = 2.5 -> volume 3."""
    assert upload(analyst_client, survey, RESPONSES_CSV).status_code == 200
    weights = {"r1": 2.0, "r2": 0.5, "r3": 1.5, "r4": 1.0, "r5": 3.0}
    for respondent, weight in weights.items():
        SurveyResponse.objects.filter(respondent_id=respondent).update(weight=weight)
    survey_needs_compute(survey=survey)
    groups = needs_by_group(survey)

    need = groups[("creche", "families", "23")]
    values, w = np.array([1.0, 0.75, 0.25]), np.array([2.0, 0.5, 1.5])
    mean, n_eff = np.average(values, weights=w), w.sum() ** 2 / np.square(w).sum()
    half_width = stats.t.ppf(0.975, n_eff - 1) * math.sqrt(np.cov(values, aweights=w, ddof=1)) / math.sqrt(n_eff)
    assert need.importance == pytest.approx(mean, abs=1e-6)
    assert (need.response_count, need.weighted_response_count) == (3, 4.0)
    assert need.effective_response_count == pytest.approx(2.461538, abs=1e-6)
    assert need.importance_ci_low == pytest.approx(max(0.0, mean - half_width), abs=1e-6)
    assert need.importance_ci_high == pytest.approx(min(1.0, mean + half_width), abs=1e-6)
    assert need.demand_volume == 3
    # satisfaction 2, 1, 4 -> .25, 0, .75 with the same weights
    assert need.satisfaction == pytest.approx(np.average([0.25, 0.0, 0.75], weights=w), abs=1e-6)
    assert need.satisfaction_effective_response_count == pytest.approx(2.461538, abs=1e-6)

    # Grand Guéret: r1 and r2 only, 5 and 4 -> (2 x 1 + .5 x .75) / 2.5 = .95; top-2-box 2.5 -> 3.
    epci = groups[("creche", "families", GRAND_GUERET)]
    assert (epci.importance, epci.weighted_response_count, epci.demand_volume) == (pytest.approx(0.95), 2.5, 3)
    # Retirees, whole area: r4 (3 -> .5, w 1), r5 (5 -> 1, w 3): mean .875; top-2-box r5 only: 3.
    retirees = groups[("creche", "retirees", "23")]
    assert (retirees.importance, retirees.demand_volume) == (pytest.approx(0.875), 3)
    assert retirees.effective_response_count == pytest.approx(16 / 10)


def test_each_measure_is_normalised_on_its_item_scale(analyst_client, survey):
    assert upload(analyst_client, survey, RESPONSES_CSV).status_code == 200
    # The crèche satisfaction was asked on 0-10 (as a wide file's mapping would set it): 2, 1, 4 -> .2, .1, .4.
    survey.items.filter(code="creche").update(satisfaction_scale_min=0, satisfaction_scale_max=10)
    survey_needs_compute(survey=survey)
    need = needs_by_group(survey)[("creche", "families", "23")]
    assert need.satisfaction == pytest.approx(0.233333, abs=1e-6)
    assert need.importance == pytest.approx(0.666667, abs=1e-6)  # importance stays on the survey's 1-5


def test_scores_are_checked_on_the_item_scale(analyst_client, survey):
    survey.items.filter(code="creche").update(satisfaction_scale_min=0, satisfaction_scale_max=10)
    ok = "respondent_id,audience,item,importance,satisfaction\nr1,families,creche,5,0\nr2,families,creche,4,10\n"
    assert upload(analyst_client, survey, ok).status_code == 200
    assert needs_by_group(survey)[("creche", "families", None)].satisfaction == pytest.approx(0.5)
    bad = "respondent_id,audience,item,importance,satisfaction\nr3,families,creche,0,11\n"
    response = upload(analyst_client, survey, bad)
    assert response.status_code == 400
    assert [(error["field"], error["message"]) for error in response.json()["errors"]] == [
        ("importance", "0 is outside the 1-5 scale"),
        ("satisfaction", "11 is outside the 0-10 scale"),
    ]
