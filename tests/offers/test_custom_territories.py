"""Custom territories (issue 15): a named set of EPCIs and/or communes, written by analysts through
/api/v1/territories/, resolvable and usable wherever a territory code is."""

import pytest

from audiences.models import Need
from offers.models import CatalogueVersion, Territory, TerritoryKind
from offers.selectors import territory_resolve, territory_subtree_q
from offers.services import custom_territory_create, custom_territory_figures
from tests.audiences.factories import make_need
from tests.matching.factories import make_run
from tests.offers.factories import make_offer, make_organisation

URL = "/api/v1/territories/"
GRAND_GUERET, SUD_OUEST = "200034825", "200067189"
GUERET, BOURGANEUF = "23096", "23030"


def _version() -> int:
    return CatalogueVersion.objects.filter(pk=1).values_list("version", flat=True).first() or 0


def _create(client, **body):
    payload = {"kind": "custom", "code": "duo", "name": "Guéret et Sud Ouest", "members": [GRAND_GUERET, SUD_OUEST]}
    return client.post(URL, {**payload, **body}, format="json")


@pytest.fixture
def populated(reference):
    """Populations on the Creuse communes and EPCIs, as helper a-france's loader sets them (1,000 per commune)."""
    Territory.objects.filter(kind=TerritoryKind.COMMUNE).update(population=1000)
    for epci in Territory.objects.filter(kind=TerritoryKind.EPCI):
        communes = Territory.objects.filter(territory_subtree_q(epci), kind=TerritoryKind.COMMUNE).count()
        epci.population = 1000 * communes
        epci.save(update_fields=["population"])


def test_an_analyst_creates_a_custom_territory(analyst_client, populated):
    before = _version()
    response = _create(analyst_client)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["kind"] == "custom" and body["code"] == "duo" and body["qualified_code"] == "custom:duo"
    assert body["members"] == [f"epci:{GRAND_GUERET}", f"epci:{SUD_OUEST}"]
    territory = Territory.objects.get(kind="custom", code="duo")
    epcis = Territory.objects.filter(kind="epci", code__in=[GRAND_GUERET, SUD_OUEST])
    assert sorted(territory.area_paths) == sorted(epci.path for epci in epcis)
    assert territory.population == sum(epci.population for epci in epcis)
    assert territory.path == "xduo/" and territory.created_by is not None
    assert _version() > before
    # Resolvable qualified or bare, and read back with its members.
    assert territory_resolve(code="custom:duo") == territory == territory_resolve(code="duo")
    assert analyst_client.get(f"{URL}custom:duo/").json()["members"] == body["members"]


def test_a_commune_inside_a_member_epci_adds_nothing(populated):
    alone = custom_territory_figures(list(Territory.objects.filter(kind="epci", code=GRAND_GUERET)))
    both = custom_territory_figures(
        list(Territory.objects.filter(kind="epci", code=GRAND_GUERET)) + [Territory.objects.get(code=GUERET)]
    )
    assert both["area_paths"] == alone["area_paths"] and both["population"] == alone["population"]


def test_centroid_is_the_population_weighted_mean_of_the_members(populated):
    gueret, bourganeuf = Territory.objects.get(code=GUERET), Territory.objects.get(code=BOURGANEUF)
    gueret.population, bourganeuf.population = 3000, 1000
    figures = custom_territory_figures([gueret, bourganeuf])
    assert figures["latitude"] == pytest.approx((3 * gueret.latitude + bourganeuf.latitude) / 4)
    assert figures["longitude"] == pytest.approx((3 * gueret.longitude + bourganeuf.longitude) / 4)
    assert figures["population"] == 2000  # the stored populations of the communes covered


def test_population_is_unknown_when_a_commune_has_none(populated):
    Territory.objects.filter(code=GUERET).update(population=None)
    figures = custom_territory_figures(list(Territory.objects.filter(kind="epci", code=GRAND_GUERET)))
    assert figures["population"] is None


def test_offer_filter_by_custom_territory(anonymous_client, analyst_client, populated):
    organisation = make_organisation()
    inside = make_offer(organisation=organisation, commune=GUERET, title="Crèche de Guéret")
    make_offer(organisation=organisation, commune="23176", title="Crèche de La Souterraine")  # another EPCI
    assert _create(analyst_client, members=[GUERET]).status_code == 201
    response = anonymous_client.get("/api/v1/offers/", {"territory": "custom:duo"})
    assert response.status_code == 200
    assert [offer["id"] for offer in response.json()["results"]] == [inside.id]


