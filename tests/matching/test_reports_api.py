"""The report, compare and IPA endpoints: roles, errors, JSON figures, CSV and images."""

import csv
import io
import xml.etree.ElementTree as ET

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image

from matching.models import RunStatus
from tests.conftest import client_for, make_user
from tests.matching.factories import make_need_result, make_report_need, make_run

pytestmark = pytest.mark.django_db

GUERET = "r75/d23/e200034825/c23096/"
AHUN = "r75/d23/e200067189/c23001/"


def url(run, endpoint="report", **params):
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"/api/v1/matching/runs/{run.id}/{endpoint}/" + (f"?{query}" if query else "")


@pytest.fixture
def run(reference):
    run = make_run()
    # gaps: 0.8 × 0.5 = 0.4, 0.6 × 1.0 = 0.6, 1.0 × 0.1 = 0.1
    make_need_result(run, statement="Logement pour famille", theme_codes=["rent"], territory_path=GUERET,
                     importance=0.8, coverage=0.5, satisfaction=0.3, recommendation="adjust")  # fmt: skip
    make_need_result(run, statement="Logement social", audience_code="retirees",
                     theme_codes=["rent", "social-housing"], territory_path=AHUN, importance=0.6, coverage=0.0,
                     recommendation="create")  # fmt: skip
    make_need_result(run, statement="Coworking", domain_code="jobs", theme_codes=["coworking"],
                     territory_path="r75/d23/", importance=1.0, coverage=0.9, satisfaction=0.9,
                     recommendation="maintain")  # fmt: skip
    return run


@pytest.mark.parametrize(("role", "expected"), [("anonymous", 401), ("editor", 403), ("analyst", 200), ("admin", 200)])
@pytest.mark.parametrize("endpoint", ["report", "ipa"])
def test_roles(request, run, role, expected, endpoint):
    client = request.getfixturevalue(f"{'editor_a' if role == 'editor' else role}_client")
    assert client.get(url(run, endpoint)).status_code == expected


@pytest.mark.parametrize(("role", "expected"), [("anonymous", 401), ("editor", 403), ("admin", 200)])
def test_compare_roles(request, run, role, expected):
    baseline = make_run()
    client = request.getfixturevalue(f"{'editor_a' if role == 'editor' else role}_client")
    assert client.get(url(run, "compare", baseline=baseline.id)).status_code == expected


def test_report_json_by_domain(analyst_client, run):
    response = analyst_client.get(url(run, group_by="domain"))
    assert response.status_code == 200
    body = response.json()
    assert body["run"] == str(run.id) and body["group_by"] == ["domain"] and body["top"] == 3
    housing = body["groups"][0]
    assert housing["dimensions"] == [{"dimension": "domain", "code": "housing", "label": "Logement"}]
    assert housing["need_count"] == 2
    assert housing["gap_total"] == pytest.approx(1.0)
    assert housing["recommendations"] == {"create": 1, "adjust": 1, "promote": 0, "maintain": 0}
    assert [top["statement"] for top in housing["top_gaps"]] == ["Logement social", "Logement pour famille"]
    assert body["totals"]["gap_total"] == pytest.approx(1.1)


def test_report_territory_labels_come_from_the_territories(analyst_client, run):
    body = analyst_client.get(url(run, group_by="territory,audience", territory_level="epci")).json()
    labels = {tuple(value["label"] for value in group["dimensions"]) for group in body["groups"]}
    assert labels == {
        ("Communauté de communes Creuse Sud Ouest", "Retraités"),
        ("Communauté d'agglomération du Grand Guéret", "Familles avec enfants"),
        ("Creuse (tout le département)", "Familles avec enfants"),
    }
    communes = analyst_client.get(url(run, group_by="territory", territory_level="commune")).json()
    assert {group["dimensions"][0]["label"] for group in communes["groups"]} == {
        "Guéret",
        "Ahun",
        "Creuse (tout le département)",
    }


