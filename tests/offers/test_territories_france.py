"""Any French territory: territories_load_france on slices of the shipped geography (Hauts-de-France, Finistère)
and on small files written here (renames, merges, bad rows), the load_territories command, and the territories API
(population, postal codes, name and postal-code search)."""

import csv
import gzip
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from api.exceptions import InvalidInput
from api.text import fold_text
from offers.geography import FRANCE_DIR
from offers.models import CatalogueVersion, Territory, TerritoryPostalCode
from offers.selectors import communes_resolve
from offers.services import territories_load_france
from tests.api.test_settings import load_settings
from tests.offers.factories import make_offer, make_organisation

pytestmark = pytest.mark.django_db

SAINT_OMER_AGGLO = "200069037"  # CA du Pays de Saint-Omer (62)
FLANDRE_LYS = "245900758"  # CC Flandre Lys: four communes in the Nord (59), four in the Pas-de-Calais (62)
QUIMPER_AGGLO = "200068120"  # CA Quimper Bretagne Occidentale (29)


def shipped_communes() -> list[dict]:
    with gzip.open(FRANCE_DIR / "communes.csv.gz", "rt", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def shipped_epcis() -> dict[str, dict]:
    with (FRANCE_DIR / "epci.csv").open(encoding="utf-8") as handle:
        return {row["code"]: row for row in csv.DictReader(handle)}


def catalogue_version() -> int:
    return CatalogueVersion.objects.filter(pk=1).values_list("version", flat=True).first() or 0


def snapshot() -> list[tuple]:
    return list(
        Territory.objects.order_by("kind", "code").values_list(
            "id", "kind", "code", "name", "path", "parent_id", "population", "latitude", "area_paths", "retired"
        )
    )


@pytest.fixture
def slices(reference):
    """The Pays de Saint-Omer, its neighbour Flandre Lys (Nord and Pas-de-Calais), and Quimper's agglomeration."""
    return territories_load_france(epcis=[SAINT_OMER_AGGLO, FLANDRE_LYS, QUIMPER_AGGLO])


# Small geography files, for what the shipped data cannot show (a rename, a merger, a bad row) ---------------------

REGIONS = [{"code": "94", "name": "Corse"}]
DEPARTEMENTS = [{"code": "2A", "name": "Corse-du-Sud", "region": "94"}]
EPCIS = [{"code": "200006682", "name": "CA du Pays Ajaccien", "type": "CA", "population": "90000"}]
COMMUNES = [
    {"code": "2A004", "name": "Ajaccio", "epci": "200006682", "population": "70000", "postal_codes": "20000 20090",
     "latitude": "41.93", "longitude": "8.70"},
    {"code": "2A017", "name": "Alata", "epci": "200006682", "population": "3000", "postal_codes": "20167",
     "latitude": "41.97", "longitude": "8.76"},
    {"code": "2A090", "name": "Cuttoli-Corticchiato", "epci": "200006682", "population": "2000",
     "postal_codes": "20167", "latitude": "", "longitude": ""},
]  # fmt: skip


def write_geography(directory, *, communes=COMMUNES, epcis=EPCIS, departements=DEPARTEMENTS, regions=REGIONS):
    directory.mkdir(exist_ok=True)
    files = {
        "regions": regions,
        "departements": departements,
        "epci": epcis,
        "communes": [{"departement": "2A", "region": "94", **row} for row in communes],
    }
    columns = {
        "regions": ["code", "name"],
        "departements": ["code", "name", "region"],
        "epci": ["code", "name", "type", "population"],
        "communes": ["code", "name", "departement", "region", "epci", "population", "postal_codes", "latitude",
                     "longitude"],
    }  # fmt: skip
    for name, rows in files.items():
        with (directory / f"{name}.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns[name])
            writer.writeheader()
            writer.writerows(rows)
    return directory


# Slices of the shipped data ---------------------------------------------------------------------------------------


def test_slice_loads_communes_and_everything_above_them(slices):
    rows = [row for row in shipped_communes() if row["epci"] in (SAINT_OMER_AGGLO, FLANDRE_LYS, QUIMPER_AGGLO)]
    communes = Territory.objects.filter(kind="commune", code__in=[row["code"] for row in rows])
    assert communes.count() == len(rows) == slices.outcomes["commune"]["created"]
    assert slices.outcomes["epci"]["created"] == 3
    assert set(Territory.objects.filter(kind="departement").values_list("code", flat=True)) >= {"29", "59", "62"}
    saint_omer = Territory.objects.get(kind="commune", code="62765")
    expected = next(row for row in rows if row["code"] == "62765")
    assert (saint_omer.name, saint_omer.population) == ("Saint-Omer", int(expected["population"]))
    assert saint_omer.path == f"r32/d62/e{SAINT_OMER_AGGLO}/c62765/"
    assert saint_omer.parent.code == SAINT_OMER_AGGLO
    assert saint_omer.parent.parent.name == "Pas-de-Calais"
    assert saint_omer.parent.parent.parent.name == "Hauts-de-France"
    assert list(saint_omer.postal_codes.values_list("code", flat=True)) == expected["postal_codes"].split()
    assert saint_omer.latitude == pytest.approx(float(expected["latitude"]))
    quimper = Territory.objects.get(kind="commune", code="29232")
    assert quimper.path == f"r53/d29/e{QUIMPER_AGGLO}/c29232/"


def test_populations_come_from_the_files_and_are_summed_above_epcis(slices):
    rows = shipped_communes()
    epci = Territory.objects.get(kind="epci", code=SAINT_OMER_AGGLO)
    assert epci.population == int(shipped_epcis()[SAINT_OMER_AGGLO]["population"])
    pas_de_calais = Territory.objects.get(kind="departement", code="62")
    assert pas_de_calais.population == sum(int(row["population"]) for row in rows if row["departement"] == "62")
    hauts_de_france = Territory.objects.get(kind="region", code="32")
    assert hauts_de_france.population == sum(int(row["population"]) for row in rows if row["region"] == "32")


def test_an_epci_straddling_two_departements_covers_both(slices):
    epci = Territory.objects.get(kind="epci", code=FLANDRE_LYS)
    # Four communes on each side; the Nord's hold most of the population, so the EPCI sits under the Nord.
    assert epci.path == f"r32/d59/e{FLANDRE_LYS}/"
    assert epci.parent.code == "59"
    assert epci.area_paths == [f"r32/d59/e{FLANDRE_LYS}/", f"r32/d62/e{FLANDRE_LYS}/"]
    communes = Territory.objects.filter(kind="commune", parent=epci)
    assert communes.count() == 8
    by_departement = {commune.path[:8]: 0 for commune in communes}
    for commune in communes:
        by_departement[commune.path[:8]] += 1
        assert any(commune.path.startswith(prefix) for prefix in epci.paths)
        assert commune.path.startswith(f"r32/d{commune.code[:2]}/e{FLANDRE_LYS}/")  # under its own département
    assert by_departement == {"r32/d59/": 4, "r32/d62/": 4}
    single = Territory.objects.get(kind="epci", code=SAINT_OMER_AGGLO)
    assert single.area_paths == [] and single.paths == [single.path]


def test_reloading_the_same_data_changes_nothing(slices):
    before, version = snapshot(), catalogue_version()
    postal_before = set(TerritoryPostalCode.objects.values_list("id", "code", "territory_id"))
    report = territories_load_france(epcis=[SAINT_OMER_AGGLO, FLANDRE_LYS, QUIMPER_AGGLO])
    assert (report.created, report.updated, report.retired) == (0, 0, 0)
    assert report.unchanged == slices.created
    assert report.outcomes["postal code"]["created"] == report.outcomes["postal code"]["deleted"] == 0
    assert snapshot() == before
    assert set(TerritoryPostalCode.objects.values_list("id", "code", "territory_id")) == postal_before
    assert catalogue_version() == version  # nothing changed: caches keyed on it stay valid


def test_a_wider_selection_keeps_what_a_narrower_one_wrote(slices):
    epci_before = Territory.objects.get(kind="epci", code=SAINT_OMER_AGGLO)
    report = territories_load_france(departements=["62"])
    assert report.outcomes["epci"]["unchanged"] >= 2  # the two EPCIs of the Pas-de-Calais already there
    epci_after = Territory.objects.get(kind="epci", code=SAINT_OMER_AGGLO)
    assert (epci_after.pk, epci_after.path, epci_after.population) == (
        epci_before.pk,
        epci_before.path,
        epci_before.population,
    )
    assert report.updated == 0


def test_overseas_and_corsican_departements_load(reference):
    report = territories_load_france(departements=["976", "2a"])
    mayotte = Territory.objects.get(kind="departement", code="976")
    assert mayotte.parent.code == "06"
    rows = shipped_communes()
    assert Territory.objects.filter(kind="commune", path__startswith="r06/d976/").count() == sum(
        1 for row in rows if row["departement"] == "976"
    )
    assert Territory.objects.filter(kind="commune", path__startswith="r94/d2A/").count() == sum(
        1 for row in rows if row["departement"] == "2A"
    )
    assert report.notes == []


# Small files: renames, merges, missing centroids, bad rows --------------------------------------------------------


def test_a_renamed_commune_keeps_its_id(reference, tmp_path):
    territories_load_france(departements=["2A"], source=write_geography(tmp_path / "v1"))
    alata = Territory.objects.get(kind="commune", code="2A017")
    renamed = [dict(row, name="Alata-Nova", population="3100") if row["code"] == "2A017" else row for row in COMMUNES]
    report = territories_load_france(departements=["2A"], source=write_geography(tmp_path / "v2", communes=renamed))
    assert report.outcomes["commune"] == {"created": 0, "updated": 1, "unchanged": 2}
    # The département's population is a sum of its communes: it moves with Alata's.
    assert report.outcomes["departement"]["updated"] == 1
    alata.refresh_from_db()
    assert (alata.name, alata.name_folded, alata.population) == ("Alata-Nova", "alata nova", 3100)
    assert Territory.objects.get(kind="departement", code="2A").population == 70000 + 3100 + 2000


def test_postal_codes_follow_the_files(reference, tmp_path):
    territories_load_france(departements=["2A"], source=write_geography(tmp_path / "v1"))
    changed = [dict(row, postal_codes="20000") if row["code"] == "2A004" else row for row in COMMUNES]
    report = territories_load_france(departements=["2A"], source=write_geography(tmp_path / "v2", communes=changed))
    assert report.outcomes["postal code"]["deleted"] == 1
    assert list(TerritoryPostalCode.objects.filter(territory__code="2A004").values_list("code", flat=True)) == [
        "20000"
    ]


def test_a_commune_without_a_centroid_is_loaded_without_one(reference, tmp_path):
    territories_load_france(departements=["2A"], source=write_geography(tmp_path))
    cuttoli = Territory.objects.get(kind="commune", code="2A090")
    assert (cuttoli.latitude, cuttoli.longitude) == (None, None)
    # The EPCI's centroid is the mean of the communes that have one.
    epci = Territory.objects.get(kind="epci", code="200006682")
    assert epci.latitude == pytest.approx((41.93 + 41.97) / 2)


def test_a_merged_commune_is_kept_with_its_successor(reference, tmp_path):
    territories_load_france(departements=["2A"], source=write_geography(tmp_path / "v1"))
    alata = Territory.objects.get(kind="commune", code="2A017")
    organisation = make_organisation(territory_code="2A017")
    merges = tmp_path / "merges.csv"
    merges.write_text("old_code,new_code\n2A017,2A004\n")
    after = [row for row in COMMUNES if row["code"] != "2A017"]
    report = territories_load_france(
        departements=["2A"], source=write_geography(tmp_path / "v2", communes=after), merges=merges
    )
    assert report.outcomes["commune"]["retired"] == 1
    alata.refresh_from_db()
    assert alata.retired and alata.successor.code == "2A004"
    organisation.refresh_from_db()
    assert organisation.territory_id == alata.pk  # nothing that pointed to it is lost
    assert communes_resolve(["2A017"])["2A017"].code == "2A004"
    again = territories_load_france(
        departements=["2A"], source=write_geography(tmp_path / "v2", communes=after), merges=merges
    )
    assert (again.created, again.updated, again.retired) == (0, 0, 0)


def test_a_commune_gone_without_known_successor_is_retired(reference, tmp_path, anonymous_client):
    territories_load_france(departements=["2A"], source=write_geography(tmp_path / "v1"))
    after = [row for row in COMMUNES if row["code"] != "2A090"]
    report = territories_load_france(departements=["2A"], source=write_geography(tmp_path / "v2", communes=after))
    assert report.retired == 1
    cuttoli = Territory.objects.get(kind="commune", code="2A090")
    assert cuttoli.retired and cuttoli.successor is None
    assert "former commune" in communes_resolve(["2A090"])["2A090"]
    listed = anonymous_client.get("/api/v1/territories/", {"within": "departement:2A", "kind": "commune"}).json()
    assert [item["code"] for item in listed["results"]] == ["2A004", "2A017"]
    listed = anonymous_client.get(
        "/api/v1/territories/", {"within": "departement:2A", "kind": "commune", "include_retired": "true"}
    ).json()
    assert [item["code"] for item in listed["results"]] == ["2A004", "2A017", "2A090"]
    assert anonymous_client.get("/api/v1/territories/commune:2A090/").json()["retired"] is True


def test_a_commune_coming_back_is_current_again(reference, tmp_path):
    territories_load_france(departements=["2A"], source=write_geography(tmp_path / "v1"))
    after = [row for row in COMMUNES if row["code"] != "2A090"]
    territories_load_france(departements=["2A"], source=write_geography(tmp_path / "v2", communes=after))
    report = territories_load_france(departements=["2A"], source=tmp_path / "v1")
    assert report.outcomes["commune"]["updated"] == 1
    assert not Territory.objects.get(kind="commune", code="2A090").retired


def test_a_load_elsewhere_retires_nothing_here(slices, tmp_path):
    report = territories_load_france(departements=["2A"], source=write_geography(tmp_path))
    assert report.retired == 0
    assert not Territory.objects.filter(retired=True).exists()


def test_bad_rows_are_all_reported_and_nothing_is_written(reference, tmp_path):
    bad = [
        dict(COMMUNES[0], population="many"),
        dict(COMMUNES[1], epci="999999999"),
        dict(COMMUNES[2], postal_codes="2016", latitude="91", longitude="8"),
        dict(COMMUNES[2], code="2A999", departement="2B"),
    ]
    before = snapshot()
    with pytest.raises(InvalidInput) as raised:
        territories_load_france(departements=["2A"], source=write_geography(tmp_path, communes=bad))
    found = [(error.line, error.field) for error in raised.value.errors]
    assert found == [
        (2, "communes.csv.population"),
        (3, "communes.csv.epci"),
        (4, "communes.csv.postal_codes"),
        (4, "communes.csv.latitude"),
        (5, "communes.csv.departement"),
    ]
    assert "nothing was loaded" in str(raised.value.detail)
    assert snapshot() == before


def test_a_bad_merges_file_writes_nothing(reference, tmp_path):
    merges = tmp_path / "merges.csv"
    merges.write_text("old_code;new_code\n2A017;2A004\n2A017;2A090\nabc;2A004\n")
    with pytest.raises(InvalidInput) as raised:
        territories_load_france(departements=["2A"], source=write_geography(tmp_path / "v1"), merges=merges)
    assert [(error.line, error.message) for error in raised.value.errors] == [
        (3, "2A017 is merged into both 2A004 and 2A090."),
        (4, "'ABC' is not an INSEE commune code."),
    ]
    assert not Territory.objects.filter(code="2A004").exists()


# The command: selections, bad codes, summary --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--departement", "20", "'20' is not a département since 1976: Corsica is 2A (Corse-du-Sud) and 2B"),
        ("--departement", SAINT_OMER_AGGLO, f"EPCI CA du Pays de Saint-Omer: use --epci {SAINT_OMER_AGGLO}"),
        ("--departement", "97", "overseas départements have three digits: 971 Guadeloupe"),
        ("--departement", "99", "there is no département '99' in the data"),
        ("--epci", "62765", f"the commune Saint-Omer: load its territory (--epci {SAINT_OMER_AGGLO})"),
        ("--epci", "62", "'62' is not an EPCI SIREN; it is the département Pas-de-Calais: use --departement 62"),
        ("--epci", "123456789", "there is no EPCI with SIREN 123456789 in the data"),
        ("--epci", "12", "'12' is not an EPCI SIREN; it is the département Aveyron"),
        ("--epci", "abc", "'ABC' is not an EPCI SIREN (9 digits)"),
        ("--region", "62", "'62' is not a région code; it is the département Pas-de-Calais: use --departement 62"),
        ("--region", "99", "there is no région '99' in the data"),
    ],
)
def test_bad_codes_are_refused_by_name_and_nothing_is_written(reference, option, value, message):
    before = snapshot()
    with pytest.raises(CommandError) as raised:
        call_command("load_territories", option, value, stdout=StringIO(), stderr=StringIO())
    assert message in str(raised.value)
    assert snapshot() == before


