"""Report aggregation, comparison statuses and IPA tables on hand-built result rows (no database)."""

import pytest

from matching import reports
from matching.reports import ReportLabels

LABELS = ReportLabels(
    domain={"housing": "Logement", "jobs": "Emploi et activité"},
    theme={"rent": "Location", "social-housing": "Logement social", "coworking": "Coworking et tiers-lieux"},
    audience={"families": "Familles avec enfants", "retirees": "Retraités"},
    territory={
        "departement:23": "Creuse",
        "epci:200034825": "Communauté d'agglomération du Grand Guéret",
        "commune:23096": "Guéret",
        "commune:23001": "Ahun",
    },
)


def row(need_id, **values):
    base = {
        "id": need_id,
        "need_id": need_id,
        "statement": f"Besoin {need_id}",
        "audience_code": "families",
        "domain_code": "housing",
        "theme_codes": [],
        "territory_path": "",
        "epci_code": "",
        "commune_code": "",
        "importance": 0.5,
        "satisfaction": None,
        "demand_volume": None,
        "coverage": 0.5,
        "recommendation": "adjust",
    }
    base.update(values)
    base.setdefault("gap", base["importance"] * (1 - base["coverage"]))
    return base


# A: gap 0.8 × 0.5 = 0.4; B: 0.6 × 1 = 0.6; C: 1.0 × 0.1 = 0.1; D: 0.5 × 0.8 = 0.4.
ROWS = [
    row(1, theme_codes=["rent"], territory_path="r75/d23/e200034825/c23096/", importance=0.8, coverage=0.5,
        satisfaction=0.3, demand_volume=10, recommendation="adjust"),
    row(2, theme_codes=["rent", "social-housing"], audience_code="retirees",
        territory_path="r75/d23/e200034825/c23001/", importance=0.6, coverage=0.0, recommendation="create"),
    row(3, domain_code="jobs", theme_codes=["coworking"], territory_path="r75/d23/", importance=1.0, coverage=0.9,
        satisfaction=0.9, demand_volume=5, recommendation="maintain"),
    row(4, domain_code="jobs", importance=0.5, coverage=0.2, satisfaction=0.5, recommendation="promote"),
]  # fmt: skip


def groups_by_label(report):
    return {" / ".join(value["label"] for value in group["dimensions"]): group for group in report["groups"]}


def test_one_dimension_domain_figures():
    report = reports.report_aggregate(ROWS, group_by=["domain"], labels=LABELS)
    assert [group["dimensions"][0]["code"] for group in report["groups"]] == ["housing", "jobs"]  # 1.0 > 0.5
    housing, jobs = report["groups"]
    assert housing["dimensions"] == [{"dimension": "domain", "code": "housing", "label": "Logement"}]
    assert housing["need_count"] == 2
    assert housing["importance_total"] == pytest.approx(1.4)  # 0.8 + 0.6
    assert housing["demand_volume_total"] == 10 and housing["demand_volume_known"] == 1
    assert housing["coverage_mean"] == pytest.approx(0.25)  # (0.5 + 0.0) / 2
    assert housing["gap_total"] == pytest.approx(1.0)  # 0.4 + 0.6
    assert housing["gap_mean"] == pytest.approx(0.5)
    assert housing["satisfaction_mean"] == pytest.approx(0.3)  # only A has one
    assert housing["recommendations"] == {"create": 1, "adjust": 1, "promote": 0, "maintain": 0}
    assert [top["need_id"] for top in housing["top_gaps"]] == [2, 1]
    assert housing["top_gaps"][0] | {} == {
        "need_id": 2,
        "statement": "Besoin 2",
        "gap": 0.6,
        "coverage": 0.0,
        "importance": 0.6,
        "recommendation": "create",
        "recommendation_label": "Créer une offre",
        "audience_label": "Retraités",
        "territory_label": "Ahun",
    }
    assert jobs["importance_total"] == pytest.approx(1.5)  # 1.0 + 0.5
    assert jobs["coverage_mean"] == pytest.approx(0.55)  # (0.9 + 0.2) / 2
    assert jobs["gap_total"] == pytest.approx(0.5)  # 0.1 + 0.4
    assert jobs["satisfaction_mean"] == pytest.approx(0.7)  # (0.9 + 0.5) / 2
    assert jobs["recommendations"] == {"create": 0, "adjust": 0, "promote": 1, "maintain": 1}
    assert report["totals"]["need_count"] == 4
    assert report["totals"]["gap_total"] == pytest.approx(1.5)
    assert report["totals"]["demand_volume_total"] == 15


def test_top_is_configurable():
    report = reports.report_aggregate(ROWS, group_by=["domain"], labels=LABELS, top=1)
    assert [len(group["top_gaps"]) for group in report["groups"]] == [1, 1]
    assert reports.report_aggregate(ROWS, group_by=["domain"], labels=LABELS, top=0)["groups"][0]["top_gaps"] == []