@pytest.mark.parametrize(
    ("params", "field", "fragment"),
    [
        ({"group_by": "colour"}, "group_by", "allowed values: domain, theme, audience, territory"),
        ({"group_by": "domain,theme,audience"}, "group_by", "one to 2"),
        ({"territory_level": "canton"}, "territory_level", "canton"),
        ({"top": "50"}, "top", "20"),
        ({"format": "pdf"}, "format", "pdf"),
    ],
)
def test_report_bad_parameters_are_400(analyst_client, run, params, field, fragment):
    response = analyst_client.get(url(run, **params))
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors[0]["field"] == field and fragment in errors[0]["message"]


@pytest.mark.parametrize("status", [RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.FAILED])
@pytest.mark.parametrize("endpoint", ["report", "ipa"])
def test_unfinished_run_is_409(analyst_client, reference, status, endpoint):
    response = analyst_client.get(url(make_run(status=status), endpoint))
    assert response.status_code == 409
    assert response.json()["code"] == "run_not_succeeded"
    assert "succeeded" in response.json()["message"]


def test_unknown_run_is_404(analyst_client, reference):
    response = analyst_client.get("/api/v1/matching/runs/00000000-0000-0000-0000-000000000000/report/")
    assert response.status_code == 404


def test_report_json_query_count_is_constant(analyst_user, reference):
    small, large = make_run(), make_run()
    make_need_result(small, territory_path=GUERET)
    for number in range(30):
        make_need_result(large, theme_codes=["rent", "buy"], territory_path=[GUERET, AHUN][number % 2])
    counts = []
    for run in (small, large):
        client = client_for(type(analyst_user).objects.get(pk=analyst_user.pk))  # role check not cached
        with CaptureQueriesContext(connection) as context:
            assert client.get(url(run, group_by="territory,theme")).status_code == 200
        counts.append(len(context))
    # role, territories (analyst_scope), run, results, domains, themes, audiences, territories, offers located
    # (per-inhabitant figures)
    assert counts[0] == counts[1] == 9