def test_one_bad_code_among_good_ones_writes_nothing(reference):
    before = snapshot()
    with pytest.raises(CommandError) as raised:
        call_command("load_territories", "--epci", f"{QUIMPER_AGGLO},62765", "--departement", "20", stdout=StringIO())
    assert "2 territory code(s) refused" in str(raised.value)
    assert snapshot() == before


def test_a_single_digit_departement_is_read_with_its_zero_and_said(reference, tmp_path):
    departements = [{"code": "01", "name": "Ain", "region": "84"}]
    regions = [{"code": "84", "name": "Auvergne-Rhône-Alpes"}]
    communes = [dict(row, code=f"01{row['code'][2:]}", departement="01", region="84") for row in COMMUNES]
    source = tmp_path / "ain"
    write_geography(source, communes=communes, departements=departements, regions=regions)
    out = StringIO()
    call_command("load_territories", "--departement", "1", "--source", str(source), stdout=out, stderr=StringIO())
    assert "note: département '1' read as 01 (Ain)." in out.getvalue()
    assert Territory.objects.filter(kind="commune", path__startswith="r84/d01/").count() == 3


def test_command_prints_a_summary_per_kind_and_progress(reference, tmp_path):
    out, err = StringIO(), StringIO()
    call_command(
        "load_territories", "--region", "94", "--source", str(write_geography(tmp_path)), stdout=out, stderr=err
    )
    assert "commune: 3 created, 0 updated, 0 unchanged" in out.getvalue()
    assert "epci: 1 created, 0 updated, 0 unchanged" in out.getvalue()
    assert "postal code: 4 created" in out.getvalue()
    assert "commune: 3 created" in err.getvalue()  # progress, stage by stage