def test_a_need_counts_in_each_of_its_themes():
    report = reports.report_aggregate(ROWS, group_by=["theme"], labels=LABELS)
    groups = groups_by_label(report)
    assert list(groups) == ["Location", "Logement social", "Sans thème", "Coworking et tiers-lieux"]
    assert groups["Location"]["need_count"] == 2 and groups["Location"]["gap_total"] == pytest.approx(1.0)  # A + B
    assert groups["Logement social"]["gap_total"] == pytest.approx(0.6)  # B again
    assert groups["Sans thème"]["dimensions"][0]["code"] == ""
    # 5 memberships for 4 needs: theme groups add up to more than the totals, by design.
    assert sum(group["need_count"] for group in report["groups"]) == 5
    assert report["totals"]["need_count"] == 4


def test_two_dimensions():
    report = reports.report_aggregate(ROWS, group_by=["domain", "audience"], labels=LABELS)
    groups = groups_by_label(report)
    assert list(groups) == [
        "Logement / Retraités",  # B 0.6
        "Emploi et activité / Familles avec enfants",  # C 0.1 + D 0.4
        "Logement / Familles avec enfants",  # A 0.4
    ]
    assert groups["Emploi et activité / Familles avec enfants"]["need_count"] == 2
    assert groups["Emploi et activité / Familles avec enfants"]["gap_total"] == pytest.approx(0.5)
    assert groups["Logement / Retraités"]["dimensions"][1] == {
        "dimension": "audience",
        "code": "retirees",
        "label": "Retraités",
    }


def test_territory_at_epci_level_groups_wider_needs_under_their_scope():
    report = reports.report_aggregate(ROWS, group_by=["territory"], labels=LABELS, territory_level="epci")
    groups = {group["dimensions"][0]["code"]: group for group in report["groups"]}
    assert set(groups) == {"epci:200034825", "departement:23", ""}
    assert groups["epci:200034825"]["dimensions"][0]["label"] == "Communauté d'agglomération du Grand Guéret"
    assert groups["epci:200034825"]["gap_total"] == pytest.approx(1.0)  # A + B
    assert groups["departement:23"]["dimensions"][0]["label"] == "Creuse (tout le département)"
    assert groups[""]["dimensions"][0]["label"] == "Tout le territoire"
    assert groups[""]["gap_total"] == pytest.approx(0.4)  # D


def test_territory_at_commune_level():
    rows = [*ROWS, row(5, territory_path="r75/d23/e200034825/", importance=0.5, coverage=0.0)]  # gap 0.5
    report = reports.report_aggregate(rows, group_by=["territory"], labels=LABELS, territory_level="commune")
    labels = {group["dimensions"][0]["code"]: group["dimensions"][0]["label"] for group in report["groups"]}
    gaps = {group["dimensions"][0]["code"]: group["gap_total"] for group in report["groups"]}
    assert labels == {
        "commune:23096": "Guéret",
        "commune:23001": "Ahun",
        "epci:200034825": "Communauté d'agglomération du Grand Guéret (toute l'intercommunalité)",
        "departement:23": "Creuse (tout le département)",
        "": "Tout le territoire",
    }
    assert gaps == pytest.approx(
        {"commune:23096": 0.4, "commune:23001": 0.6, "epci:200034825": 0.5, "departement:23": 0.1, "": 0.4}
    )


def test_territory_falls_back_to_codes_without_path():
    assert reports.territory_group_code({"territory_path": "", "commune_code": "23096"}, "commune") == "commune:23096"
    assert reports.territory_group_code({"territory_path": "", "epci_code": "200034825"}, "epci") == "epci:200034825"


def test_unknown_codes_are_shown_as_themselves():
    report = reports.report_aggregate([row(1, domain_code="new-domain")], group_by=["domain"], labels=LABELS)
    assert report["groups"][0]["dimensions"][0]["label"] == "new-domain"


@pytest.mark.parametrize("group_by", [[], ["domain", "theme", "audience"], ["colour"], ["domain", "domain"]])
def test_invalid_group_by_is_refused(group_by):
    with pytest.raises(ValueError, match="one or two"):
        reports.report_aggregate(ROWS, group_by=group_by, labels=LABELS)


def test_empty_run_gives_empty_groups():
    report = reports.report_aggregate([], group_by=["domain"], labels=LABELS)
    assert report["groups"] == []
    assert report["totals"]["need_count"] == 0 and report["totals"]["coverage_mean"] is None


def test_csv_rows_follow_the_header():
    report = reports.report_aggregate(ROWS, group_by=["domain"], labels=LABELS, top=1)
    lines = list(reports.report_csv_rows(report))
    assert len(lines[0]) == len(reports.REPORT_CSV_HEADER)
    assert lines[0][:6] == ["Domaine", "housing", "Logement", "", "", ""]
    assert lines[0][-1] == "Besoin 2 – Retraités, Ahun (écart 0.60, Créer une offre)"


def test_matrix_orders_rows_and_columns_by_total_gap_and_marks_empty_cells():
    report = reports.report_aggregate(ROWS, group_by=["domain", "audience"], labels=LABELS)
    row_labels, col_labels, values = reports.report_matrix(report)
    assert row_labels == ["Logement", "Emploi et activité"]  # 1.0, 0.5
    assert col_labels == ["Familles avec enfants", "Retraités"]  # 0.9, 0.6
    assert values == [[pytest.approx(0.4), pytest.approx(0.6)], [pytest.approx(0.5), None]]


