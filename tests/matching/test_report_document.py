"""`format=html` on the report, compare and IPA endpoints, through HTTP: headers, escaping, self-containment, the
sections a strategist reads, and the OpenAPI schema. (tests/matching/test_report_document_browser.py opens the same
documents in a real browser and prints them.)"""

import re

import pytest
from django.utils.translation import gettext
from drf_spectacular.generators import SchemaGenerator

from matching.models import MatchedOffer, NeedResult
from matching.report_document import LISTED_NEEDS, PRINT_CHART_COLUMNS, PRINT_CHART_ROWS, printable_matrix
from tests.matching.factories import make_need_result, make_offer, make_report_need, make_run

# The documents and labels as a French strategist reads them (the default language).
pytestmark = [pytest.mark.django_db, pytest.mark.i18n]

GUERET = "r75/d23/e200034825/c23096/"
HOSTILE = '<script>alert("x")</script> & <img src=https://evil.example/x.png>'


def url(run, endpoint="report", **params):
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"/api/v1/matching/runs/{run.id}/{endpoint}/?format=html" + (f"&{query}" if query else "")


@pytest.fixture
def run(reference):
    run = make_run()
    run.parameters = {"n_best": 3, "relevance_threshold": 0.5, "ipa_rule": "mean"}
    run.snapshot = {"offers_count": 12345, "offers_published": 12000, "needs_count": 3, "catalogue_version": "v-42"}
    run.save()
    need = make_report_need(statement="Trouver une crèche")
    result = make_need_result(run, need=need, statement="Trouver une crèche", territory_path=GUERET, importance=0.9,
                              coverage=0.2, satisfaction=0.3, recommendation="adjust", stage="welcome")  # fmt: skip
    far, other = (make_offer(title=title, description="Garde d'enfants", themes=("childcare",))
                  for title in ("Crèche de Guéret", "Relais petite enfance"))  # fmt: skip
    NeedResult.objects.filter(id=result.id).update(
        reasons=[{"code": "distance", "message": "La crèche de Guéret est trop loin.", "offers": [far.id]}]
    )
    for rank, offer in enumerate((other, far), start=1):
        MatchedOffer.objects.create(result=result, offer=offer, offer_title=offer.title, rank=rank, score=0.35,
                                    relevance=0.8, text=0.5, theme=1, audience=1, geography=0.4, availability=1,
                                    capacity=1, distance_km=31.6)  # fmt: skip
    make_need_result(run, statement=HOSTILE, importance=0.5, coverage=0.0, satisfaction=0.8, recommendation="create")
    make_need_result(run, statement="Un club de foot", importance=0.4, coverage=1.0, recommendation="maintain")
    return run


def test_html_answer_is_an_inline_private_document(analyst_client, run):
    response = analyst_client.get(url(run))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Content-Disposition"] == f'inline; filename="ecarts-domain-{run.id}.html"'
    assert response["Cache-Control"] == "private, no-store"
    assert "default-src 'none'" in response["Content-Security-Policy"]


def test_every_label_is_escaped_and_nothing_is_fetched(analyst_client, run):
    html = analyst_client.get(url(run)).content.decode()
    assert "<script" not in html and "evil.example/x.png>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img" in html
    # Every reference in the page points inside it: a fragment or inline data.
    references = re.findall(r'\b(?:src|href|xlink:href)\s*=\s*"([^"]*)"', html)
    assert references and all(ref.startswith(("#", "data:")) for ref in references), references
    assert "@import" not in html and 'rel="stylesheet"' not in html
    assert all(target.startswith("#") for target in re.findall(r"url\(([^)]*)\)", html))  # SVG clip paths


def test_report_document_sections(analyst_client, run):
    html = analyst_client.get(url(run, group_by="domain,stage")).content.decode()
    assert html.startswith("<!DOCTYPE html>")
    assert re.search(r'<html lang="fr', html)
    assert html.count("<svg") == 2 and html.count("<figcaption>") == 2  # the heatmap and the IPA grid
    assert 'role="img"' in html and "<?xml" not in html
    # Scope and data read: the run's snapshot, French number format.
    assert "12\xa0345" in html and "v-42" in html
    # The method with every parameter, and the algorithm version.
    assert "<code>n_best</code>" in html and "<code>relevance_threshold</code>" in html
    caption = gettext("Parameters of the run (matching algorithm version %(version)s)") % {"version": "test"}
    assert caption in html
    # The largest gap with its reason and the offer concerned, with its distance.
    assert "La crèche de Guéret est trop loin." in html and "Crèche de Guéret" in html and "32 km" in html
    assert "Relais petite enfance" not in html  # a better-ranked offer the reasons do not name
    # Recommendations and the journey stage, in French.
    assert "Adapter l&#x27;offre existante" in html and "Accueillir" in html and "Étape du parcours" in html


def test_compare_document_tells_what_opened_grew_shrank_closed(analyst_client, reference):
    baseline, current = make_run(), make_run()
    needs = {name: make_report_need(statement=f"Besoin {name}") for name in ("opened", "grew", "shrank", "closed")}
    before = {
        "opened": (0.0, "maintain"),
        "grew": (0.2, "adjust"),
        "shrank": (0.6, "create"),
        "closed": (0.4, "create"),
    }
    after = {
        "opened": (0.3, "adjust"),
        "grew": (0.5, "adjust"),
        "shrank": (0.3, "adjust"),
        "closed": (0.0, "maintain"),
    }
    for run_, values in ((baseline, before), (current, after)):
        for name, (gap, recommendation) in values.items():
            make_need_result(run_, need=needs[name], statement=needs[name].statement, gap=gap,
                             recommendation=recommendation)  # fmt: skip
    response = analyst_client.get(url(current, "compare", baseline=baseline.id))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'inline; filename="comparaison-{current.id}-{baseline.id}.html"'
    html = response.content.decode()
    for status, label in (("opened", "Écart apparu"), ("grew", "Écart aggravé"), ("shrank", "Écart réduit"),
                          ("closed", "Écart résorbé")):  # fmt: skip
        section = html.split(f'id="status-{status}"', 1)[1].split("</section>", 1)[0]
        assert label in section and f"Besoin {status}" in section
        assert all(f"Besoin {other}" not in section for other in needs if other != status)
    assert html.count("scope-") >= 2  # both runs' scope and data


