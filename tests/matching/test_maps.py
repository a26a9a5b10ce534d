"""The gap map: the pure drawing (matching/maps.py) and `GET /api/v1/matching/runs/{id}/map/` read as a person
would see it (the SVG's polygons, circles, legend and texts; the PNG's size)."""

import datetime
import io
import re
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET

import pytest
from django.utils.translation import gettext
from PIL import Image

from matching import maps
from matching.models import MatchingRun, RunStatus
from offers.models import Territory
from tests.matching.factories import make_need_result, make_run

SVG = "{http://www.w3.org/2000/svg}"
GUERET = "r75/d23/e200034825/c23096/"
AHUN = "r75/d23/e200067189/c23001/"
LIMOGES = "r75/d87/e248719312/c87085/"
NOWHERE = "r75/d87/e248719312/c87001/"

TEXTS = maps.MapTexts(
    title="Écart par commune",
    legend="Écart pondéré (importance × (1 − couverture))",
    circles="Écart (surface des cercles)",
    no_need="Aucun besoin",
    not_placed="Non placés :",
    source="Sources : Ancrage, run #7",
)
SQUARE = ((0.0, 46.0), (0.1, 46.0), (0.1, 46.1), (0.0, 46.1), (0.0, 46.0))
NEXT_SQUARE = ((0.1, 46.0), (0.2, 46.0), (0.2, 46.1), (0.1, 46.1), (0.1, 46.0))
THIRD_SQUARE = ((0.2, 46.0), (0.3, 46.0), (0.3, 46.1), (0.2, 46.1), (0.2, 46.0))


def svg_tree(content: bytes) -> ET.Element:
    return ET.fromstring(content)


def svg_text(root: ET.Element) -> str:
    return " ".join(" ".join(root.itertext()).split())


def groups(root: ET.Element, prefix: str) -> list[ET.Element]:
    return [element for element in root.iter(f"{SVG}g") if element.get("id", "").startswith(prefix)]


def test_maps_module_does_not_import_django():
    code = "import sys, matching.maps; sys.exit('django' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_group_borders_are_the_outline_of_each_group():
    areas = [
        maps.MapArea("a", "A", 1.0, polygons=[SQUARE], group="e1"),
        maps.MapArea("b", "B", 1.0, polygons=[NEXT_SQUARE], group="e1"),
        maps.MapArea("c", "C", 2.0, polygons=[THIRD_SQUARE], group="e2"),
    ]
    borders = {frozenset(segment) for segment in maps.group_borders(areas)}
    # 12 edges: the a|b edge is inside group e1 (not a border); the b|c edge separates e1 from e2 (a border).
    assert frozenset(((0.1, 46.0), (0.1, 46.1))) not in borders
    assert frozenset(((0.2, 46.0), (0.2, 46.1))) in borders
    assert len(borders) == 10 - 1


def test_gap_map_svg_has_polygons_circles_legend_and_texts():
    areas = [
        maps.MapArea("a", "Alpha", 1.5, polygons=[SQUARE]),
        maps.MapArea("b", "Beta", None, polygons=[NEXT_SQUARE]),
        maps.MapArea("c", "Gamma", 3.0, centroid=(0.5, 46.05)),
        maps.MapArea("d", "Delta", 0.25),
    ]
    content = maps.gap_map(areas=areas, texts=TEXTS, fmt="svg")
    root = svg_tree(content)
    (polygons,) = groups(root, "PolyCollection")
    assert len(polygons.findall(f".//{SVG}path")) == 2
    assert groups(root, "PathCollection")  # the circle and the circle legend
    text = svg_text(root)
    for expected in ("Écart par commune", "Aucun besoin", "Sources : Ancrage, run #7", "Gamma",
                     "Non placés : Delta (0,25)", "Écart (surface des cercles)", "3,00", "1,50"):  # fmt: skip
        assert expected in text
    assert re.search(r"\b\d+ km\b", text) and " N " in f" {text} "
    assert maps.gap_map(areas=areas, texts=TEXTS, fmt="svg") == content  # deterministic


def test_gap_map_scale_bar_is_a_round_share_of_the_width():
    assert maps._nice_km(120) == 20 and maps._nice_km(40) == 5 and maps._nice_km(3) == 0.5


# The endpoint --------------------------------------------------------------------------------------------------


def url(run, **params):
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"/api/v1/matching/runs/{run.id}/map/" + (f"?{query}" if query else "")


@pytest.fixture
def run(reference):
    Territory.objects.create(kind="commune", code="87085", name="Limoges", name_folded="limoges", path=LIMOGES,
                             latitude=45.83, longitude=1.26)  # fmt: skip
    run = make_run()
    make_need_result(run, statement="Crèche", territory_path=GUERET, importance=0.8, coverage=0.5)
    make_need_result(run, statement="Logement", territory_path=AHUN, importance=0.6, coverage=0.0)
    make_need_result(run, statement="Emploi", territory_path="r75/d23/", importance=1.0, coverage=0.9)
    make_need_result(run, statement="Transport", territory_path=LIMOGES, importance=1.0, coverage=0.0)
    make_need_result(run, statement="Santé", territory_path=NOWHERE, importance=0.5, coverage=0.0)
    return run


