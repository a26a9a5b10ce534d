"""Which words of a need matched an offer: the pure function, and where a reader sees them (search breakdown, run
results through the engine, the HTML report)."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import translation

from matching.matched_words import matched_words, word_matches
from matching.models import MatchedOffer, NeedResult
from tests.matching.factories import make_need_result, make_offer, make_report_need, make_run

REPO = Path(__file__).resolve().parents[2]
CRECHE = (
    "Micro-crèche de l'hôpital . Garde d'enfants de 10 semaines à 3 ans . Garde d'enfants . crèche multi-accueil "
    "assistante maternelle nounou"
)


def test_the_module_does_not_import_django():
    code = "import sys, matching.matched_words; assert 'django' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


@pytest.mark.parametrize(
    ("statement", "document", "expected"),
    [
        # Same folded word: accents and case do not matter; the need's spelling is kept.
        ("Une CRÈCHE à Guéret", "creche municipale", [("CRÈCHE", "creche", "exact")]),
        # Shared stem: inflections and derived forms.
        ("garder mes enfants", CRECHE, [("garder", "garde", "stem"), ("enfants", "enfants", "exact")]),
        ("un médecin", "Médecins généralistes", [("médecin", "medecins", "stem")]),
        ("petite enfance", "garde des enfants", [("enfance", "enfants", "stem")]),
        ("logement", "se loger chez l'habitant", [("logement", "loger", "stem")]),
        # Strong character n-gram overlap: the same word written as one or two.
        ("vendre en ecommerce", "boutique de commerce en ligne", [("ecommerce", "commerce", "ngram")]),
    ],
)
def test_word_matches(statement, document, expected):
    assert [(m.word, m.offer_word, m.kind) for m in word_matches(statement, document)] == expected


def test_stop_words_short_prefixes_and_unrelated_words_do_not_match():
    # "je", "cherche", "une", "pour", "le" are stop words; "garage" and "garde" share only "gar".
    assert matched_words("je cherche une place pour le garage", "garde d'enfants, une place pour le bébé") == ["place"]
    assert matched_words("montagne", "le mont") == ["montagne"]  # four shared letters of a four-letter word
    assert matched_words("parents", "parking gratuit") == []  # "par" is too short a stem
    assert matched_words("", CRECHE) == [] and matched_words("crèche", "") == [] and matched_words(None, None) == []


def test_each_word_once_in_the_statement_order():
    words = matched_words("Crèche, crèche et enfants : une crèche pour nos enfants", CRECHE)
    assert words == ["Crèche", "enfants"]


@pytest.mark.django_db
def test_search_breakdown_gives_the_matched_words(reference, anonymous_client):
    creche = make_offer(
        title="Crèche multi-accueil Les Petits Loups",
        description="Garde d'enfants de 3 mois à 4 ans.",
        themes=("childcare",),
    )
    make_offer(title="Piscine municipale", description="Leçons de natation.", themes=("sport",))
    body = anonymous_client.post(
        "/api/v1/matching/search/", {"text": "faire garder mes enfants en crèche"}, format="json"
    ).json()
    first = body["results"][0]
    assert first["id"] == creche.id
    assert first["breakdown"]["matched_words"] == ["garder", "enfants", "crèche"]


@pytest.mark.django_db
@pytest.mark.i18n
def test_html_report_shows_the_words_in_common(reference, analyst_client):
    run = make_run()
    need = make_report_need(statement="Trouver une crèche")
    result = make_need_result(run, need=need, statement="Trouver une crèche", importance=0.9, coverage=0.2,
                              recommendation="adjust")  # fmt: skip
    offer = make_offer(title="Crèche de Guéret", description="Garde d'enfants", themes=("childcare",))
    NeedResult.objects.filter(id=result.id).update(reasons=[{"code": "distance", "offers": [offer.id]}])
    MatchedOffer.objects.create(result=result, offer=offer, offer_title=offer.title, rank=1, score=0.35,
                                relevance=0.8, text=0.5, theme=1, audience=1, geography=0.4, availability=1,
                                capacity=1, distance_km=31.6, matched_words=["crèche", "<b>"])  # fmt: skip
    url = f"/api/v1/matching/runs/{run.id}/report/?format=html"
    html = analyst_client.get(url).content.decode()
    assert "mots en commun : crèche, &lt;b&gt;" in html
    with translation.override("en"):
        html = analyst_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "words in common: crèche, &lt;b&gt;" in html
