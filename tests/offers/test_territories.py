"""Territories: the GeoJSON loader, the region > département > EPCI > commune hierarchy, and its endpoint."""

import copy
import json

import pytest

from api.exceptions import InvalidInput
from api.text import fold_text
from offers.models import Territory
from offers.selectors import territory_resolve, territory_subtree_q
from offers.services import DEFAULT_GEOJSON, polygon_centroid, territories_load_geojson

pytestmark = pytest.mark.django_db

GRAND_GUERET = "200034825"


def creuse() -> dict:
    return json.loads(DEFAULT_GEOJSON.read_text())


def test_loads_the_creuse_hierarchy(reference):
    assert Territory.objects.filter(kind="commune").count() == 256
    assert Territory.objects.filter(kind="epci").count() == 10
    gueret = Territory.objects.get(kind="commune", code="23096")
    assert gueret.name == "Guéret"
    assert gueret.parent.code == GRAND_GUERET
    assert gueret.parent.name == "Communauté d'agglomération du Grand Guéret"
    assert gueret.parent.parent.name == "Creuse"
    assert gueret.parent.parent.parent.name == "Nouvelle-Aquitaine"
    # The centroid is computed from the polygon: inside the commune, near the town centre (46.17 N, 1.87 E).
    assert gueret.latitude == pytest.approx(46.16, abs=0.03)
    assert gueret.longitude == pytest.approx(1.87, abs=0.03)


def test_loader_is_idempotent(reference):
    before = list(Territory.objects.order_by("path").values_list("path", "name", "latitude", "longitude"))
    report = territories_load_geojson()
    assert (report.created, report.updated, report.unchanged) == (0, 0, 268)
    assert list(Territory.objects.order_by("path").values_list("path", "name", "latitude", "longitude")) == before


def test_malformed_geojson_is_refused_whole_and_writes_nothing(no_territories):
    data = creuse()
    broken = copy.deepcopy(data)
    broken["features"][3]["properties"]["code"] = "ABCDE"
    broken["features"][10]["geometry"] = {"type": "Point", "coordinates": [1.8, 46.1]}
    broken["features"][20]["properties"]["epci"] = "12"
    with pytest.raises(InvalidInput) as raised:
        territories_load_geojson(source=broken)
    fields = [error.field for error in raised.value.errors]
    assert fields == ["features.4 (ABCDE).code", "features.11 (23011).geometry", "features.21 (23021).epci"]
    assert "nothing was loaded" in str(raised.value.detail)
    assert Territory.objects.count() == 0


def test_not_json_is_refused_with_its_line(tmp_path, no_territories):
    path = tmp_path / "communes.geojson"
    path.write_text('{"type": "FeatureCollection",\n "features": [\n  {oops}\n]}')
    with pytest.raises(InvalidInput) as raised:
        territories_load_geojson(source=path)
    assert raised.value.errors[0].line == 3
    assert Territory.objects.count() == 0


def test_polygon_centroid_of_a_square_with_a_hole():
    square = [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]]
    hole = [[2, 2], [3, 2], [3, 3], [2, 3], [2, 2]]
    lat, lon = polygon_centroid({"type": "Polygon", "coordinates": [square, hole]})
    # Area 16 centred (2, 2) minus area 1 centred (2.5, 2.5): (32 - 2.5) / 15.
    assert lon == pytest.approx((16 * 2 - 2.5) / 15)
    assert lat == pytest.approx((16 * 2 - 2.5) / 15)


def test_an_epci_code_covers_its_communes(reference):
    epci = territory_resolve(code=GRAND_GUERET)
    communes = Territory.objects.filter(territory_subtree_q(epci), kind="commune")
    assert communes.count() == 25
    assert set(communes.values_list("parent__code", flat=True)) == {GRAND_GUERET}
    departement = territory_resolve(code="23")
    assert Territory.objects.filter(territory_subtree_q(departement), kind="commune").count() == 256


def test_ambiguous_code_asks_for_the_qualified_form(reference):
    Territory.objects.create(kind="departement", code="75", name="Paris", path="r11/d75/")
    with pytest.raises(InvalidInput) as raised:
        territory_resolve(code="75")
    assert raised.value.errors[0].message == "The code '75' is ambiguous: use one of departement:75, region:75."
    assert territory_resolve(code="region:75").name == "Nouvelle-Aquitaine"


def test_list_filters(anonymous_client, reference):
    epcis = anonymous_client.get("/api/v1/territories/", {"kind": "epci", "page_size": 100}).json()
    assert epcis["count"] == 10
    children = anonymous_client.get("/api/v1/territories/", {"parent": GRAND_GUERET, "page_size": 100}).json()
    assert children["count"] == 25
    within = anonymous_client.get("/api/v1/territories/", {"within": "23", "kind": "commune"}).json()
    assert within["count"] == 256
    found = anonymous_client.get("/api/v1/territories/", {"q": "gueret", "kind": "commune"}).json()
    names = [item["name"] for item in found["results"]]
    assert "Guéret" in names
    assert all("gueret" in fold_text(name) for name in names)
    found = anonymous_client.get("/api/v1/territories/", {"q": "GUÉRET"}).json()
    assert {item["kind"] for item in found["results"]} == {"commune", "epci"}
    found = anonymous_client.get("/api/v1/territories/", {"q": "SAINT-VAURY"}).json()
    assert [item["code"] for item in found["results"]] == ["23247"]


def test_detail_by_code_and_by_qualified_code(anonymous_client, reference):
    body = anonymous_client.get("/api/v1/territories/23096/").json()
    assert body == {
        "kind": "commune",
        "code": "23096",
        "qualified_code": "commune:23096",
        "name": "Guéret",
        "parent_code": f"epci:{GRAND_GUERET}",
        "latitude": pytest.approx(46.16, abs=0.03),
        "longitude": pytest.approx(1.87, abs=0.03),
        "population": None,  # the Creuse contours carry no population (territories_load_france does)
        "postal_codes": [],
        "retired": False,
        "successor_code": None,
        "members": [],
    }
    assert anonymous_client.get("/api/v1/territories/departement:23/").json()["name"] == "Creuse"


def test_list_runs_a_constant_number_of_queries(anonymous_client, reference, django_assert_num_queries):
    # count, page, the page's postal codes
    with django_assert_num_queries(3):
        anonymous_client.get("/api/v1/territories/", {"page_size": 1})
    with django_assert_num_queries(3):
        anonymous_client.get("/api/v1/territories/", {"page_size": 100})


def test_an_epci_straddling_two_departements_in_a_geojson_covers_both(reference):
    data = creuse()
    grand_gueret = [f for f in data["features"] if f["properties"]["epci"] == GRAND_GUERET]
    grand_gueret[0]["properties"]["departement"] = "19"  # as if one of its communes were in the Corrèze
    moved = grand_gueret[0]["properties"]["code"]
    territories_load_geojson(source=data)
    epci = Territory.objects.get(kind="epci", code=GRAND_GUERET)
    assert epci.path == f"r75/d23/e{GRAND_GUERET}/"  # the département of most of its communes
    assert epci.area_paths == [f"r75/d19/e{GRAND_GUERET}/", f"r75/d23/e{GRAND_GUERET}/"]
    commune = Territory.objects.get(kind="commune", code=moved)
    assert commune.path == f"r75/d19/e{GRAND_GUERET}/c{moved}/" and commune.parent == epci
    assert Territory.objects.get(kind="departement", code="19").name == "Corrèze"