def test_command_merges_option(reference, tmp_path):
    call_command(
        "load_territories", "--region", "94", "--source", str(write_geography(tmp_path / "v1")), stdout=StringIO()
    )
    merges = tmp_path / "merges.csv"
    merges.write_text("DepComN,DepComA\n2A004,2A017\n")  # INSEE's column names, new code first
    after = [row for row in COMMUNES if row["code"] != "2A017"]
    out = StringIO()
    call_command(
        "load_territories", "--region", "94", "--merges", str(merges),
        "--source", str(write_geography(tmp_path / "v2", communes=after)), stdout=out, stderr=StringIO(),
    )  # fmt: skip
    assert "commune: 0 created, 0 updated, 2 unchanged, 1 retired" in out.getvalue()
    assert Territory.objects.get(kind="commune", code="2A017").successor.code == "2A004"


def test_the_setting_reads_djangos_territories_from_the_environment():
    show = "print(json.dumps(s.ANCRAGE_TERRITORIES))"
    assert json.loads(load_settings(show=show, DJANGO_DEBUG="true").stdout) == ["departement:23"]
    chosen = load_settings(show=show, DJANGO_DEBUG="true", DJANGO_TERRITORIES=f"region:32, epci:{QUIMPER_AGGLO}")
    assert json.loads(chosen.stdout) == ["region:32", f"epci:{QUIMPER_AGGLO}"]
    refused = load_settings(show=show, DJANGO_DEBUG="true", DJANGO_TERRITORIES="commune:62765")
    assert refused.returncode != 0
    assert "DJANGO_TERRITORIES: 'commune:62765' is not region:CODE, departement:CODE, epci:SIREN or all." in (
        refused.stderr
    )


