"""Coverage means "how much of this need the territory serves", measured through real runs (run_start, then the
worker's chunk service): served in place >= 0.8, nothing relevant = 0, only far away or only for others in between
with the reason that says why."""

import pytest
from django.contrib.auth.models import User
from django.utils import translation

from matching import services
from matching.labels import reason_message
from matching.models import NeedResult, RunStatus
from matching.scoring import MatchingParameters
from tests.audiences.factories import make_need
from tests.conftest import make_user
from tests.matching.conftest import run_chunks
from tests.matching.factories import make_offer

pytestmark = pytest.mark.django_db

RUNS = "/api/v1/matching/runs/"


def _run():
    user = User.objects.filter(username="calibration").first() or make_user("calibration", analyst=True)
    run = services.run_start(launched_by=user)
    run_chunks(run)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    return run


@pytest.fixture
def situations(reference):
    """A crèche open to all in Guéret, a health centre in Guéret only, a young workers' hostel in Guéret (reserved
    for them), a pool (unrelated to every need below)."""
    offers = {
        "creche": make_offer(
            title="Crèche multi-accueil Les Petits Loups",
            description="Crèche municipale : garde d'enfants de 10 semaines à 4 ans, accueil régulier et occasionnel.",
            themes=("childcare",),
            commune="23096",
        ),
        "health": make_offer(
            title="Maison de santé pluridisciplinaire de Guéret",
            description="Médecins généralistes et infirmiers : consultations de médecine générale.",
            themes=("health-care",),
            commune="23096",
        ),
        "reserved": make_offer(
            title="Foyer de jeunes travailleurs de Guéret",
            description="Studios meublés pour jeunes travailleurs et apprentis de 16 à 30 ans, séjours temporaires.",
            themes=("temporary-housing",),
            commune="23096",
            audiences=("young-workers",),
        ),
        "pool": make_offer(
            title="Piscine municipale",
            description="Bassin couvert et leçons de natation.",
            themes=("sport",),
            commune="23096",
        ),
    }
    needs = {
        "served": make_need(
            statement="Une place en crèche à Guéret",
            themes=("childcare",),
            territory="23096",
            importance=0.9,
        ),
        "served_epci": make_need(
            statement="Faire garder notre bébé dans l'agglomération",
            themes=("childcare",),
            territory="200034825",
            importance=0.9,
        ),
        "nothing": make_need(
            statement="Reprendre une boulangerie à céder dans un bourg",
            themes=("business-takeover",),
            audience="entrepreneurs",
            territory="23096",
            importance=0.7,
        ),
        "far": make_need(
            statement="Consulter un médecin généraliste près de chez moi",
            themes=("health-care",),
            territory="23030",  # Bourganeuf, about 30 km from Guéret
            importance=0.9,
        ),
        "other_audience": make_need(
            statement="Un logement meublé temporaire le temps de trouver une maison",
            themes=("temporary-housing",),
            audience="workers",
            territory="23096",
            importance=0.8,
        ),
    }
    return offers, needs


def _results(run, needs):
    by_need = {result.need_id: result for result in NeedResult.objects.filter(run=run)}
    return {name: by_need[need.id] for name, need in needs.items()}


def test_a_need_served_in_place_is_covered(situations):
    offers, needs = situations
    results = _results(_run(), needs)
    for name in ("served", "served_epci"):
        served = results[name]
        assert served.coverage >= 0.8, (name, served.coverage)
        assert served.gap == pytest.approx(0.9 * (1 - served.coverage)) and served.gap <= 0.18
        assert served.recommendation == "maintain"
        assert served.reasons[0]["code"] == "covered" and served.reasons[0]["offers"] == [offers["creche"].id]
    # A served need leaves a smaller gap than one only served far away, whatever its importance.
    assert results["served"].gap < results["far"].gap


def test_nothing_relevant_is_zero_and_create(situations):
    _offers, needs = situations
    nothing = _results(_run(), needs)["nothing"]
    assert nothing.coverage == 0.0 and nothing.gap == pytest.approx(0.7)
    assert nothing.recommendation == "create"
    assert nothing.reasons[0]["code"] == "no-relevant-offer"


def test_served_only_far_away_is_in_between_with_the_geography_reason(situations):
    offers, needs = situations
    far = _results(_run(), needs)["far"]
    threshold = MatchingParameters().coverage_threshold
    assert 0.0 < far.coverage < threshold
    assert far.recommendation == "adjust"
    assert far.reasons[0]["code"] == "distance" and far.reasons[0]["offers"] == [offers["health"].id]
    assert "too far" in reason_message(far.reasons[0])
    with translation.override("fr"):
        assert "trop loin" in reason_message(far.reasons[0])


def test_served_only_for_another_audience_is_in_between_with_the_audience_reason(situations):
    offers, needs = situations
    other = _results(_run(), needs)["other_audience"]
    threshold = MatchingParameters().coverage_threshold
    assert 0.0 < other.coverage < threshold
    assert other.recommendation == "adjust"
    assert other.reasons[0]["code"] == "audience" and other.reasons[0]["offers"][0] == offers["reserved"].id
    with translation.override("fr"):
        assert "réservée(s) à d'autres publics" in reason_message(other.reasons[0])


def test_the_scale_orders_the_situations(situations):
    """Served in place > only for others or only far away > nothing: the reader can trust the order."""
    _offers, needs = situations
    results = _results(_run(), needs)
    assert results["served"].coverage > results["far"].coverage > results["nothing"].coverage
    assert results["served"].coverage > results["other_audience"].coverage > results["nothing"].coverage


def test_results_api_shows_the_calibrated_coverage_and_the_matched_words(situations, analyst_client):
    offers, needs = situations
    run = _run()
    served = NeedResult.objects.get(run=run, need=needs["served"])
    body = analyst_client.get(f"{RUNS}{run.id}/needs/{served.id}/", HTTP_ACCEPT_LANGUAGE="fr").json()
    assert body["coverage"] >= 0.8 and body["recommendation"] == "maintain"
    creche = next(row for row in body["matched_offers"] if row["offer"] == offers["creche"].id)
    assert "crèche" in creche["matched_words"]
    assert run.algorithm_version == "2.0.0"
