"""Comparing two matching runs made on two waves of one survey: needs are paired by item code x audience x
territory (not need id, which differs between waves), so compare shows how satisfaction and gap moved."""

import pytest

from audiences.models import Need, Survey
from matching import reports
from tests.audiences.factories import RESPONSES_CSV, make_survey, upload
from tests.matching.factories import make_need_result, make_report_need, make_run

# The next year's file: families rate the crèche better (satisfaction 2, 1, 4 -> 4, 3, 5).
NEXT_YEAR_CSV = (
    RESPONSES_CSV.replace("r1,families,23096,creche,5,2", "r1,families,23096,creche,5,4")
    .replace("r2,families,23002,creche,4,1", "r2,families,23002,creche,4,3")
    .replace("r3,families,23008,creche,2,4", "r3,families,23008,creche,2,5")
)


def url(run, **params):
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"/api/v1/matching/runs/{run.id}/compare/?{query}"


def survey_needs(survey: Survey) -> dict:
    needs = Need.objects.filter(survey_item__survey=survey).select_related("survey_item", "audience", "territory")
    return {
        (need.survey_item.code, need.audience.code, need.territory.code if need.territory else None): need
        for need in needs
    }


def score(run, need: Need, *, coverage: float) -> None:
    """A stored result of `need` in `run`, with the need's own figures (as the engine snapshots them)."""
    make_need_result(
        run,
        need=need,
        statement=need.statement,
        audience_code=need.audience.code,
        domain_code=need.domain.code,
        territory_path=need.territory.path if need.territory else "",
        importance=need.importance,
        satisfaction=need.satisfaction,
        coverage=coverage,
    )


@pytest.fixture
def waves(analyst_client, reference):
    first = make_survey()
    assert upload(analyst_client, first, RESPONSES_CSV).status_code == 200
    created = analyst_client.post(
        f"/api/v1/surveys/{first.pk}/waves/", {"title": "Enquête 2026", "date": "2026-03-02"}, format="json"
    )
    second = Survey.objects.get(pk=created.json()["id"])
    assert upload(analyst_client, second, NEXT_YEAR_CSV).status_code == 200
    return first, second


def test_runs_on_two_waves_pair_the_same_items(analyst_client, waves):
    first, second = waves
    before, after = survey_needs(first), survey_needs(second)
    assert set(before) == set(after) and len(before) == 9
    baseline, current = make_run(), make_run()
    for need in before.values():
        score(baseline, need, coverage=0.2)
    for key, need in after.items():
        score(current, need, coverage=0.6 if key[0] == "creche" else 0.2)
    response = analyst_client.get(url(current, baseline=baseline.id))
    assert response.status_code == 200, response.json()
    body = response.json()
    statuses = body["summary"]["statuses"]
    assert statuses["new"] == statuses["removed"] == 0
    assert sum(statuses.values()) == 9
    by_need = {need["need_id"]: need for need in body["needs"]}
    key = ("creche", "families", "23")
    paired = by_need[after[key].pk]
    assert paired["baseline_need_id"] == before[key].pk
    assert paired["satisfaction_before"] == pytest.approx(before[key].satisfaction, abs=1e-4)
    assert paired["satisfaction_after"] == pytest.approx(after[key].satisfaction, abs=1e-4)
    assert paired["satisfaction_after"] > paired["satisfaction_before"]
    assert paired["gap_before"] == pytest.approx(before[key].importance * 0.8, abs=1e-4)
    assert paired["gap_after"] == pytest.approx(after[key].importance * 0.4, abs=1e-4)
    # The Grand Guéret need pairs with its own EPCI, not with the whole area's.
    epci = by_need[after[("creche", "families", "200034825")].pk]
    assert epci["baseline_need_id"] == before[("creche", "families", "200034825")].pk
    # emploi did not move: same gap in both waves.
    emploi = by_need[after[("emploi", "families", "23")].pk]
    assert (emploi["status"], emploi["baseline_need_id"]) == ("unchanged", before[("emploi", "families", "23")].pk)

    lines = b"".join(analyst_client.get(url(current, baseline=baseline.id, format="csv")).streaming_content)
    header = lines.decode("utf-8-sig").splitlines()[0].split(",")
    assert "Satisfaction avant" in header and "Identifiant du besoin de référence" in header


def test_only_waves_of_one_chain_and_single_candidates_are_paired(analyst_client, waves):
    first, second = waves
    other = make_survey(reference="AUTRE")  # same item codes, another survey: not a wave of the first
    assert upload(analyst_client, other, RESPONSES_CSV).status_code == 200
    key = ("creche", "families", "23")
    hand_made = make_report_need(statement="Atelier logement")
    baseline, current = make_run(), make_run()
    score(baseline, survey_needs(first)[key], coverage=0.2)
    score(baseline, hand_made, coverage=0.2)
    score(current, survey_needs(other)[key], coverage=0.2)
    score(current, hand_made, coverage=0.4)
    body = analyst_client.get(url(current, baseline=baseline.id)).json()
    statuses = {need["statement"]: need["status"] for need in body["needs"]}
    assert body["summary"]["statuses"]["new"] == 1 and body["summary"]["statuses"]["removed"] == 1
    assert statuses["Atelier logement"] == "shrank"
    hand = next(need for need in body["needs"] if need["statement"] == "Atelier logement")
    assert hand["baseline_need_id"] == hand_made.pk

    # A run that scored both waves: the first wave's need pairs with itself, the second's is new.
    both = make_run()
    score(both, survey_needs(first)[key], coverage=0.2)
    score(both, survey_needs(second)[key], coverage=0.6)
    body = analyst_client.get(url(both, baseline=baseline.id)).json()
    by_need = {need["need_id"]: need for need in body["needs"]}
    assert by_need[survey_needs(first)[key].pk]["status"] == "unchanged"
    assert by_need[survey_needs(second)[key].pk]["status"] == "new"


def test_compare_pairs_by_need_then_by_single_wave_key():
    after = [
        {"need_id": 1, "wave_key": None},
        {"need_id": 20, "wave_key": "7:creche:1:"},
        {"need_id": 21, "wave_key": "7:emploi:1:"},
        {"need_id": 22, "wave_key": "7:emploi:1:"},
        {"need_id": 23, "wave_key": "7:sante:1:"},
    ]
    before = [
        {"need_id": 1, "wave_key": None},
        {"need_id": 10, "wave_key": "7:creche:1:"},
        {"need_id": 11, "wave_key": "7:emploi:1:"},
        {"need_id": 12, "wave_key": "7:logement:1:"},
    ]
    pairs = [
        (a["need_id"] if a else None, b["need_id"] if b else None) for a, b in reports.compare_pairs(after, before)
    ]
    # emploi has two candidates in the run: not paired (which one would be a guess).
    assert pairs == [(1, 1), (20, 10), (21, None), (22, None), (23, None), (None, 11), (None, 12)]