@override_settings(ANCRAGE_TERRITORIES=[f"epci:{QUIMPER_AGGLO}"])
def test_without_a_selection_the_command_loads_the_deployments_territories(reference):
    out = StringIO()
    call_command("load_territories", stdout=out, stderr=StringIO())
    assert f"DJANGO_TERRITORIES: epci:{QUIMPER_AGGLO}" in out.getvalue()
    assert Territory.objects.get(kind="commune", code="29232").name == "Quimper"


def test_the_geojson_mode_still_loads_the_creuse_contours(reference):
    out = StringIO()
    call_command("load_territories", str(FRANCE_DIR.parent / "creuse-communes.geojson"), stdout=out)
    assert "0 created, 0 updated, 268 unchanged" in out.getvalue()


def test_a_path_and_a_selection_together_are_refused(reference):
    with pytest.raises(CommandError, match="either a GeoJSON PATH or a selection"):
        call_command("load_territories", "some.geojson", "--all", stdout=StringIO())


# The territories API --------------------------------------------------------------------------------------------


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["name"] for item in response.json()["results"]]


@pytest.mark.parametrize("query", ["saint omer", "Saint-Omer", "SAINT OMER", "saint-omér", "st omer", "St-Omer"])
def test_name_search_ignores_accents_case_hyphens_and_abbreviations(slices, anonymous_client, query):
    found = anonymous_client.get("/api/v1/territories/", {"q": query}).json()["results"]
    assert (found[0]["kind"], found[0]["code"]) == ("commune", "62765")  # the exact name first
    assert all("saint omer" in item["name"].lower().replace("-", " ") for item in found)


