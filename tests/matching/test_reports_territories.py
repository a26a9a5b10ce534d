"""Report territory levels (région, département, EPCI, commune), custom territories and EPCIs straddling two
départements, and per-inhabitant figures, on hand-built rows (no database)."""

import subprocess
import sys

import pytest

from matching import reports
from matching.reports import ReportLabels
from tests.matching.test_reports import row

# A straddling EPCI (seat in the Creuse, communes in the Creuse and the Haute-Vienne) and a custom territory made of
# it and of the Grand Guéret.
STRADDLING = "200000001"
STRADDLING_PATHS = ["r75/d23/e200000001/", "r75/d87/e200000001/"]
GRAND_GUERET_PATH = "r75/d23/e200034825/"
LABELS = ReportLabels(
    domain={"housing": "Logement"},
    territory={
        "region:75": "Nouvelle-Aquitaine",
        "departement:23": "Creuse",
        "departement:87": "Haute-Vienne",
        "epci:200034825": "CA du Grand Guéret",
        f"epci:{STRADDLING}": "CC à cheval",
        "commune:23096": "Guéret",
        "commune:23500": "Creusoise",
        "commune:87500": "Limousine",
        "custom:duo": "Duo",
    },
    areas={f"epci:{STRADDLING}": STRADDLING_PATHS, "custom:duo": [GRAND_GUERET_PATH, *STRADDLING_PATHS]},
    population={
        "region:75": 6_000_000,
        "departement:23": 116_000,
        "departement:87": 372_000,
        "epci:200034825": 28_000,
        f"epci:{STRADDLING}": 8_000,
        "commune:23096": 13_000,
        "custom:duo": 36_000,
    },
)
ROWS = [
    row(1, territory_path="r75/d23/e200034825/c23096/", importance=1.0, coverage=0.5, demand_volume=26),
    row(2, territory_path="r75/d23/e200000001/c23500/", importance=0.8, coverage=0.0),
    row(3, territory_path="r75/d87/e200000001/c87500/", importance=0.6, coverage=0.0, demand_volume=4),
    row(4, territory_path="r75/d23/e200000001/", importance=0.4, coverage=0.0),  # the whole straddling EPCI
    row(5, territory_path="xduo/", importance=0.2, coverage=0.0),  # the whole custom territory
]


def codes(level):
    """Each need's group at `level` in the report: (qualified code, label)."""
    report = reports.report_aggregate(ROWS, group_by=["territory"], labels=LABELS, territory_level=level)
    labels = {group["dimensions"][0]["code"]: group["dimensions"][0]["label"] for group in report["groups"]}
    grouped = {}
    for need in ROWS:
        code = reports.territory_group_code(need, level, LABELS.areas)
        grouped[need["need_id"]] = (code, labels[code])
    assert sum(group["need_count"] for group in report["groups"]) == len(ROWS)
    return grouped


def test_epci_level_keeps_a_straddling_epci_whole_and_a_custom_territory_apart():
    grouped = codes("epci")
    assert grouped[1] == ("epci:200034825", "CA du Grand Guéret")
    # Both communes of the straddling EPCI are in it, on either side of the départements' border.
    assert grouped[2] == grouped[3] == grouped[4] == (f"epci:{STRADDLING}", "CC à cheval")
    assert grouped[5] == ("custom:duo", "Duo (territoire de projet)")


def test_departement_level():
    grouped = codes("departement")
    assert grouped[1][0] == grouped[2][0] == "departement:23"
    assert grouped[3] == ("departement:87", "Haute-Vienne")
    # The straddling EPCI's own need spans both départements: its own group, said so.
    assert grouped[4] == (f"epci:{STRADDLING}", "CC à cheval (sur plusieurs départements)")
    assert grouped[5] == ("custom:duo", "Duo (territoire de projet)")


def test_region_level_puts_a_custom_territory_inside_one_region_under_it():
    grouped = codes("region")
    assert {code for code, _label in grouped.values()} == {"region:75"}


