"""The matching's texts as people read them: French by default, English with `Accept-Language: en` (any other
language falls back to French), codes identical in both; the French texts are the ones the API wrote before it
spoke two languages."""

import re

import pytest
from django.contrib.auth.models import User

from matching import services
from matching.models import RunStatus
from tests.conftest import make_user
from tests.matching.conftest import run_chunks
from tests.matching.factories import make_need_result, make_report_need, make_run
from tests.spreadsheets import records_of, rows_of, workbook_of

pytestmark = [pytest.mark.django_db, pytest.mark.i18n]

GUERET = "r75/d23/e200034825/c23096/"


def get(client, path, language=None):
    headers = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    response = client.get(path, **headers)
    assert response.status_code < 500
    return response


def in_languages(client, path):
    """The answers to `path` without a language, in English, and in German (French again)."""
    return get(client, path), get(client, path, "en"), get(client, path, "de")


@pytest.fixture
def run(reference):
    run = make_run()
    make_need_result(run, statement="Logement pour famille", theme_codes=["rent"], territory_path=GUERET,
                     importance=0.8, coverage=0.5, satisfaction=0.3, recommendation="adjust")  # fmt: skip
    make_need_result(run, statement="Sans thème ni lieu", importance=0.6, coverage=0.0, recommendation="create")
    make_need_result(run, statement="Coworking", domain_code="jobs", territory_path="r75/d23/",
                     importance=1.0, coverage=0.9, satisfaction=0.9, recommendation="maintain")  # fmt: skip
    return run


def _labels(body):
    return {
        (value["dimension"], value["code"]): value["label"]
        for group in body["groups"]
        for value in group["dimensions"]
    }


def test_report_labels_in_french_by_default_and_english_on_request(analyst_client, run):
    path = f"/api/v1/matching/runs/{run.id}/report/?group_by=theme,territory&territory_level=epci"
    french, english, german = in_languages(analyst_client, path)
    assert french["Content-Language"] == "fr" and english["Content-Language"] == "en"
    assert "Accept-Language" in french["Vary"]
    fr_labels, en_labels = _labels(french.json()), _labels(english.json())
    # The same groups, by the same codes, in both languages.
    assert fr_labels.keys() == en_labels.keys()
    assert fr_labels[("theme", "")] == "Sans thème" and en_labels[("theme", "")] == "No theme"
    assert fr_labels[("territory", "")] == "Tout le territoire" and en_labels[("territory", "")] == "Whole territory"
    assert fr_labels[("territory", "departement:23")] == "Creuse (tout le département)"
    assert en_labels[("territory", "departement:23")] == "Creuse (the whole département)"
    # Taxonomy labels are data (French), whatever the language.
    assert fr_labels[("theme", "rent")] == en_labels[("theme", "rent")]
    fr_top = [top for group in french.json()["groups"] for top in group["top_gaps"]]
    en_top = [top for group in english.json()["groups"] for top in group["top_gaps"]]
    assert [top["recommendation"] for top in fr_top] == [top["recommendation"] for top in en_top]
    assert {top["recommendation_label"] for top in fr_top} == {"Créer une offre", "Adapter l'offre existante",
                                                               "Maintenir"}  # fmt: skip
    assert {top["recommendation_label"] for top in en_top} == {"Create an offer", "Adjust the existing offer",
                                                               "Maintain"}  # fmt: skip
    assert german.json() == french.json()


def test_report_csv_headers_stay_french_for_machines(analyst_client, run):
    path = f"/api/v1/matching/runs/{run.id}/report/?group_by=domain&format=csv"
    french, english, _german = (
        b"".join(response.streaming_content) for response in in_languages(analyst_client, path)
    )
    header = french.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("Dimension 1,Code 1,Libellé 1,")
    assert english.decode("utf-8-sig").splitlines()[0] == header


def test_report_chart_texts_follow_the_language(analyst_client, run):
    path = f"/api/v1/matching/runs/{run.id}/report/?group_by=domain,audience&format=svg"
    french, english, german = in_languages(analyst_client, path)
    french_svg, english_svg = french.content.decode(), english.content.decode()
    assert "Écart pondéré par domaine et public cible" in french_svg
    assert "Case grise « – » : aucun besoin dans ce croisement." in french_svg
    assert "Weighted gap by domain and target audience" in english_svg
    assert "Grey cell “–”: no need in this combination." in english_svg
    assert "Écart pondéré" not in english_svg
    assert german.content == french.content