def test_name_search_orders_exact_then_prefix_then_others_then_population(slices, anonymous_client):
    found = names(anonymous_client.get("/api/v1/territories/", {"q": "saint omer"}))
    # Saint-Omer, then names starting with it (Saint-Omer-Capelle is not in the slice), then the agglomeration.
    assert found == ["Saint-Omer", "CA du Pays de Saint-Omer"]
    found = anonymous_client.get("/api/v1/territories/", {"q": "quimper"}).json()["results"]
    assert [item["name"] for item in found] == ["Quimper", "CA Quimper Bretagne Occidentale"]
    found = anonymous_client.get(
        "/api/v1/territories/", {"q": "saint", "kind": "commune", "within": "region:32", "page_size": 100}
    ).json()["results"]
    ranked = sorted(found, key=lambda item: (not item["name"].startswith("Saint"), -item["population"]))
    assert len(found) >= 3 and found == ranked  # names starting with the text first, then by population


def test_name_search_matches_the_start_of_words(slices, anonymous_client):
    assert names(anonymous_client.get("/api/v1/territories/", {"q": "omer", "kind": "commune"})) == ["Saint-Omer"]
    for name in names(anonymous_client.get("/api/v1/territories/", {"q": "mer", "kind": "commune"})):
        assert any(word.startswith("mer") for word in fold_text(name).split()), name


