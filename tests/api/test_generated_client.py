"""An integrator's smoke test: generate a typed Python client from the served `/api/schema/` with
openapi-python-client, and use it over real HTTP to list offers, search as a newcomer and read a gap report.

The generator runs once per module against the live server's schema; any generator warning, any generated module
that does not import, and any response field the schema does not describe fails the test, since an integrator
would hit each of them.
"""

import importlib
import json
import pkgutil
import subprocess
import sys
from datetime import date, datetime

import attrs
import httpx
import pytest
from rest_framework.authtoken.models import Token

from audiences.models import Audience
from matching.models import MatchingRun, NeedResult
from offers.models import Domain
from tests.audiences.factories import make_need
from tests.matching.conftest import run_chunks
from tests.offers.factories import make_offer

pytestmark = pytest.mark.django_db(transaction=True)

PACKAGE = "ancrage_client"
PASSWORD = "secret-password-123"  # tests.conftest.make_user's password
# The generator's default post-hooks run `ruff` from PATH; formatting the generated code proves nothing here.
GENERATOR_CONFIG = "post_hooks: []\n"


@pytest.fixture(scope="module")
def generated_client(django_db_setup, django_db_blocker, live_server, tmp_path_factory):
    """The `ancrage_client` package generated from the schema the live server serves, importable for the module."""
    workdir = tmp_path_factory.mktemp("generated_client")
    # Outside a test pytest-django blocks every database connection, the server thread's too (Django's
    # request-start signal checks the connection even for a view that runs no query).
    with django_db_blocker.unblock():
        response = httpx.get(f"{live_server.url}/api/schema/", params={"format": "json"}, timeout=60)
    assert response.status_code == 200, response.text[:500]
    schema_path = workdir / "schema.json"
    schema_path.write_text(json.dumps(response.json()))
    config_path = workdir / "config.yaml"
    config_path.write_text(GENERATOR_CONFIG)
    # sys.executable -m: the venv's generator whether or not the venv is on PATH.
    command = [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(schema_path)]
    command += ["--output-path", str(workdir / PACKAGE), "--meta", "none", "--config", str(config_path)]
    result = subprocess.run([*command, "--fail-on-warning"], capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "Warning" not in output and "Error" not in output, output

    sys.path.insert(0, str(workdir))
    try:
        package = importlib.import_module(PACKAGE)
        # Generated code can be syntactically fine and still fail on import (an unimported name in a signature).
        for module in pkgutil.walk_packages(package.__path__, f"{PACKAGE}."):
            importlib.import_module(module.name)
        yield package
    finally:
        sys.path.remove(str(workdir))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


@pytest.fixture
def public(generated_client, live_server):
    """The generated unauthenticated client, as a welcome portal uses it."""
    # Closed after the test: a kept-alive HTTP connection keeps its server thread, and that thread's database
    # connection, alive (PostgreSQL then refuses to drop the test database).
    with generated_client.Client(base_url=live_server.url, raise_on_unexpected_status=True) as client:
        yield client


@pytest.fixture
def analyst(generated_client, public, live_server, analyst_user):
    """The generated authenticated client, with a token obtained through the generated client."""
    from ancrage_client.api.auth import auth_token_create
    from ancrage_client.models import TokenRequest

    token = auth_token_create.sync(client=public, body=TokenRequest(username="analyst-user", password=PASSWORD))
    assert token.token == Token.objects.get(user=analyst_user).key
    with generated_client.AuthenticatedClient(
        base_url=live_server.url, token=token.token, prefix="Token", raise_on_unexpected_status=True
    ) as client:
        yield client


# key: (title, description, theme, other fields); all in Guéret (23096) unless said.
CATALOGUE = {
    "creche": (
        "Crèche multi-accueil Les Petits Loups",
        "Garde d'enfants de 3 mois à 4 ans, accueil régulier et occasionnel.",
        "childcare",
        {},
    ),
    "creche_far": (
        "Micro-crèche du Pays Sostranien",
        "Garde d'enfants en petit groupe, horaires élargis.",
        "childcare",
        {"commune": "23176"},
    ),
    "draft": ("Crèche en projet", "Garde d'enfants : ouverture prévue.", "childcare", {"status": "draft"}),
    "doctor": (
        "Cabinet de médecine générale",
        "Consultations de médecin généraliste sur rendez-vous.",
        "health-care",
        {},
    ),
}


@pytest.fixture
def catalogue(organisation_a):
    return {
        key: make_offer(organisation=organisation_a, title=title, description=description, themes=[theme], **extra)
        for key, (title, description, theme, extra) in CATALOGUE.items()
    }


def assert_fully_typed(value, where: str = "response") -> None:
    """Every key of the body is a typed attribute: keys the schema does not describe land in
    `additional_properties`, where a typed client loses them."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            assert_fully_typed(item, f"{where}[{index}]")
    elif attrs.has(type(value)):
        assert value.additional_properties == {}, (
            f"{where} ({type(value).__name__}) has keys the schema does not describe"
        )
        for field in attrs.fields(type(value)):
            if field.name != "additional_properties":
                assert_fully_typed(getattr(value, field.name), f"{where}.{field.name}")


def test_the_schema_generates_an_importable_client_with_the_integrator_operations(generated_client):
    for name in (
        "api.offers.offers_list",
        "api.matching.matching_search_create",
        "api.auth.auth_token_create",
        "api.matching.matching_runs_create",
        "api.matching.matching_runs_retrieve",
        "api.matching.matching_runs_report",
    ):
        module = importlib.import_module(f"{PACKAGE}.{name}")
        assert callable(module.sync) and callable(module.sync_detailed), name


def test_list_published_offers_with_filters(public, catalogue):
    from ancrage_client.api.offers import offers_list
    from ancrage_client.models import Error, OfferStatusEnum, PaginatedOfferList

    page = offers_list.sync(client=public, q="creche")
    assert isinstance(page, PaginatedOfferList)
    assert_fully_typed(page)
    assert page.count == 2
    assert {offer.id for offer in page.results} == {catalogue["creche"].id, catalogue["creche_far"].id}
    assert {offer.status for offer in page.results} == {OfferStatusEnum.PUBLISHED}

    page = offers_list.sync(client=public, q="creche", territory="200034825", domain="daily-life")
    assert [offer.id for offer in page.results] == [catalogue["creche"].id]
    offer = page.results[0]
    assert (offer.title, offer.commune, offer.commune_name) == (
        "Crèche multi-accueil Les Petits Loups",
        "23096",
        "Guéret",
    )
    assert offer.themes == ["childcare"] and offer.organisation == catalogue["creche"].organisation.slug
    assert isinstance(offer.updated_at, datetime) and offer.distance_km is None

    first = offers_list.sync(client=public, q="creche", page_size=1)
    assert first.count == 2 and len(first.results) == 1 and "page=2" in first.next_

    response = offers_list.sync_detailed(client=public, domain="nope")
    assert response.status_code == 400 and isinstance(response.parsed, Error)
    assert "domain" in [error.field for error in response.parsed.errors]


def test_newcomer_search(public, catalogue):
    from ancrage_client.api.matching import matching_search_create
    from ancrage_client.models import Error, MatchingSearchPointRequest, MatchingSearchRequest

    body = MatchingSearchRequest(
        text="garde d'enfants crèche", audience="families", near=MatchingSearchPointRequest(lat=46.17, lon=1.87)
    )
    found = matching_search_create.sync(client=public, body=body)
    assert_fully_typed(found)
    ids = [hit.id for hit in found.results]
    assert ids[0] == catalogue["creche"].id and catalogue["draft"].id not in ids
    assert ids.index(catalogue["creche"].id) < ids.index(catalogue["creche_far"].id)
    first = found.results[0]
    assert (first.commune.code, first.commune.name) == ("23096", "Guéret")
    assert first.distance_km < 10 and first.breakdown.geography == 1.0 and 0 < first.score <= 1

    response = matching_search_create.sync_detailed(client=public, body=MatchingSearchRequest(text="x"))
    assert response.status_code == 400 and isinstance(response.parsed, Error)
    assert [error.field for error in response.parsed.errors] == ["text"]


def test_analyst_launches_a_run_and_reads_its_report(public, analyst, catalogue):
    from ancrage_client.api.auth import auth_token_create
    from ancrage_client.api.matching import matching_runs_create, matching_runs_report, matching_runs_retrieve
    from ancrage_client.models import (
        Error,
        MatchingRunCreateRequest,
        RecommendationEnum,
        ReportDimensionEnum,
        TaskStatusEnum,
        TokenRequest,
    )

    make_need(
        statement="Faire garder mes enfants en crèche pendant que je travaille",
        themes=("childcare",),
        territory="23096",
        importance=0.85,
        satisfaction=0.2,
    )
    make_need(
        statement="Reprendre une boulangerie à céder dans un bourg",
        themes=("business-takeover",),
        audience="entrepreneurs",
        territory="23096",
        importance=0.7,
    )

    refused = auth_token_create.sync_detailed(client=public, body=TokenRequest(username="analyst-user", password="no"))
    assert refused.status_code == 400 and isinstance(refused.parsed, Error)

    launched = matching_runs_create.sync(
        client=analyst, body=MatchingRunCreateRequest(scope_territory="23", reference_date=date(2026, 6, 1))
    )
    assert_fully_typed(launched)
    assert launched.status == TaskStatusEnum.QUEUED and launched.launched_by == "analyst-user"
    assert launched.progress.needs_total == 2 and launched.reference_date == date(2026, 6, 1)

    run_chunks(MatchingRun.objects.get(id=launched.id))  # what `db_worker` does with the queued chunks
    finished = matching_runs_retrieve.sync(id=launched.id, client=analyst)
    assert finished.status == TaskStatusEnum.SUCCEEDED and finished.progress.percent == 100.0

    anonymous = matching_runs_report.sync_detailed(run_id=launched.id, client=public, group_by="domain")
    assert anonymous.status_code == 401 and isinstance(anonymous.parsed, Error)

    report = matching_runs_report.sync(run_id=launched.id, client=analyst, group_by="domain")
    assert_fully_typed(report)
    assert report.run == launched.id and report.group_by == [ReportDimensionEnum.DOMAIN]
    assert report.totals.need_count == 2
    stored = NeedResult.objects.filter(run_id=launched.id)
    assert report.totals.gap_total == pytest.approx(sum(result.gap for result in stored), abs=1e-3)
    groups = {group.dimensions[0].code: group for group in report.groups}
    assert set(groups) == {"daily-life", "jobs"}
    # No offer of the jobs domain: the takeover need is uncovered, its whole importance is the gap.
    jobs = groups["jobs"]
    assert jobs.dimensions[0].label == Domain.objects.get(code="jobs").label
    assert (jobs.need_count, jobs.recommendations.create, jobs.coverage_mean) == (1, 1, 0.0)
    assert jobs.gap_total == pytest.approx(0.7)
    top = jobs.top_gaps[0]
    assert top.statement == "Reprendre une boulangerie à céder dans un bourg"
    assert top.recommendation == RecommendationEnum.CREATE
    assert (top.audience_label, top.territory_label) == (Audience.objects.get(code="entrepreneurs").label, "Guéret")