def test_compare_in_both_languages(analyst_client, reference):
    kept = make_report_need(statement="Crèche")
    closed = make_report_need(statement="Médecin")
    baseline, later = make_run(), make_run()
    for run, coverage, recommendation in ((baseline, 0.0, "create"), (later, 1.0, "maintain")):
        make_need_result(run, need=kept, statement="Crèche", importance=0.8, coverage=0.5)
        make_need_result(run, need=closed, statement="Médecin", importance=0.9, coverage=coverage,
                         recommendation=recommendation)  # fmt: skip
    path = f"/api/v1/matching/runs/{later.id}/compare/?baseline={baseline.id}"
    french, english, _german = (response.json() for response in in_languages(analyst_client, path))
    assert french["summary"]["statuses"] == english["summary"]["statuses"]
    assert french["summary"]["status_labels"]["closed"] == "Écart résorbé"
    assert english["summary"]["status_labels"]["closed"] == "Gap closed"
    fr_need = next(need for need in french["needs"] if need["statement"] == "Médecin")
    en_need = next(need for need in english["needs"] if need["statement"] == "Médecin")
    assert (fr_need["status"], en_need["status"]) == ("closed", "closed")
    assert (fr_need["status_label"], en_need["status_label"]) == ("Écart résorbé", "Gap closed")
    assert fr_need["recommendation_after_label"] == "Maintenir"
    assert en_need["recommendation_before_label"] == "Create an offer"


def _svg_texts(svg: str) -> str:
    # Matplotlib writes SVG text as <text> elements (svg.fonttype none): their content, as a reader sees it.
    return " ".join(re.sub(r"<[^>]+>", " ", text) for text in re.findall(r"<text[^>]*>.*?</text>", svg, re.S))


def test_ipa_chart_texts_and_labels(analyst_client, run):
    path = f"/api/v1/matching/runs/{run.id}/ipa/"
    french, english, _german = (response.json() for response in in_languages(analyst_client, path))
    assert [quadrant["code"] for quadrant in french["quadrants"]] == [q["code"] for q in english["quadrants"]]
    fr_quadrants = {quadrant["code"]: quadrant["label"] for quadrant in french["quadrants"]}
    en_quadrants = {quadrant["code"]: quadrant["label"] for quadrant in english["quadrants"]}
    assert fr_quadrants["concentrate-here"] == "Concentrer les efforts"
    assert en_quadrants["concentrate-here"] == "Concentrate here"
    assert (fr_quadrants[""], en_quadrants[""]) == ("Non classé", "Unclassified")

    french_svg = _svg_texts(get(analyst_client, path + "?format=svg").content.decode())
    english_svg = _svg_texts(get(analyst_client, path + "?format=svg", "en").content.decode())
    for text in ("Analyse importance-performance des besoins", "Importance (0 à 1)", "Croisement à la moyenne",
                 "Satisfaction (performance perçue, 0 à 1)", "Concentrer les efforts"):  # fmt: skip
        assert text in french_svg, text
    for text in ("Importance-performance analysis of the needs", "Importance (0 to 1)", "Crosshairs at the mean",
                 "Satisfaction (perceived performance, 0 to 1)", "Concentrate here"):  # fmt: skip
        assert text in english_svg, text
    assert "Importance (0 à 1)" not in english_svg


def test_errors_keep_their_code_in_both_languages(analyst_client, reference):
    queued = make_run(status=RunStatus.QUEUED)
    path = f"/api/v1/matching/runs/{queued.id}/report/"
    french, english, _german = in_languages(analyst_client, path)
    assert french.status_code == english.status_code == 409
    assert french.json()["code"] == english.json()["code"] == "run_not_succeeded"
    assert "est queued (En attente)" in french.json()["message"]
    assert "is queued (Queued)" in english.json()["message"]

    bad = f"/api/v1/matching/runs/{queued.id}/report/?group_by=colour"
    french, english = get(analyst_client, bad).json(), get(analyst_client, bad, "en").json()
    assert [(error["field"], error["code"]) for error in french["errors"]] == [
        (error["field"], error["code"]) for error in english["errors"]
    ]
    assert french["errors"][0]["message"].startswith("Dimension inconnue : 'colour'")
    assert english["errors"][0]["message"].startswith("Unknown dimension 'colour'")


@pytest.fixture
def scored_run(catalogue):
    user = User.objects.filter(username="launcher").first() or make_user("launcher", analyst=True)
    run = services.run_start(launched_by=user)
    run_chunks(run)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    return run


