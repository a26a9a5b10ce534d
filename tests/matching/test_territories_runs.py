"""Any French territory, end to end through the API (issue 15): a slice of Hauts-de-France loaded from the
repository's geography files (`territories_load_france`): the Pays de Saint-Omer agglomeration (62) and CC Flandre
Lys, which straddles the Nord (59, its seat) and the Pas-de-Calais (62). Offers and needs there, matching runs scoped
to an EPCI and to a custom territory of both EPCIs, their reports by commune, EPCI and département, and the
straddling EPCI's filters."""

import pytest

from matching.models import MatchingRun, NeedResult, RunStatus
from offers.models import Territory
from offers.services import territories_load_france
from tests.audiences.factories import make_need
from tests.matching.conftest import run_chunks
from tests.matching.factories import make_offer

pytestmark = pytest.mark.django_db

SAINT_OMER_EPCI, FLANDRE_LYS = "200069037", "245900758"
SAINT_OMER, ARQUES = "62765", "62040"  # Pays de Saint-Omer, Pas-de-Calais
MERVILLE = "59400"  # Flandre Lys, Nord side
LAVENTIE = "62491"  # Flandre Lys, Pas-de-Calais side
RUNS = "/api/v1/matching/runs/"


@pytest.fixture
def hauts_de_france(reference):
    """The two EPCIs, their 61 communes, départements 59 and 62 and the région, with populations and centroids."""
    territories_load_france(epcis=[SAINT_OMER_EPCI, FLANDRE_LYS])


@pytest.fixture
def slice_catalogue(hauts_de_france):
    """Childcare and health offers on both sides of the straddling EPCI and in Saint-Omer; one in the Creuse."""
    return {
        "creche_saint_omer": make_offer(
            title="Multi-accueil petite enfance de Saint-Omer",
            description="Crèche et halte-garderie pour les enfants de 10 semaines à 4 ans.",
            themes=("childcare",),
            commune=SAINT_OMER,
        ),
        "creche_merville": make_offer(
            title="Crèche intercommunale de Merville",
            description="Crèche et accueil des jeunes enfants de la Flandre Lys.",
            themes=("childcare",),
            commune=MERVILLE,
        ),
        "sante_laventie": make_offer(
            title="Maison de santé de Laventie",
            description="Médecins généralistes et infirmiers : consultations de médecine générale.",
            themes=("health-care",),
            commune=LAVENTIE,
        ),
        "creche_gueret": make_offer(
            title="Crèche de Guéret",
            description="Crèche et accueil des jeunes enfants.",
            themes=("childcare",),
            commune="23096",
        ),
    }


@pytest.fixture
def slice_needs(slice_catalogue):
    return {
        "saint_omer": make_need(statement="Trouver une place en crèche à Saint-Omer", territory=SAINT_OMER),
        "arques": make_need(
            statement="Consulter un médecin généraliste à Arques", themes=("health-care",), territory=ARQUES
        ),
        "epci": make_need(statement="Des places de crèche dans l'agglomération", territory=SAINT_OMER_EPCI),
        "laventie": make_need(
            statement="Consulter un médecin généraliste à Laventie", themes=("health-care",), territory=LAVENTIE
        ),
        "merville": make_need(statement="Trouver une place en crèche à Merville", territory=MERVILLE),
        "gueret": make_need(statement="Trouver une place en crèche à Guéret", territory="23096"),
    }


def _run(client, **body) -> MatchingRun:
    response = client.post(RUNS, body, format="json")
    assert response.status_code == 202, response.json()
    run = MatchingRun.objects.get(id=response.json()["id"])
    run_chunks(run)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    return run


def _report(client, run, **params) -> dict:
    response = client.get(f"{RUNS}{run.id}/report/", {"group_by": "territory", **params})
    assert response.status_code == 200, response.json()
    return response.json()


def _groups(report) -> dict[str, dict]:
    return {group["dimensions"][0]["code"]: group for group in report["groups"]}


def _top_offer(run, need) -> tuple[int, float]:
    result = NeedResult.objects.get(run=run, need=need)
    best = result.matched_offers.order_by("rank").first()
    return best.offer_id, best.geography