# Comparison -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ((0.02, "maintain"), (0.3, "adjust"), "opened"),  # no gap (under the floor) -> gap
        ((0.3, "maintain"), (0.3, "adjust"), "opened"),  # maintain counts as no gap
        ((0.4, "create"), (0.0, "maintain"), "closed"),
        ((0.4, "create"), (0.05, "adjust"), "closed"),  # at the floor = no gap
        ((0.2, "adjust"), (0.35, "adjust"), "grew"),
        ((0.25, "adjust"), (0.30, "adjust"), "grew"),  # exactly gap_delta
        ((0.5, "create"), (0.3, "adjust"), "shrank"),
        ((0.3, "adjust"), (0.32, "adjust"), "unchanged"),  # under gap_delta
        ((0.3, "maintain"), (0.3, "maintain"), "unchanged"),
        (None, (0.3, "adjust"), "new"),
        ((0.3, "adjust"), None, "removed"),
    ],
)
def test_compare_status(before, after, expected):
    def as_row(value):
        return None if value is None else {"gap": value[0], "recommendation": value[1]}

    assert reports.compare_status(as_row(before), as_row(after), gap_floor=0.05, gap_delta=0.05) == expected


def test_compare_thresholds_are_parameters():
    before, after = {"gap": 0.2, "recommendation": "adjust"}, {"gap": 0.35, "recommendation": "adjust"}
    assert reports.compare_status(before, after, gap_delta=0.2) == "unchanged"
    assert reports.compare_status(before, after, gap_floor=0.3) == "opened"


# IPA --------------------------------------------------------------------------------------------------------------

IPA_ROWS = [
    row(1, importance=0.9, satisfaction=0.2),
    row(2, importance=0.8, satisfaction=0.9),
    row(3, importance=0.2, satisfaction=0.1),
    row(4, importance=0.3, satisfaction=0.8),
    row(5, importance=0.7, satisfaction=None),
]


def quadrants(table):
    return {need["need_id"]: need["quadrant"] for need in table["needs"]}


def test_ipa_mean_crosshairs_and_quadrants():
    table = reports.ipa_table(IPA_ROWS, rule="mean")
    # Mean over the four needs with a satisfaction: importance 2.2 / 4, satisfaction 2.0 / 4.
    assert table["crosshair"] == {"rule": "mean", "importance": 0.55, "satisfaction": 0.5}
    assert quadrants(table) == {
        1: "concentrate-here",
        2: "keep-up-the-good-work",
        3: "low-priority",
        4: "possible-overkill",
        5: "",
    }
    counts = {item["code"]: (item["label"], item["need_count"]) for item in table["quadrants"]}
    assert counts["concentrate-here"] == ("Concentrer les efforts", 1)
    assert counts[""] == ("Non classé", 1)
    assert table["needs"][0]["need_id"] == 1 and table["needs"][0]["ipa_gap"] == pytest.approx(0.7)


def test_ipa_median_midpoint_and_given():
    assert reports.ipa_table(IPA_ROWS, rule="median")["crosshair"] == {
        "rule": "median",
        "importance": 0.55,  # (0.3 + 0.8) / 2
        "satisfaction": 0.5,  # (0.2 + 0.8) / 2
    }
    midpoint = reports.ipa_table(IPA_ROWS, rule="midpoint")
    assert midpoint["crosshair"]["importance"] == 0.5 and midpoint["crosshair"]["satisfaction"] == 0.5
    given = reports.ipa_table(IPA_ROWS, rule="given", given=(0.85, 0.95))
    assert given["crosshair"] == {"rule": "given", "importance": 0.85, "satisfaction": 0.95}
    # Only need 1 (importance 0.9) is above 0.85, and nobody reaches satisfaction 0.95.
    assert quadrants(given) == {1: "concentrate-here", 2: "low-priority", 3: "low-priority", 4: "low-priority", 5: ""}


def test_ipa_without_any_satisfaction_has_no_crosshairs():
    table = reports.ipa_table([row(1, satisfaction=None)], rule="mean")
    assert table["crosshair"]["importance"] is None
    assert quadrants(table) == {1: ""}


def test_reports_module_does_not_import_django():
    import subprocess
    import sys

    code = "import sys, matching.reports, matching.charts; sys.exit('django' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_pure_labels_agree_with_the_model_choices():
    # The reports and the scoring cannot import the models: their codes and French labels (the pure modules'
    # defaults, and the CSV headers) are kept in step here with the models' choices translated into French.
    from django.utils import translation

    from matching import labels
    from matching.reasons import RECOMMENDATION_LABELS
    from matching.scoring import IPA_QUADRANTS

    with translation.override("fr"):
        assert labels.recommendation_labels() == RECOMMENDATION_LABELS
        assert labels.ipa_quadrant_labels() == reports.IPA_QUADRANT_LABELS
        assert labels.report_texts() == reports.ReportTexts()
    assert list(reports.IPA_QUADRANT_LABELS) == [*IPA_QUADRANTS, ""]