def test_run_status_recommendations_and_reasons(analyst_client, scored_run):
    path = f"/api/v1/matching/runs/{scored_run.id}/"
    french, english, _german = (response.json() for response in in_languages(analyst_client, path))
    assert (french["status"], english["status"]) == ("succeeded", "succeeded")
    assert (french["status_label"], english["status_label"]) == ("Terminé", "Succeeded")

    path = f"/api/v1/matching/runs/{scored_run.id}/needs/?page_size=50"
    french, english, _german = (response.json()["results"] for response in in_languages(analyst_client, path))
    assert [(row["recommendation"], [reason["code"] for reason in row["reasons"]]) for row in french] == [
        (row["recommendation"], [reason["code"] for reason in row["reasons"]]) for row in english
    ]
    labels = {row["recommendation"]: (row["recommendation_label"]) for row in french}
    assert labels["create"] == "Créer une offre" and labels["adjust"] == "Adapter l'offre existante"
    fr_reasons = {reason["code"]: reason for row in french for reason in row["reasons"]}
    en_reasons = {reason["code"]: reason for row in english for reason in row["reasons"]}
    assert fr_reasons.keys() == en_reasons.keys() >= {"no-relevant-offer", "distance", "audience", "covered"}
    for code in fr_reasons:
        # The sentence changes language; the offers and the other figures do not.
        assert {key: value for key, value in fr_reasons[code].items() if key != "message"} == {
            key: value for key, value in en_reasons[code].items() if key != "message"
        }
    create = fr_reasons["no-relevant-offer"]["message"]
    assert create.startswith(
        "Aucune offre du catalogue ne répond à ce besoin, même sans tenir compte du lieu, du public, des dates ni "
        "de la capacité (meilleure pertinence 0,"
    )
    assert re.search(r"seuil \d,\d\d\) : une offre est à créer\.$", create), create
    assert en_reasons["no-relevant-offer"]["message"].endswith("): an offer must be created.")
    distance = fr_reasons["distance"]["message"]
    assert distance == (
        "1 offre(s) pertinente(s) mais trop loin ou hors du territoire du besoin : « Maison de santé "
        "pluridisciplinaire de Guéret ». Adapter ces offres couvrirait le besoin."
    )
    assert en_reasons["distance"]["message"] == (
        "1 relevant offer(s) but too far or outside the need's territory: “Maison de santé pluridisciplinaire de "
        "Guéret”. Adjusting these offers would cover the need."
    )
    assert "réservée(s) à d'autres publics que « " in fr_reasons["audience"]["message"]
    assert fr_reasons["covered"]["message"].startswith("Le besoin est couvert par « ")
    assert en_reasons["covered"]["message"].startswith("The need is covered by “")


def test_xlsx_sheet_names_descriptions_and_labels(analyst_client, run):
    path = f"/api/v1/matching/runs/{run.id}/report/?group_by=domain&format=xlsx"
    french, english = workbook_of(get(analyst_client, path)), workbook_of(get(analyst_client, path, "en"))
    # The last sheet describes the columns (its name is api.spreadsheets').
    assert french.sheetnames[:-1] == ["Groupes", "Principaux écarts", "Recommandations"]
    assert english.sheetnames[:-1] == ["Groups", "Top gaps", "Recommendations"]
    # The per-group sheet keeps the CSV's headers (the same for machines in both languages).
    assert rows_of(french["Groupes"])[0] == rows_of(english["Groups"])[0]
    fr_meanings = {(row[0], row[1]): row[2] for row in rows_of(french.worksheets[-1])[1:]}
    en_meanings = {(row[0], row[1]): row[2] for row in rows_of(english.worksheets[-1])[1:]}
    assert fr_meanings[("Groupes", "Besoins")] == "Nombre de besoins"
    assert en_meanings[("Groups", "Besoins")] == "Number of needs"
    fr_counts = {row["Recommandation"]: row["Libellé"] for row in records_of(french["Recommandations"])}
    en_counts = {row["Recommendation"]: row["Label"] for row in records_of(english["Recommendations"])}
    assert fr_counts.keys() == en_counts.keys()
    assert (fr_counts["create"], en_counts["create"]) == ("Créer une offre", "Create an offer")


def test_html_report_document_in_both_languages(analyst_client, run):
    path = f"/api/v1/matching/runs/{run.id}/report/?group_by=domain&format=html"
    french, english, german = in_languages(analyst_client, path)
    assert french.status_code == english.status_code == 200
    french_html, english_html = french.content.decode(), english.content.decode()
    assert '<html lang="fr"' in french_html and '<html lang="en"' in english_html
    for text in ("Rapport des écarts", "En bref", "Méthode", "Créer une offre", "Écart pondéré (importance"):
        assert text in french_html, text
    for text in ("Gap report", "In short", "Method", "Create an offer", "Weighted gap (importance"):
        assert text in english_html, text
    assert "Rapport des écarts" not in english_html and "Gap report" not in french_html
    # The document names the time it was produced: compare the language, not the bytes.
    assert '<html lang="fr"' in german.content.decode() and "Rapport des écarts" in german.content.decode()