def read_csv(response):
    content = b"".join(response.streaming_content)
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_report_csv(analyst_client, run):
    make_need_result(run, statement='=HYPERLINK("http://x") ; "quoted", comma', domain_code="culture",
                     importance=1.0, coverage=0.0)  # fmt: skip
    response = analyst_client.get(url(run, group_by="domain", format="csv"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    lines = read_csv(response)
    assert lines[0][:3] == ["Dimension 1", "Code 1", "Libellé 1"] and "Écart total" in lines[0]
    # 1.0 and 1.0 (tie broken by label), then 0.1.
    assert [line[2] for line in lines[1:]] == ["Culture", "Logement", "Emploi et activité"]
    culture = lines[1]
    top_cell = culture[lines[0].index("Principaux écarts")]
    # The cell starts with "=": exported as text (leading quote), with quotes and commas escaped by the writer.
    assert top_cell == (
        '\'=HYPERLINK("http://x") ; "quoted", comma – Familles avec enfants, Tout le territoire '
        "(écart 1.00, Adapter l'offre existante)"
    )
    assert culture[lines[0].index("Écart total")] == "1.0"


def test_report_png_is_a_real_deterministic_image(analyst_client, run):
    first = analyst_client.get(url(run, group_by="domain,audience", format="png"))
    assert first.status_code == 200 and first["Content-Type"] == "image/png"
    assert first.content.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = Image.open(io.BytesIO(first.content)).size
    assert width > 400 and height > 200
    assert analyst_client.get(url(run, group_by="domain,audience", format="png")).content == first.content


def test_report_svg_has_french_labels_and_is_deterministic(analyst_client, run):
    first = analyst_client.get(url(run, group_by="domain,audience", format="svg"))
    assert first.status_code == 200 and first["Content-Type"] == "image/svg+xml"
    root = ET.fromstring(first.content)
    assert root.tag.endswith("svg")
    text = " ".join("".join(element.itertext()) for element in root.iter())
    for label in ("Écart pondéré", "Domaine", "Public cible", "Logement", "Retraités", "(1 − couverture)"):
        assert label in text, label
    assert analyst_client.get(url(run, group_by="domain,audience", format="svg")).content == first.content


def test_report_one_dimension_chart_is_a_bar_chart(analyst_client, run):
    response = analyst_client.get(url(run, group_by="theme", format="svg"))
    assert response.status_code == 200
    text = response.content.decode()
    assert "Logement social" in text and "Coworking et tiers-lieux" in text


# Compare ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def run_pair(reference):
    """Baseline and current runs over the same needs, one of each status (floor and delta 0.05)."""
    needs = {name: make_report_need(statement=name) for name in
             ("opened", "closed", "grew", "shrank", "unchanged", "new", "removed")}  # fmt: skip
    baseline, current = make_run(), make_run()
    before = {"opened": (0.02, "maintain"), "closed": (0.4, "create"), "grew": (0.2, "adjust"),
              "shrank": (0.5, "create"), "unchanged": (0.3, "adjust"), "removed": (0.3, "adjust")}  # fmt: skip
    after = {"opened": (0.3, "adjust"), "closed": (0.0, "maintain"), "grew": (0.35, "adjust"),
             "shrank": (0.3, "adjust"), "unchanged": (0.32, "adjust"), "new": (0.6, "create")}  # fmt: skip
    for run, values in ((baseline, before), (current, after)):
        for name, (gap, recommendation) in values.items():
            make_need_result(run, need=needs[name], statement=name, gap=gap, recommendation=recommendation,
                             domain_code="jobs" if name == "new" else "housing")  # fmt: skip
    return current, baseline, needs


def test_compare_statuses_on_a_pair_of_runs(analyst_client, run_pair):
    current, baseline, needs = run_pair
    response = analyst_client.get(url(current, "compare", baseline=baseline.id))
    assert response.status_code == 200
    body = response.json()
    assert body["baseline"] == str(baseline.id) and body["gap_floor"] == 0.05 and body["gap_delta"] == 0.05
    by_statement = {need["statement"]: need for need in body["needs"]}
    assert {name: need["status"] for name, need in by_statement.items()} == {name: name for name in needs}
    assert by_statement["opened"]["status_label"] == "Écart apparu"
    assert by_statement["grew"] | {} == by_statement["grew"]
    grew = by_statement["grew"]
    assert (grew["gap_before"], grew["gap_after"], grew["gap_delta"]) == (0.2, 0.35, 0.15)
    assert grew["recommendation_after_label"] == "Adapter l'offre existante"
    assert by_statement["new"]["gap_before"] is None and by_statement["removed"]["gap_after"] is None
    assert body["summary"]["statuses"] == {**{name: 1 for name in needs}, "out_of_scope": 0}
    assert body["scopes_differ"] is False and body["scope"] == body["baseline_scope"]
    assert body["summary"]["gap_before_total"] == pytest.approx(1.72)  # 0.02+0.4+0.2+0.5+0.3+0.3
    assert body["summary"]["gap_after_total"] == pytest.approx(1.87)  # 0.3+0+0.35+0.3+0.32+0.6
    groups = {group["dimensions"][0]["code"]: group for group in body["groups"]}
    assert groups["jobs"]["gap_before_total"] == 0 and groups["jobs"]["gap_after_total"] == pytest.approx(0.6)
    assert groups["housing"]["gap_delta"] == pytest.approx(1.27 - 1.72)
    assert groups["housing"]["statuses"]["new"] == 0 and groups["jobs"]["statuses"]["new"] == 1
    # Largest change first: "new" (+0.6) then "closed" (−0.4).
    assert [need["statement"] for need in body["needs"][:2]] == ["new", "closed"]


def test_compare_status_filter_and_thresholds(analyst_client, run_pair):
    current, baseline, _ = run_pair
    body = analyst_client.get(url(current, "compare", baseline=baseline.id, status="grew,shrank")).json()
    assert sorted(need["status"] for need in body["needs"]) == ["grew", "shrank"]
    assert sum(body["summary"]["statuses"].values()) == 7
    body = analyst_client.get(url(current, "compare", baseline=baseline.id, gap_delta="0.25")).json()
    statuses = {need["statement"]: need["status"] for need in body["needs"]}
    assert statuses["grew"] == "unchanged" and statuses["shrank"] == "unchanged"


def test_compare_csv(analyst_client, run_pair):
    current, baseline, _ = run_pair
    response = analyst_client.get(url(current, "compare", baseline=baseline.id, format="csv"))
    lines = read_csv(response)
    assert lines[0][:6] == ["Identifiant du besoin", "Besoin", "Domaine", "Public cible", "Statut",
                            "Libellé du statut"]  # fmt: skip
    assert len(lines) == 8
    new = next(line for line in lines if line[1] == "new")
    assert new[2:6] == ["Emploi et activité", "Familles avec enfants", "new", "Nouveau besoin"]


def test_compare_of_runs_of_different_scopes_says_so(analyst_client, reference):
    """A baseline on every need, a run on the housing needs of the Grand Guéret: the needs the run could not see are
    `out_of_scope`, apart from those truly gone (`removed`), and the totals compare the common scope only."""
    from offers.models import Territory

    needs = {name: make_report_need(statement=name, domain_code="jobs" if name == "jobs" else "housing")
             for name in ("kept", "jobs", "ahun", "gone", "new")}  # fmt: skip
    baseline = make_run()
    current = make_run(scope_territory=Territory.objects.get(kind="epci", code="200034825"))
    current.scope_domains = ["housing"]
    current.save()
    before = {"kept": (0.4, GUERET, "housing"), "jobs": (0.5, GUERET, "jobs"), "ahun": (0.6, AHUN, "housing"),
              "gone": (0.2, GUERET, "housing")}  # fmt: skip
    after = {"kept": (0.1, GUERET, "housing"), "new": (0.3, "", "housing")}
    for run, values in ((baseline, before), (current, after)):
        for name, (gap, path, domain) in values.items():
            make_need_result(run, need=needs[name], statement=name, gap=gap, territory_path=path,
                             domain_code=domain)  # fmt: skip
    body = analyst_client.get(url(current, "compare", baseline=baseline.id)).json()
    assert body["scopes_differ"] is True
    assert body["scope"] == {"territory": "200034825", "territory_label": body["scope"]["territory_label"],
                             "audiences": [], "domains": ["housing"]}  # fmt: skip
    assert body["baseline_scope"] == {"territory": None, "territory_label": None, "audiences": [], "domains": []}
    statuses = {need["statement"]: need["status"] for need in body["needs"]}
    assert statuses == {"kept": "shrank", "jobs": "out_of_scope", "ahun": "out_of_scope", "gone": "removed",
                        "new": "new"}  # fmt: skip
    assert body["summary"]["statuses"]["out_of_scope"] == 2 and body["summary"]["statuses"]["removed"] == 1
    assert body["summary"]["gap_before_total"] == pytest.approx(0.6)  # kept 0.4 + gone 0.2
    assert body["summary"]["gap_after_total"] == pytest.approx(0.4)  # kept 0.1 + new 0.3
    assert sum(group["need_count"] for group in body["groups"]) == 3
    lines = read_csv(analyst_client.get(url(current, "compare", baseline=baseline.id, format="csv")))
    jobs = next(line for line in lines if line[1] == "jobs")
    assert jobs[4:6] == ["out_of_scope", "Hors du périmètre commun"]
    # The same two runs the other way round: the baseline's scope is now the narrower one.
    reverse = analyst_client.get(url(baseline, "compare", baseline=current.id)).json()
    assert {need["statement"]: need["status"] for need in reverse["needs"]}["jobs"] == "out_of_scope"


def test_compare_errors(analyst_client, run_pair):
    current, baseline, _ = run_pair
    same = analyst_client.get(url(current, "compare", baseline=current.id))
    assert same.status_code == 400 and same.json()["errors"][0]["field"] == "baseline"
    missing = analyst_client.get(url(current, "compare"))
    assert missing.status_code == 400 and missing.json()["errors"][0]["field"] == "baseline"
    unknown = analyst_client.get(url(current, "compare", baseline="00000000-0000-0000-0000-000000000000"))
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["code"] == "not_found"
    running = make_run(status=RunStatus.RUNNING)
    conflict = analyst_client.get(url(current, "compare", baseline=running.id))
    assert conflict.status_code == 409 and "baseline" in conflict.json()["message"]
    bad_status = analyst_client.get(url(current, "compare", baseline=baseline.id, status="vanished"))
    assert bad_status.status_code == 400 and "opened" in bad_status.json()["errors"][0]["message"]


# IPA --------------------------------------------------------------------------------------------------------------


def test_ipa_json_with_each_rule(analyst_client, run):
    body = analyst_client.get(url(run, "ipa")).json()
    # Two needs have a satisfaction: importance (0.8 + 1.0) / 2, satisfaction (0.3 + 0.9) / 2.
    assert body["crosshair"] == {"rule": "mean", "importance": 0.9, "satisfaction": 0.6}
    quadrants = {need["statement"]: need["quadrant"] for need in body["needs"]}
    assert quadrants == {
        "Logement pour famille": "low-priority",
        "Coworking": "keep-up-the-good-work",
        "Logement social": "",
    }
    given = analyst_client.get(url(run, "ipa", crosshair="given", importance_cross="0.5", satisfaction_cross="0.5"))
    assert given.json()["crosshair"] == {"rule": "given", "importance": 0.5, "satisfaction": 0.5}
    assert {need["statement"]: need["quadrant_label"] for need in given.json()["needs"]}["Logement pour famille"] == (
        "Concentrer les efforts"
    )
    midpoint = analyst_client.get(url(run, "ipa", crosshair="midpoint")).json()
    assert midpoint["crosshair"]["importance"] == 0.5


def test_ipa_given_needs_both_values(analyst_client, run):
    response = analyst_client.get(url(run, "ipa", crosshair="given", importance_cross="0.5"))
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "satisfaction_cross"
    response = analyst_client.get(url(run, "ipa", importance_cross="0.5"))
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "crosshair"


def test_ipa_images_and_csv(analyst_client, run):
    png = analyst_client.get(url(run, "ipa", format="png"))
    assert png.content.startswith(b"\x89PNG") and Image.open(io.BytesIO(png.content)).size[0] > 400
    svg = analyst_client.get(url(run, "ipa", format="svg"))
    text = " ".join(ET.fromstring(svg.content).itertext())
    for label in (
        "Concentrer les efforts",
        "Maintenir le bon travail",
        "Faible priorité",
        "Effort peut-être excessif",
    ):
        assert label in text
    assert analyst_client.get(url(run, "ipa", format="svg")).content == svg.content
    lines = read_csv(analyst_client.get(url(run, "ipa", format="csv")))
    assert lines[0][0] == "Identifiant du besoin" and len(lines) == 4
    assert {line[7] for line in lines[1:]} == {"Faible priorité", "Maintenir le bon travail", "Non classé"}


def test_admin_reads_reports(reference, run):
    client = client_for(make_user("another-admin", admin=True))
    assert client.get(url(run, group_by="audience", format="csv")).status_code == 200


def test_schema_documents_the_report_media_types_and_parameters(anonymous_client):
    import yaml

    schema = yaml.safe_load(anonymous_client.get("/api/schema/").content)
    report = schema["paths"]["/api/v1/matching/runs/{run_id}/report/"]["get"]
    assert report["operationId"] == "matching_runs_report" and report["tags"] == ["matching"]
    assert set(report["responses"]["200"]["content"]) == {
        "application/json",
        "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "image/png",
        "image/svg+xml",
        "text/html",
    }
    assert {"409", "400", "401", "403", "404"} <= set(report["responses"])
    parameters = {parameter["name"]: parameter["schema"] for parameter in report["parameters"]}
    assert parameters["format"]["enum"] == ["json", "csv", "xlsx", "png", "svg", "html"]
    assert parameters["territory_level"]["enum"] == ["region", "departement", "epci", "commune"]
    compare = schema["paths"]["/api/v1/matching/runs/{run_id}/compare/"]["get"]
    assert {parameter["name"] for parameter in compare["parameters"]} >= {"baseline", "gap_floor", "gap_delta"}
    ipa = schema["paths"]["/api/v1/matching/runs/{run_id}/ipa/"]["get"]
    crosshair = next(parameter for parameter in ipa["parameters"] if parameter["name"] == "crosshair")
    assert crosshair["schema"]["enum"] == ["mean", "median", "midpoint", "given"]
