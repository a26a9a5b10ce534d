"""Text-only search through the API: inferred themes give the theme factor and show in the breakdown (issue 12)."""

import pytest

from tests.matching.factories import make_offer

SEARCH = "/api/v1/matching/search/"


@pytest.fixture
def everyday_catalogue(reference):
    return {
        "judo": make_offer(
            title="Club de judo du Grand Guéret",
            description="Cours au dojo municipal dès 4 ans, le mercredi et le samedi.",
            themes=("sport",),
        ),
        "walk": make_offer(
            title="Marche nordique avec l'association Creuse Rando",
            description="Sorties encadrées deux fois par semaine, bâtons prêtés aux débutants.",
            themes=("leisure-activity",),
        ),
        "market": make_offer(
            title="Marché hebdomadaire d'Aubusson",
            description="Chaque samedi matin : fruits, légumes, fromages et volailles des fermes voisines.",
            themes=("shops",),
        ),
        "school": make_offer(
            title="Inscriptions à l'école primaire",
            description="Inscrire son enfant à l'école du bourg : dossier à retirer en mairie.",
            themes=("schools",),
        ),
        "creche": make_offer(
            title="Micro-crèche Les P'tits Loups",
            description="Dix places pour les enfants de 3 mois à 3 ans.",
            themes=("childcare",),
        ),
    }


def search(client, text, **extra):
    response = client.post(SEARCH, {"text": text, **extra}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()["results"]


def test_breakdown_shows_the_inferred_themes_and_the_theme_factor(everyday_catalogue, anonymous_client):
    results = search(anonymous_client, "un club de judo pour ma fille")
    first = results[0]
    assert first["id"] == everyday_catalogue["judo"].id
    themes = first["breakdown"]["themes"]
    assert themes[0]["code"] == "sport" and themes[0]["label"] == "Sport"
    assert 0.4 <= themes[0]["confidence"] <= 1.0
    # The offer shares the top theme (graded factor 1), weighed by the inference's confidence c, the rest by the
    # text term: c * 1 + (1 - c) * text (the confidence is shown rounded to 3 decimals).
    confidence, text = themes[0]["confidence"], first["breakdown"]["text"]
    assert first["breakdown"]["theme"] == pytest.approx(confidence + (1 - confidence) * text, abs=1e-3)
    # Every hit shows the same request themes; an offer of another domain gets less.
    by_id = {row["id"]: row for row in results}
    assert all(row["breakdown"]["themes"] == themes for row in results)
    if everyday_catalogue["market"].id in by_id:
        assert by_id[everyday_catalogue["market"].id]["breakdown"]["theme"] < 1.0


def test_nothing_inferred_leaves_theme_null(everyday_catalogue, anonymous_client):
    results = search(anonymous_client, "xq zzkw")
    assert all(row["breakdown"]["themes"] == [] and row["breakdown"]["theme"] is None for row in results)


def test_a_given_domain_keeps_only_its_inferred_themes(everyday_catalogue, anonymous_client):
    results = search(anonymous_client, "un club de judo pour ma fille", domain="culture")
    assert all(row["breakdown"]["themes"] == [] for row in results)
    assert all(row["breakdown"]["theme"] in (0.0, 0.5) for row in results)


@pytest.mark.parametrize(
    ("text", "expected", "other"),
    [("faire son marché le samedi", "market", "walk"), ("reprendre la marche en groupe", "walk", "market")],
)
def test_accent_pair_marche_and_marché_are_different_words(
    everyday_catalogue, anonymous_client, text, expected, other
):
    ids = [row["id"] for row in search(anonymous_client, text)]
    assert ids[0] == everyday_catalogue[expected].id
    assert everyday_catalogue[other].id not in ids[:1]


RUNS = "/api/v1/matching/runs/"


def test_a_need_without_theme_is_scored_with_its_inferred_themes(everyday_catalogue, analyst_client):
    from matching.models import MatchingRun
    from tests.audiences.factories import make_need
    from tests.matching.conftest import run_chunks

    untagged = make_need(themes=(), domain="daily-life", statement="Un club de judo pour ma fille")
    tagged = make_need(themes=("childcare",), statement="Un club de judo pour ma fille")
    response = analyst_client.post(RUNS, {}, format="json")
    assert response.status_code == 202, response.json()
    run_chunks(MatchingRun.objects.get(id=response.json()["id"]))
    results = analyst_client.get(f"{RUNS}{response.json()['id']}/needs/").json()["results"]
    by_need = {row["need"]: row for row in results}
    inferred = [reason for reason in by_need[untagged.id]["reasons"] if reason["code"] == "themes-inferred"]
    assert len(inferred) == 1
    assert inferred[0]["themes"][0]["code"] == "sport" and inferred[0]["themes"][0]["confidence"] >= 0.4
    assert "Sport" in inferred[0]["message"]
    # A need filed with a theme keeps it: nothing is inferred for it.
    assert all(reason["code"] != "themes-inferred" for reason in by_need[tagged.id]["reasons"])
    detail = analyst_client.get(f"{RUNS}{response.json()['id']}/needs/{by_need[untagged.id]['id']}/").json()
    first = detail["matched_offers"][0]
    assert first["offer"] == everyday_catalogue["judo"].id and first["theme"] == 1.0