def test_run_scoped_to_an_epci_of_hauts_de_france(analyst_client, slice_catalogue, slice_needs):
    run = _run(analyst_client, scope_territory=SAINT_OMER_EPCI)
    needs = set(NeedResult.objects.filter(run=run).values_list("need_id", flat=True))
    assert needs == {slice_needs[key].id for key in ("saint_omer", "arques", "epci")}
    # The crèche in Saint-Omer is the best answer for the agglomeration's crèche need, inside its area.
    assert _top_offer(run, slice_needs["epci"]) == (slice_catalogue["creche_saint_omer"].id, 1.0)

    by_commune = _groups(_report(analyst_client, run, territory_level="commune"))
    assert set(by_commune) == {f"commune:{SAINT_OMER}", f"commune:{ARQUES}", f"epci:{SAINT_OMER_EPCI}"}
    assert by_commune[f"commune:{SAINT_OMER}"]["dimensions"][0]["label"] == "Saint-Omer"
    assert by_commune[f"epci:{SAINT_OMER_EPCI}"]["dimensions"][0]["label"].endswith("(toute l'intercommunalité)")
    saint_omer = by_commune[f"commune:{SAINT_OMER}"]
    assert saint_omer["population"] == Territory.objects.get(code=SAINT_OMER).population > 10_000
    assert saint_omer["offer_count"] == 1
    assert saint_omer["offers_per_10000"] == pytest.approx(10_000 / saint_omer["population"], abs=1e-4)

    by_epci = _report(analyst_client, run, territory_level="epci")
    (epci,) = by_epci["groups"]
    assert epci["dimensions"][0]["code"] == f"epci:{SAINT_OMER_EPCI}" and epci["need_count"] == 3
    assert epci["population"] == Territory.objects.get(code=SAINT_OMER_EPCI).population
    assert epci["gap_per_1000"] == pytest.approx(epci["gap_total"] * 1000 / epci["population"], abs=1e-4)
    assert by_epci["totals"]["population"] == epci["population"]

    by_departement = _report(analyst_client, run, territory_level="departement")
    assert [group["dimensions"][0] for group in by_departement["groups"]] == [
        {"dimension": "territory", "code": "departement:62", "label": "Pas-de-Calais"}
    ]
    csv = analyst_client.get(f"{RUNS}{run.id}/report/", {"group_by": "territory", "format": "csv"})
    assert csv.status_code == 200
    assert "Offres pour 10 000 habitants" in b"".join(csv.streaming_content).decode("utf-8-sig")