def test_territory_list_within_a_custom_territory(anonymous_client, analyst_client, reference):
    assert _create(analyst_client, members=[GUERET, BOURGANEUF]).status_code == 201
    response = anonymous_client.get(URL, {"within": "custom:duo", "kind": "commune"})
    assert sorted(row["code"] for row in response.json()["results"]) == [BOURGANEUF, GUERET]


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"members": []}, "members", "required"),
        ({"members": ["23"]}, "members.0", "wrong_kind"),
        ({"members": [GUERET, "99999"]}, "members.1", "not_found"),
        ({"code": "23"}, "code", "invalid"),
        ({"code": "Cornouaille"}, "code", "invalid"),
        ({"code": "x" * 41}, "code", "invalid"),
        ({"kind": "epci"}, "kind", "not_custom"),
        ({"name": ""}, "name", None),
    ],
)
def test_bad_bodies_are_refused_and_nothing_is_written(analyst_client, reference, body, field, code):
    before = Territory.objects.count()
    response = _create(analyst_client, **body)
    assert response.status_code == 400, response.json()
    errors = response.json()["errors"]
    assert field in [error["field"] for error in errors], errors
    if code:
        assert code in [error["code"] for error in errors if error["field"] == field]
    assert Territory.objects.count() == before


def test_codes_are_unique_among_custom_territories(analyst_client, reference):
    assert _create(analyst_client).status_code == 201
    response = _create(analyst_client)
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "code"


def test_only_analysts_and_admins_write(anonymous_client, editor_a_client, admin_client, reference):
    assert _create(anonymous_client).status_code == 401
    assert _create(editor_a_client).status_code == 403
    assert _create(admin_client).status_code == 201


def test_administrative_territories_stay_read_only(analyst_client, reference):
    response = analyst_client.patch(f"{URL}{GUERET}/", {"name": "Autre"}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "read_only_territory"
    assert analyst_client.delete(f"{URL}departement:23/").status_code == 403
    assert Territory.objects.get(code=GUERET).name == "Guéret"


def test_update_renames_and_replaces_members(analyst_client, populated):
    assert _create(analyst_client).status_code == 201
    before = _version()
    response = analyst_client.patch(f"{URL}custom:duo/", {"name": "Duo", "members": [GRAND_GUERET]}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["members"] == [f"epci:{GRAND_GUERET}"] and response.json()["name"] == "Duo"
    territory = Territory.objects.get(kind="custom", code="duo")
    assert territory.area_paths == [Territory.objects.get(code=GRAND_GUERET).path]
    assert territory.population == Territory.objects.get(code=GRAND_GUERET).population
    assert _version() > before
    response = analyst_client.patch(f"{URL}custom:duo/", {"code": "other"}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "read_only"


def test_delete_refuses_a_territory_still_used(analyst_client, reference):
    territory = custom_territory_create(code="duo", name="Duo", members=[GRAND_GUERET])
    need = make_need(statement="Une crèche", territory="duo")
    run = make_run(scope_territory=territory)
    response = analyst_client.delete(f"{URL}custom:duo/")
    assert response.status_code == 409 and response.json()["code"] == "territory_in_use"
    assert "still used by 1 matching run, 1 need" in response.json()["message"]
    need.delete()
    run.delete()
    assert analyst_client.delete(f"{URL}custom:duo/").status_code == 204
    assert not Territory.objects.filter(kind="custom", code="duo").exists()
    assert not Need.objects.filter(pk=need.pk).exists()


def test_list_reads_the_members_of_the_page_in_one_query(anonymous_client, reference, django_assert_num_queries):
    custom_territory_create(code="un", name="Un", members=[GRAND_GUERET])
    with django_assert_num_queries(4):  # count, page, postal codes, members of its custom territories
        anonymous_client.get(URL, {"kind": "custom"})
    custom_territory_create(code="deux", name="Deux", members=[SUD_OUEST, GUERET])
    with django_assert_num_queries(4):
        body = anonymous_client.get(URL, {"kind": "custom"}).json()
    assert {row["code"]: row["members"] for row in body["results"]} == {
        "un": [f"epci:{GRAND_GUERET}"],
        "deux": [f"commune:{GUERET}", f"epci:{SUD_OUEST}"],
    }
