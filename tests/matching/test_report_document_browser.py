"""The HTML report documents as a person sees them: a real run's documents opened in headless Chromium (Debian's
`chromium` and `chromium-driver`, driven by Selenium), then printed to PDF and read back with pypdf.

Each document is served exactly as the API answered it (body, content type, security policy) by a small local
server, so the browser's own network log shows every request the page makes."""

import base64
import http.server
import io
import json
import os
import shutil
import threading

import pytest
from django.template.defaultfilters import floatformat
from django.utils import translation
from pypdf import PdfReader

from matching import services
from tests.conftest import make_user, require_service
from tests.matching.conftest import run_chunks

pytestmark = pytest.mark.django_db

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
A4_POINTS = (595.28, 841.89)


@pytest.fixture(scope="module")
def browser():
    if os.environ.get("ANCRAGE_TEST_REQUIRE_CHROMIUM") == "1" and not (CHROMIUM and CHROMEDRIVER):
        pytest.fail("CI requires Chromium and chromedriver for the HTML documents: .ci/run installs them.")
    require_service(
        "Chromium and its WebDriver (Debian packages chromium and chromium-driver)",
        how="apt-get install chromium chromium-driver (.ci/run installs them when missing)",
        available=bool(CHROMIUM and CHROMEDRIVER),
    )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1240,1754", "--lang=fr-FR"):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


class _Document(http.server.BaseHTTPRequestHandler):
    """Answers every GET with the document the API gave, and its headers; anything else would be a 404."""

    answer = None

    def do_GET(self):
        if self.path != "/document.html":
            self.send_error(404)
            return
        self.send_response(200)
        for header in ("Content-Type", "Content-Security-Policy", "Content-Disposition"):
            self.send_header(header, self.answer[header])
        self.end_headers()
        self.wfile.write(self.answer.content)

    def log_message(self, *args):
        pass


def open_document(browser, answer) -> str:
    """Load the API's `answer` in the browser from a local server; the page's URL."""
    handler = type("Handler", (_Document,), {"answer": answer})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/document.html"
    browser.get_log("browser"), browser.get_log("performance")  # forget the previous page's entries
    try:
        browser.get(url)
        assert browser.execute_script("return document.readyState") == "complete"
    finally:
        server.shutdown()
        server.server_close()
    return url


def requested_urls(browser) -> list[str]:
    """Every URL the page asked for over the network (the charts' inline `data:` images are not requests)."""
    events = (json.loads(entry["message"])["message"] for entry in browser.get_log("performance"))
    urls = [event["params"]["request"]["url"] for event in events if event["method"] == "Network.requestWillBeSent"]
    return [url for url in urls if not url.startswith("data:")]


def print_pdf(browser) -> PdfReader:
    printed = browser.execute_cdp_cmd("Page.printToPDF", {"preferCSSPageSize": True, "printBackground": True})
    return PdfReader(io.BytesIO(base64.b64decode(printed["data"])))


@pytest.fixture
def runs(catalogue):
    """Two succeeded runs of the hand-built catalogue; between them a need grew more important."""
    _offers, needs = catalogue
    user = make_user("strategist", analyst=True)
    baseline = services.run_start(launched_by=user)
    run_chunks(baseline)
    needs["promote"].importance = 0.95
    needs["promote"].save()
    run = services.run_start(launched_by=user)
    run_chunks(run)
    return run, baseline


def french(msgid: str) -> str:
    with translation.override("fr"):
        return translation.gettext(msgid)


@pytest.mark.parametrize(
    ("endpoint", "query", "heading", "charts"),
    [
        ("report", "group_by=domain,stage", "Gap report", 2),
        ("compare", "group_by=stage", "How the gaps evolved", 0),
        ("ipa", "", "Importance-performance analysis", 1),
    ],
)
def test_document_loads_offline_and_prints_on_a4(browser, analyst_client, runs, endpoint, query, heading, charts):
    run, baseline = runs
    if endpoint == "compare":
        query += f"&baseline={baseline.id}"
    answer = analyst_client.get(f"/api/v1/matching/runs/{run.id}/{endpoint}/?format=html&{query}")
    assert answer.status_code == 200
    url = open_document(browser, answer)

    errors = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]
    assert errors == []
    assert requested_urls(browser) == [url]  # the page itself, nothing else: no font, image, style or script
    assert browser.execute_script("return document.documentElement.lang").startswith("fr")
    assert browser.execute_script("return document.querySelector('h1').textContent") == french(heading)
    assert browser.execute_script("return document.querySelectorAll('figure svg').length") == charts
    assert browser.execute_script("return document.querySelectorAll('figure figcaption').length") == charts
    tables = browser.execute_script(
        "return [...document.querySelectorAll('table')].map(t => [t.tHead ? t.tHead.rows.length : 0, "
        "t.tBodies[0].rows.length])"
    )
    assert len(tables) >= 3 and all(head == 1 and body >= 1 for head, body in tables)

    pdf = print_pdf(browser)
    assert len(pdf.pages) >= 1
    for page in pdf.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (width, height) == pytest.approx(A4_POINTS, abs=1.0)
    text = " ".join(page.extract_text() for page in pdf.pages)
    assert french(heading) in text
    assert french("Method") in text and run.algorithm_version in text


def test_report_document_text_is_french_and_complete_in_the_pdf(browser, analyst_client, runs):
    run, _baseline = runs
    body = analyst_client.get(f"/api/v1/matching/runs/{run.id}/report/?group_by=domain").json()
    answer = analyst_client.get(f"/api/v1/matching/runs/{run.id}/report/?group_by=domain&format=html")
    open_document(browser, answer)
    text = " ".join(page.extract_text() for page in print_pdf(browser).pages)
    # French labels from the data, French number format from the active language.
    for label in ("Créer une offre", "Adapter l'offre existante", "Vie quotidienne", "Ancrer"):
        assert label in text, label
    with translation.override("fr"):
        total = floatformat(body["totals"]["gap_total"], 2)
    assert "," in total and total in text
    # The largest gap, with its reason (stored by the run, in French) and the offers concerned.
    largest = body["totals"]["top_gaps"][0]
    assert " ".join(largest["statement"].split()) in " ".join(text.split())
    assert "Reprendre une boulangerie" in text and "aucune offre" in text.lower()