def test_run_scoped_to_a_custom_territory_of_two_epcis_of_two_departements(
    analyst_client, slice_catalogue, slice_needs
):
    response = analyst_client.post(
        "/api/v1/territories/",
        {"kind": "custom", "code": "audomarois-lys", "name": "Audomarois et Flandre Lys",
         "members": [f"epci:{SAINT_OMER_EPCI}", f"epci:{FLANDRE_LYS}"]},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    custom = Territory.objects.get(kind="custom", code="audomarois-lys")
    communes = Territory.objects.filter(kind="commune", parent__code__in=[SAINT_OMER_EPCI, FLANDRE_LYS])
    assert communes.count() == 61 and custom.population == sum(commune.population for commune in communes)
    assert sorted(custom.area_paths) == sorted(
        path for epci in Territory.objects.filter(code__in=[SAINT_OMER_EPCI, FLANDRE_LYS]) for path in epci.paths
    )
    strategy = make_need(
        statement="Attirer des médecins généralistes", themes=("health-care",), territory="audomarois-lys"
    )

    run = _run(analyst_client, scope_territory="custom:audomarois-lys")
    needs = set(NeedResult.objects.filter(run=run).values_list("need_id", flat=True))
    expected = {key for key in slice_needs if key != "gueret"}
    assert needs == {slice_needs[key].id for key in expected} | {strategy.id}
    # A need of the custom territory is answered inside any of its members, on either side of the border.
    assert _top_offer(run, strategy) == (slice_catalogue["sante_laventie"].id, 1.0)
    assert _top_offer(run, slice_needs["merville"]) == (slice_catalogue["creche_merville"].id, 1.0)

    by_epci = _groups(_report(analyst_client, run, territory_level="epci"))
    assert set(by_epci) == {f"epci:{SAINT_OMER_EPCI}", f"epci:{FLANDRE_LYS}", "custom:audomarois-lys"}
    assert (
        by_epci["custom:audomarois-lys"]["dimensions"][0]["label"]
        == "Audomarois et Flandre Lys (territoire de projet)"
    )
    lys = by_epci[f"epci:{FLANDRE_LYS}"]
    assert lys["need_count"] == 2 and lys["offer_count"] == 2  # Merville (59) and Laventie (62)
    assert lys["population"] == 40142

    by_departement = _groups(_report(analyst_client, run, territory_level="departement"))
    assert set(by_departement) == {"departement:59", "departement:62", "custom:audomarois-lys"}
    assert by_departement["departement:59"]["need_count"] == 1  # Merville
    assert by_departement["departement:62"]["need_count"] == 4  # Saint-Omer, Arques, the agglomeration, Laventie
    by_region = _groups(_report(analyst_client, run, territory_level="region"))
    assert set(by_region) == {"region:32"} and by_region["region:32"]["need_count"] == 6

    # The same territory in need filters and in the newcomer search.
    listed = analyst_client.get("/api/v1/needs/", {"territory": "custom:audomarois-lys"}).json()["results"]
    assert {need["id"] for need in listed} >= {slice_needs["merville"].id, slice_needs["arques"].id, strategy.id}
    assert slice_needs["gueret"].id not in {need["id"] for need in listed}
    search = analyst_client.post(
        "/api/v1/matching/search/", {"text": "crèche", "territory": "audomarois-lys"}, format="json"
    )
    assert search.status_code == 200, search.json()
    geography = {hit["id"]: hit["breakdown"]["geography"] for hit in search.json()["results"]}
    assert geography[slice_catalogue["creche_merville"].id] == 1.0
    assert geography[slice_catalogue["creche_saint_omer"].id] == 1.0
    assert geography[slice_catalogue["creche_gueret"].id] < 0.01  # hundreds of kilometres away

    # Compare against the EPCI run: the needs of Flandre Lys lie outside its scope.
    baseline = _run(analyst_client, scope_territory=SAINT_OMER_EPCI)
    response = analyst_client.get(
        f"{RUNS}{run.id}/compare/",
        {"baseline": str(baseline.id), "group_by": "territory", "territory_level": "departement"},
    )
    assert response.status_code == 200, response.json()
    comparison = response.json()
    assert comparison["scopes_differ"] and comparison["summary"]["statuses"]["out_of_scope"] == 3
    assert {group["dimensions"][0]["code"] for group in comparison["groups"]} == {"departement:62"}


def test_a_straddling_epci_filters_offers_needs_and_results_on_both_sides(
    analyst_client, anonymous_client, slice_catalogue, slice_needs
):
    def offers(**params):
        response = anonymous_client.get("/api/v1/offers/", params)
        assert response.status_code == 200, response.json()
        return {offer["id"] for offer in response.json()["results"]}

    both_sides = {slice_catalogue["creche_merville"].id, slice_catalogue["sante_laventie"].id}
    assert offers(territory=f"epci:{FLANDRE_LYS}") == both_sides
    assert offers(territory="62") == {slice_catalogue["sante_laventie"].id, slice_catalogue["creche_saint_omer"].id}
    assert offers(territory="region:32") == both_sides | {slice_catalogue["creche_saint_omer"].id}

    response = analyst_client.get("/api/v1/needs/", {"territory": FLANDRE_LYS})
    assert response.status_code == 200
    listed = {need["id"] for need in response.json()["results"]}
    assert {slice_needs["merville"].id, slice_needs["laventie"].id} <= listed
    assert slice_needs["saint_omer"].id not in listed

    run = _run(analyst_client, scope_territory=FLANDRE_LYS)
    results = analyst_client.get(f"{RUNS}{run.id}/needs/", {"territory": FLANDRE_LYS})
    assert results.status_code == 200
    assert {row["need"] for row in results.json()["results"]} == {
        slice_needs["merville"].id,
        slice_needs["laventie"].id,
    }


def test_communes_without_a_centroid_give_the_neutral_distance(analyst_client, slice_catalogue, slice_needs):
    # No centroid anywhere in the agglomeration: distances to it are unknown, never a crash nor a penalty.
    Territory.objects.filter(path__startswith=Territory.objects.get(code=SAINT_OMER_EPCI).path).update(
        latitude=None, longitude=None
    )
    run = _run(analyst_client, scope_territory=SAINT_OMER_EPCI)
    result = NeedResult.objects.get(run=run, need=slice_needs["saint_omer"])
    outside = result.matched_offers.exclude(offer_id=slice_catalogue["creche_saint_omer"].id)
    assert outside.exists()
    for offer in outside:
        assert offer.distance_km is None and offer.geography == 1.0


def test_a_custom_territory_inside_a_departement_is_in_its_scope(analyst_client, slice_catalogue, slice_needs):
    from offers.services import custom_territory_create

    custom_territory_create(
        code="audomarois-laventie", name="Audomarois et Laventie", members=[SAINT_OMER_EPCI, LAVENTIE]
    )
    custom_territory_create(
        code="audomarois-lys", name="Audomarois et Flandre Lys", members=[SAINT_OMER_EPCI, FLANDRE_LYS]
    )
    inside = make_need(statement="Attirer des médecins", themes=("health-care",), territory="audomarois-laventie")
    straddling = make_need(statement="Attirer des infirmiers", themes=("health-care",), territory="audomarois-lys")

    run = _run(analyst_client, scope_territory="departement:62")
    needs = set(NeedResult.objects.filter(run=run).values_list("need_id", flat=True))
    assert inside.id in needs and straddling.id not in needs
    listed = analyst_client.get("/api/v1/needs/", {"territory": "departement:62"}).json()["results"]
    assert inside.id in {need["id"] for need in listed}
    results = analyst_client.get(f"{RUNS}{run.id}/needs/", {"territory": "departement:62"}).json()["results"]
    assert inside.id in {row["need"] for row in results}
    # At département level, the custom territory inside the Pas-de-Calais is grouped under it.
    by_departement = _groups(_report(analyst_client, run, territory_level="departement"))
    assert set(by_departement) == {"departement:62"}


def test_centroids_of_a_straddling_epci_cover_both_sides(hauts_de_france):
    from matching.selectors import commune_centroids
    from offers.territory_paths import area_key

    epci = Territory.objects.get(kind="epci", code=FLANDRE_LYS)
    key = area_key(epci.paths)
    lats, lons = commune_centroids(paths=[key, epci.path])[key]
    communes = Territory.objects.filter(kind="commune", parent=epci)
    assert lats.size == communes.count() == 8  # 4 in the Nord, 4 in the Pas-de-Calais
    for code in (MERVILLE, LAVENTIE):
        commune = communes.get(code=code)
        assert commune.latitude in lats.tolist() and commune.longitude in lons.tolist()


CORNOUAILLE = ["200068120", "242900645", "242900660", "242900694", "242900702", "242900710", "242900769"]


def test_cornouaille_custom_territory_of_seven_epcis(analyst_client, anonymous_client, reference):
    """Quimper Bretagne Occidentale and the six other intercommunalities of Cornouaille (Finistère)."""
    territories_load_france(epcis=CORNOUAILLE)
    response = analyst_client.post(
        "/api/v1/territories/",
        {"kind": "custom", "code": "cornouaille", "name": "Cornouaille", "members": CORNOUAILLE},
        format="json",
    )
    assert response.status_code == 201, response.json()
    cornouaille = Territory.objects.get(kind="custom", code="cornouaille")
    communes = Territory.objects.filter(kind="commune", parent__code__in=CORNOUAILLE)
    assert cornouaille.population == sum(commune.population for commune in communes) > 300_000
    assert 47.5 < cornouaille.latitude < 48.3 and -4.8 < cornouaille.longitude < -3.4
    quimper = make_offer(title="Crèche de Quimper", themes=("childcare",), commune="29232")
    make_offer(title="Crèche de Guéret", themes=("childcare",), commune="23096")
    listed = anonymous_client.get("/api/v1/offers/", {"territory": "cornouaille"}).json()["results"]
    assert [offer["id"] for offer in listed] == [quimper.id]
    within = anonymous_client.get("/api/v1/territories/", {"within": "custom:cornouaille", "kind": "epci"}).json()
    assert sorted(row["code"] for row in within["results"]) == sorted(CORNOUAILLE)