def test_commune_level_labels_wider_needs():
    grouped = codes("commune")
    assert grouped[3] == ("commune:87500", "Limousine")
    assert grouped[4] == (f"epci:{STRADDLING}", "CC à cheval (toute l'intercommunalité)")


def test_compare_scope_of_a_custom_territory_holds_its_members_needs():
    scope = {"territory_path": "xduo/", "territory_paths": LABELS.areas["custom:duo"]}
    assert reports.scope_contains(scope, ROWS[2]) and reports.scope_contains(scope, ROWS[4])
    assert not reports.scope_contains(scope, row(9, territory_path="r75/d87/e200000002/c87001/"))
    # A custom territory's need is in a scope holding all its members, not in one holding only some.
    assert reports.scope_contains({"territory_path": "r75/"}, ROWS[4], LABELS.areas)
    assert not reports.scope_contains({"territory_path": "r75/d23/"}, ROWS[4], LABELS.areas)


OFFERS = [
    {"commune_path": "r75/d23/e200034825/c23096/", "domain_code": "housing", "theme_codes": [], "audience_codes": []},
    {"commune_path": "r75/d23/e200034825/c23096/", "domain_code": "jobs", "theme_codes": [], "audience_codes": []},
    {"commune_path": "r75/d87/e200000001/c87500/", "domain_code": "housing", "theme_codes": [], "audience_codes": []},
]


def test_per_inhabitant_figures_by_epci():
    report = reports.report_aggregate(ROWS, group_by=["territory"], labels=LABELS, territory_level="epci")
    report = reports.report_per_inhabitant(report, offers=OFFERS, labels=LABELS, scope_code="custom:duo")
    groups = {group["dimensions"][0]["code"]: group for group in report["groups"]}
    gueret = groups["epci:200034825"]
    assert gueret["population"] == 28_000 and gueret["offer_count"] == 2
    assert gueret["demand_volume_per_1000"] == pytest.approx(26 * 1000 / 28_000, abs=1e-4)
    assert gueret["gap_per_1000"] == pytest.approx(0.5 * 1000 / 28_000, abs=1e-4)
    assert gueret["offers_per_10000"] == pytest.approx(2 * 10_000 / 28_000, abs=1e-4)
    straddling = groups[f"epci:{STRADDLING}"]
    assert straddling["offer_count"] == 1  # the offer filed under the Haute-Vienne counts for it
    assert straddling["demand_volume_per_1000"] == pytest.approx(0.5, abs=1e-4)  # 4 for 8,000 inhabitants
    custom = groups["custom:duo"]
    assert custom["offer_count"] == 3 and custom["population"] == 36_000
    assert custom["demand_volume_per_1000"] is None  # no demand volume stated
    totals = report["totals"]
    assert totals["population"] == 36_000 and totals["offer_count"] == 3


def test_per_inhabitant_figures_are_null_without_population_and_follow_the_other_dimension():
    labels = ReportLabels(territory=LABELS.territory, areas=LABELS.areas)
    report = reports.report_aggregate(ROWS, group_by=["territory", "domain"], labels=labels, territory_level="epci")
    report = reports.report_per_inhabitant(report, offers=OFFERS, labels=labels)
    gueret = next(group for group in report["groups"] if group["dimensions"][0]["code"] == "epci:200034825")
    assert gueret["population"] is None
    assert gueret["offers_per_10000"] is None and gueret["gap_per_1000"] is None
    assert gueret["offer_count"] == 1  # housing only, not the jobs offer
    line = dict(zip(reports.REPORT_CSV_HEADER, next(reports.report_csv_rows(report)), strict=True))
    assert {"Population", "Offres pour 10 000 habitants", "Écart pour 1 000 habitants"} <= set(line)


def test_reports_import_without_django():
    code = "import sys, matching.reports; assert 'django' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