def test_postal_code_search(slices, anonymous_client):
    rows = [
        row
        for row in shipped_communes()
        if "62500" in row["postal_codes"].split() and row["epci"] in (SAINT_OMER_AGGLO, FLANDRE_LYS, QUIMPER_AGGLO)
    ]
    found = anonymous_client.get("/api/v1/territories/", {"postal_code": "62500", "page_size": 100}).json()
    assert {item["code"] for item in found["results"]} == {row["code"] for row in rows}
    assert found["results"][0]["name"] == "Saint-Omer"
    populations = [item["population"] for item in found["results"]]
    assert populations == sorted(populations, reverse=True)
    assert all("62500" in item["postal_codes"] for item in found["results"])


@pytest.mark.parametrize("value", ["6250", "625000", "62 500", "abcde", "2A004"])
def test_postal_code_must_be_five_digits(reference, anonymous_client, value):
    response = anonymous_client.get("/api/v1/territories/", {"postal_code": value})
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["field"] == "postal_code" and "exactly 5 digits" in error["message"]


def test_territories_carry_population_postal_codes_and_successor(slices, anonymous_client):
    body = anonymous_client.get("/api/v1/territories/commune:62765/").json()
    assert body["population"] == Territory.objects.get(kind="commune", code="62765").population
    assert body["postal_codes"] == ["62500"]
    assert (body["retired"], body["successor_code"]) == (False, None)
    departement = anonymous_client.get("/api/v1/territories/departement:62/").json()
    assert departement["population"] == sum(
        int(row["population"]) for row in shipped_communes() if row["departement"] == "62"
    )
    assert departement["postal_codes"] == []