@pytest.mark.django_db
@pytest.mark.i18n  # the French map (decimal commas, French texts): the default language
def test_commune_map_svg(analyst_client, run):
    response = analyst_client.get(url(run, level="commune"))
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert f'filename="carte-commune-{run.id}.svg"' in response["Content-Disposition"]
    root = svg_tree(response.content)
    (polygons,) = groups(root, "PolyCollection")
    assert len(polygons.findall(f".//{SVG}path")) == 257  # the 256 communes of the Creuse (one in two parts)
    assert groups(root, "LineCollection")  # borders of the EPCIs
    assert groups(root, "PathCollection")  # Limoges' circle
    text = svg_text(root)
    assert "Limoges" in text
    assert "87001 (0,50)" in text  # no territory, no centroid: listed as not placed
    assert "Creuse (tout le département) (0,10)" in text  # a wider area
    assert f"exécution n°{run.id}" in text and "Admin Express" in text and "km" in text


@pytest.mark.django_db
def test_epci_map_png(analyst_client, run):
    response = analyst_client.get(url(run, level="epci", format="png"))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    width, height = Image.open(io.BytesIO(response.content)).size
    assert width > 700 and height > 700


@pytest.mark.django_db
def test_map_json_gives_the_figures_behind_the_map(analyst_client, run):
    body = analyst_client.get(url(run, level="commune", format="json")).json()
    assert body["run"] == str(run.id) and body["level"] == "commune"
    areas = {area["code"]: area for area in body["areas"]}
    # Largest gap first; a commune with a centroid carries it, one without has nulls (the map lists it as not placed).
    assert [area["gap_total"] for area in body["areas"]] == sorted(
        (area["gap_total"] for area in body["areas"]), reverse=True
    )
    assert (areas["87085"]["latitude"], areas["87085"]["longitude"]) == (45.83, 1.26)
    assert areas["87001"]["latitude"] is None
    assert {"23096", "23001"} <= areas.keys()
    assert [area["code"] for area in body["wider_areas"]] == ["departement:23"]


@pytest.mark.django_db
def test_epci_map_fills_communes_with_their_epci_value(analyst_client, reference):
    run = make_run()
    make_need_result(run, statement="Crèche", territory_path=GUERET, importance=0.8, coverage=0.5)
    root = svg_tree(analyst_client.get(url(run, level="epci")).content)
    (polygons,) = groups(root, "PolyCollection")
    fills = [re.search(r"fill: ?(#[0-9a-f]{6})", path.get("style", "")) for path in polygons.iter(f"{SVG}path")]
    colours = [match.group(1) for match in fills if match]
    grand_gueret = Territory.objects.filter(kind="commune", path__startswith="r75/d23/e200034825/").count()
    assert grand_gueret > 1
    # Every commune of the Grand Guéret has the one EPCI's colour; every other commune is grey (no need).
    assert len(colours) == 257 and colours.count("#eeeeee") == 257 - grand_gueret
    assert len(set(colours)) == 2


@pytest.mark.django_db
@pytest.mark.parametrize(("params", "field"), [({"level": "region"}, "level"), ({"format": "pdf"}, "format")])
def test_bad_query_is_400(analyst_client, run, params, field):
    response = analyst_client.get(url(run, **params))
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == [field]


@pytest.mark.django_db
def test_unfinished_run_is_409_and_editors_are_refused(analyst_client, editor_a_client, reference):
    running = make_run(status=RunStatus.RUNNING)
    assert analyst_client.get(url(running)).status_code == 409
    assert editor_a_client.get(url(make_run())).status_code == 403


# The comparison map (`baseline`) --------------------------------------------------------------------------------


def test_diverging_gap_map_centres_its_scale_on_zero():
    areas = [
        maps.MapArea("a", "Alpha", -0.5, polygons=[SQUARE]),
        maps.MapArea("b", "Beta", 0.25, polygons=[NEXT_SQUARE]),
        maps.MapArea("c", "Gamma", None, polygons=[THIRD_SQUARE]),
        maps.MapArea("d", "Delta", -0.2, centroid=(0.5, 46.05)),
    ]
    root = svg_tree(maps.gap_map(areas=areas, texts=TEXTS, fmt="svg", diverging=True))
    alpha, beta, gamma = polygon_fills(root)
    assert gamma == "#eeeeee"
    assert is_blue(alpha) and is_red(beta)  # shrank / grew
    text = svg_text(root)
    assert "-0,40" in text and "0,40" in text and "0,00" in text  # the colour bar runs from −0.5 to 0.5


def polygon_fills(root: ET.Element) -> list[str]:
    (polygons,) = groups(root, "PolyCollection")
    fills = [re.search(r"fill: ?(#[0-9a-f]{6})", path.get("style", "")) for path in polygons.iter(f"{SVG}path")]
    return [match.group(1) for match in fills if match]


def rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def is_red(colour: str) -> bool:
    red, _green, blue = rgb(colour)
    return red > blue + 40


def is_blue(colour: str) -> bool:
    red, _green, blue = rgb(colour)
    return blue > red + 40


@pytest.fixture
def baseline(run):
    baseline = make_run()
    MatchingRun.objects.filter(pk=baseline.pk).update(created_at=datetime.datetime(2024, 3, 1, tzinfo=datetime.UTC))
    make_need_result(baseline, statement="Crèche", territory_path=GUERET, importance=1.0, coverage=0.0)
    make_need_result(baseline, statement="Transport", territory_path=LIMOGES, importance=0.4, coverage=0.0)
    make_need_result(baseline, statement="Emploi", territory_path="r75/d23/", importance=0.5, coverage=0.0)
    make_need_result(baseline, statement="Eau", territory_path="r75/d87/e248719312/c87002/", importance=0.5,
                     coverage=0.0)  # fmt: skip
    return MatchingRun.objects.get(pk=baseline.pk)


@pytest.mark.django_db
def test_comparison_map_json_gives_before_after_and_change(analyst_client, run, baseline):
    body = analyst_client.get(url(run, level="commune", format="json", baseline=baseline.id)).json()
    assert body["run"] == str(run.id) and body["baseline"] == str(baseline.id)
    # The two runs' own maps are the before and after of the comparison.
    after_body = analyst_client.get(url(run, level="commune", format="json")).json()
    after = {area["code"]: area["gap_total"] for area in after_body["areas"]}
    before_body = analyst_client.get(url(baseline, level="commune", format="json")).json()
    before = {area["code"]: area["gap_total"] for area in before_body["areas"]}
    areas = {area["code"]: area for area in body["areas"]}
    assert areas.keys() == after.keys() | before.keys() == {"23096", "23001", "87085", "87001", "87002"}
    for code, area in areas.items():
        assert area["before"] == before.get(code) and area["after"] == after.get(code)
        assert area["change"] == pytest.approx((after.get(code) or 0.0) - (before.get(code) or 0.0))
    assert areas["23096"]["change"] == pytest.approx(0.4 - 1.0)  # Guéret: 0.8 × 0.5 now, 1.0 × 1.0 before
    assert areas["87002"]["after"] is None and areas["87002"]["change"] == pytest.approx(-0.5)
    assert areas["87085"]["latitude"] == 45.83
    changes = [abs(area["change"]) for area in body["areas"]]
    assert changes == sorted(changes, reverse=True)
    (creuse,) = body["wider_areas"]
    assert (creuse["code"], creuse["before"], creuse["after"]) == ("departement:23", 0.5, pytest.approx(0.1))
    assert creuse["change"] == pytest.approx(-0.4)
    # A single-run map has no comparison figures.
    single = analyst_client.get(url(run, level="commune", format="json")).json()
    assert single["baseline"] is None and {area["change"] for area in single["areas"]} == {None}


@pytest.mark.django_db
@pytest.mark.i18n  # the French map (decimal commas, French texts): the default language
def test_comparison_map_svg_is_diverging_and_names_both_runs(analyst_client, run, baseline):
    response = analyst_client.get(url(run, level="commune", baseline=baseline.id))
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert f'filename="carte-commune-{run.id}-{baseline.id}.svg"' in response["Content-Disposition"]
    root = svg_tree(response.content)
    fills = polygon_fills(root)
    assert len(fills) == 257
    # Guéret's gap shrank (blue), Ahun's grew (red), every other commune of the Creuse has no need in either run.
    assert sum(is_blue(colour) for colour in fills) == 1 and sum(is_red(colour) for colour in fills) == 1
    assert fills.count("#eeeeee") == 255
    text = svg_text(root)
    legend = " ".join(
        gettext("Change of the weighted gap (this run minus the baseline; red: grew, blue: shrank)").split()
    )
    assert legend in text
    assert "-0,60" in text  # the colour bar's negative half
    assert "01/03/2024" in text and f"{run.created_at:%d/%m/%Y}" in text  # the title names both runs
    assert str(run.id) in text and str(baseline.id) in text  # and so does the source line
    assert "87001 (0,50)" in text and "87002 (-0,50)" in text  # not placed: its change
    assert "Creuse (tout le département) (-0,40)" in text


@pytest.mark.django_db
def test_comparison_map_baseline_is_validated_as_compare_does(analyst_client, run, reference):
    def errors(baseline):
        response = analyst_client.get(url(run, baseline=baseline))
        assert response.status_code == 400
        return [(error["field"], error["code"]) for error in response.json()["errors"]]

    assert errors(run.id) == [("baseline", "same_run")]
    assert errors(uuid.uuid4()) == [("baseline", "not_found")]
    assert errors("not-a-uuid")[0][0] == "baseline"
    running = make_run(status=RunStatus.RUNNING)
    response = analyst_client.get(url(run, baseline=running.id))
    assert response.status_code == 409 and response.json()["code"] == "run_not_succeeded"
