"""Survey needs around an EPCI straddling two départements (issue 15): respondents on both sides of the border count
in one need of that EPCI, not in two needs nor in one another side overwrites."""

import pytest

from audiences.models import Need
from audiences.services import survey_responses_import
from offers.models import Territory
from offers.services import territories_load_france
from tests.audiences.factories import make_survey

pytestmark = pytest.mark.django_db

FLANDRE_LYS = "245900758"  # seat in the Nord (59), four communes in the Pas-de-Calais (62)
MERVILLE, ESTAIRES, LAVENTIE = "59400", "59212", "62491"


def test_respondents_on_both_sides_make_one_need_of_the_epci(reference):
    territories_load_france(epcis=[FLANDRE_LYS])
    survey = make_survey()
    content = (
        "respondent_id,audience,commune,item,importance,satisfaction\n"
        f"r1,families,{MERVILLE},creche,5,2\n"
        f"r2,families,{ESTAIRES},creche,4,1\n"
        f"r3,families,{LAVENTIE},creche,1,4\n"
    ).encode()
    survey_responses_import(survey=survey, content=content, filename="reponses.csv")
    needs = Need.objects.filter(source_reference__contains=survey.reference, audience__code="families")
    epci = Territory.objects.get(kind="epci", code=FLANDRE_LYS)
    # The survey's area is the EPCI itself (every respondent lives in it), so its one need holds all three answers.
    (need,) = needs.filter(statement__contains="crèche")
    assert need.territory == epci
    assert need.response_count == 3


def test_a_straddling_epci_need_counts_both_sides_beside_another_epci(reference):
    territories_load_france(epcis=[FLANDRE_LYS, "200069037"])
    survey = make_survey()
    content = (
        "respondent_id,audience,commune,item,importance,satisfaction\n"
        f"r1,families,{MERVILLE},creche,5,2\n"
        f"r2,families,{LAVENTIE},creche,1,4\n"
        "r3,families,62765,creche,3,3\n"  # Saint-Omer
    ).encode()
    survey_responses_import(survey=survey, content=content, filename="reponses.csv")
    needs = {
        need.territory.qualified_code: need.response_count
        for need in Need.objects.filter(source_reference__contains=survey.reference, statement__contains="crèche")
    }
    assert needs == {"region:32": 3, f"epci:{FLANDRE_LYS}": 2, "epci:200069037": 1}