def test_list_query_count_does_not_grow_with_the_page(slices, anonymous_client, django_assert_num_queries):
    # count, page, postal codes of the page
    with django_assert_num_queries(3):
        anonymous_client.get("/api/v1/territories/", {"kind": "commune", "page_size": 1})
    with django_assert_num_queries(3):
        anonymous_client.get("/api/v1/territories/", {"kind": "commune", "page_size": 100, "q": "saint"})
    with django_assert_num_queries(3):
        anonymous_client.get("/api/v1/territories/", {"postal_code": "62500", "page_size": 100})


def test_an_offer_in_a_commune_without_a_centroid_needs_its_own_position(reference):
    territories_load_france(departements=["975"])  # Saint-Pierre-et-Miquelon: no centroid in the files
    saint_pierre = Territory.objects.get(kind="commune", code="97502")
    assert saint_pierre.latitude is None and saint_pierre.parent.kind == "departement"  # no EPCI either
    organisation = make_organisation(territory_code="97502")
    with pytest.raises(InvalidInput) as raised:
        make_offer(organisation=organisation, commune="97502")
    assert "Saint-Pierre has no known centre: give the offer's latitude and longitude." in [
        error.message for error in raised.value.errors
    ]
    offer = make_offer(organisation=organisation, commune="97502", latitude=46.78, longitude=-56.17)
    assert (offer.latitude, offer.commune_id) == (46.78, saint_pierre.pk)


def test_an_empty_selection_is_refused_not_replaced_by_the_default(reference):
    with pytest.raises(CommandError, match="Nothing to load"):
        call_command("load_territories", "--epci", " , ", stdout=StringIO())


def test_missing_or_unreadable_files_are_errors_not_tracebacks(reference, tmp_path):
    with pytest.raises(CommandError, match=r"regions.csv \(or regions.csv.gz\) does not exist"):
        call_command("load_territories", "--all", "--source", str(tmp_path / "nowhere"), stdout=StringIO())
    source = write_geography(tmp_path / "broken")
    (source / "communes.csv").unlink()
    (source / "communes.csv.gz").write_bytes(b"not gzip")
    with pytest.raises(CommandError, match="cannot read communes.csv.gz"):
        call_command("load_territories", "--all", "--source", str(source), stdout=StringIO())
    with pytest.raises(CommandError, match="The merges file cannot be read"):
        call_command(
            "load_territories", "--epci", QUIMPER_AGGLO, "--merges", str(tmp_path / "no.csv"), stdout=StringIO()
        )


def test_territory_codes_in_the_api_corsica_leading_zeros_and_overseas(reference, tmp_path, anonymous_client):
    territories_load_france(departements=["2A"], source=write_geography(tmp_path))
    for code in ("departement:2a", "departement:2A"):
        found = anonymous_client.get("/api/v1/territories/", {"within": code, "kind": "commune"}).json()
        assert found["count"] == 3
    expected = {
        "20": "No territory has the code '20': Corsica is 2A (Corse-du-Sud) and 2B (Haute-Corse) since 1976.",
        "departement:97": "overseas départements have three digits (971 Guadeloupe ... 976 Mayotte).",
        "3": "No territory has the code '3'.",  # no département 03 here: nothing to suggest
    }
    for code, message in expected.items():
        response = anonymous_client.get("/api/v1/territories/", {"within": code})
        assert response.status_code == 400
        assert message in response.json()["errors"][0]["message"]
    Territory.objects.create(kind="departement", code="03", name="Allier", path="r84/d03/")
    response = anonymous_client.get("/api/v1/offers/", {"territory": "3"})
    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "field": "territory",
        "line": None,
        "code": "not_found",
        "message": "No territory has the code '3': département codes have two digits, departement:03 is Allier.",
    }