def test_compare_document_lists_a_bounded_number_of_needs(analyst_client, reference):
    baseline, current = make_run(), make_run()
    for number in range(LISTED_NEEDS + 3):
        need = make_report_need(statement=f"Besoin n° {number}")
        make_need_result(baseline, need=need, statement=need.statement, gap=0.0, recommendation="maintain")
        make_need_result(current, need=need, statement=need.statement, gap=0.5, recommendation="create")
    html = analyst_client.get(url(current, "compare", baseline=baseline.id)).content.decode()
    section = html.split('id="status-opened"', 1)[1].split("</section>", 1)[0]
    assert section.count("<tr>") == LISTED_NEEDS + 1  # the header row and LISTED_NEEDS needs
    assert "3" in section.split('class="note"', 1)[1]


def test_ipa_document(analyst_client, run):
    response = analyst_client.get(url(run, "ipa", crosshair="midpoint"))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'inline; filename="ipa-{run.id}.html"'
    html = response.content.decode()
    assert html.count("<svg") == 1 and "Concentrer les efforts" in html
    concentrate = html.split('id="concentrate-heading"', 1)[1]
    assert "Trouver une crèche" in concentrate  # importance 0.9, satisfaction 0.3: top-left at the midpoint


def test_report_and_ipa_documents_render_one_ipa_section(analyst_client, run):
    """One template draws the grid in both documents; the IPA document alone adds where the grid is cut."""
    report, ipa = analyst_client.get(url(run)), analyst_client.get(url(run, "ipa"))

    def section(response) -> str:
        assert "matching/documents/_ipa.html" in [template.name for template in response.templates]
        return response.content.decode().split('aria-labelledby="ipa-heading"', 1)[1].split("</section>", 1)[0]

    report_section, ipa_section = section(report), section(ipa)
    crosshair = re.search(r"\n  <p>.*?</p>", ipa_section, flags=re.S)
    assert "<p>" not in report_section
    assert "La grille est coupée" in crosshair.group()
    assert ipa_section.replace(crosshair.group(), "") == report_section


def test_unknown_run_html_is_the_json_404(analyst_client, reference):
    response = analyst_client.get("/api/v1/matching/runs/00000000-0000-0000-0000-000000000000/report/?format=html")
    assert response.status_code == 404 and response["Content-Type"].startswith("application/json")


def test_schema_documents_the_html_documents():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for endpoint in ("report", "compare", "ipa"):
        operation = schema["paths"][f"/api/v1/matching/runs/{{run_id}}/{endpoint}/"]["get"]
        assert "text/html" in operation["responses"]["200"]["content"]
        formats = next(p for p in operation["parameters"] if p["name"] == "format")["schema"]["enum"]
        assert "html" in formats
    report = schema["paths"]["/api/v1/matching/runs/{run_id}/report/"]["get"]
    assert "stage" in next(p for p in report["parameters"] if p["name"] == "group_by")["description"]


def test_printed_chart_keeps_the_largest_crossings_with_the_long_dimension_down_the_page():
    many = [f"Commune {n}" for n in range(PRINT_CHART_ROWS + 5)]
    few = ["Familles", "Retraités"]
    values = [[float(n), None] for n in range(len(many))]
    rows, cols, cells, titles = printable_matrix(many, few, values, ["Commune", "Public"])
    assert rows == many[:PRINT_CHART_ROWS] and cols == few and titles == ["Commune", "Public"]
    assert cells[3] == [3.0, None] and len(cells) == PRINT_CHART_ROWS
    # The long list second: turned down the page, the titles with it.
    columns = [list(column) for column in zip(*values, strict=True)]
    rows, cols, cells, titles = printable_matrix(few, many, columns, ["Public", "Commune"])
    assert rows == many[:PRINT_CHART_ROWS] and cols == few and titles == ["Commune", "Public"]
    assert cells[3] == [3.0, None]
    wide = [[1.0] * (PRINT_CHART_COLUMNS + 3)] * 20
    _rows, cols, cells, _titles = printable_matrix(many[:20], many[:15], wide, ["A", "B"])
    assert len(cols) == PRINT_CHART_COLUMNS and all(len(row) == PRINT_CHART_COLUMNS for row in cells)


def test_sources_count_the_needs_the_report_read(analyst_client, reference):
    import datetime

    from audiences.models import Need

    run = make_run()
    for number in range(3):
        need = make_report_need(statement=f"Atelier {number}")
        Need.objects.filter(id=need.id).update(
            source_reference="Atelier de Guéret", source_date=datetime.date(2025, 1, 10 + number)
        )
        make_need_result(run, need=need, statement=need.statement)
    make_need_result(run, statement="Besoin supprimé depuis")  # its need is gone: not a source any more
    html = analyst_client.get(url(run)).content.decode()
    table = html.split(gettext("Where the needs come from"), 1)[1].split("</table>", 1)[0]
    assert "Atelier de Guéret" in table and ">3</td>" in table
    assert "10 janvier 2025" in table and "12 janvier 2025" in table
