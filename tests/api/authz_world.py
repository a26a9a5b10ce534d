"""A small world for the authorisation tests: two organisations with offers in every status, one editor each, an
analyst and an admin (each with a real API token), strategy material (audience, need, survey) and two finished
matching runs; plus a fingerprint of every row a client could write, to prove a refused request wrote nothing."""

import io
from dataclasses import dataclass, field

import pytest
from django.db import transaction
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audiences.models import CandidateNeedDecision, Need, Survey, SurveyItem, SurveyOpenAnswer, SurveyResponse
from matching.models import MatchingChunk, MatchingRun, NeedResult
from offers.models import Audience, CatalogueVersion, Offer, Organisation, Source, SourceSync, SyncStatus, SyncTrigger
from tests.audiences.factories import make_need, make_survey
from tests.conftest import make_user
from tests.matching.factories import make_need_result, make_run
from tests.offers.factories import make_offer, make_organisation, reference_ensure

ROLES = ("anonymous", "editor_a", "editor_b", "analyst", "admin")
PASSWORD = "secret-password-123"  # tests.conftest.make_user
STATUSES = ("published", "draft", "archived")


@dataclass
class World:
    users: dict  # role -> user (None for anonymous)
    organisation_a: Organisation
    organisation_b: Organisation
    organisation_empty: Organisation  # no offers: the one an admin may delete
    offers: dict  # "a_published", "a_draft", "a_archived", "b_published", ...
    audience: Audience  # unused by anything: deletable
    need: Need  # hand-made: writable by analysts
    survey: Survey
    run: MatchingRun
    baseline: MatchingRun
    result: NeedResult
    source: Source  # organisation A's, no offers: deletable by A's editors and admins
    sync: SourceSync  # a finished sync of it (a new one may be queued)
    tokens: dict = field(default_factory=dict)

    def client(self, role: str) -> APIClient:
        """A client authenticated like a real one: `Authorization: Token <key>` (none for anonymous)."""
        client = APIClient()
        if role != "anonymous":
            client.credentials(HTTP_AUTHORIZATION=f"Token {self.tokens[role]}")
        return client

    def visible_offers(self, role: str) -> set[str]:
        """What each role may read: published offers for all, an organisation's other offers for its editors, all
        for admins. Analysts are not editors: they see the published catalogue only."""
        published = {"a_published", "b_published"}
        if role == "admin":
            return set(self.offers)
        if role in ("editor_a", "editor_b"):
            letter = role[-1]
            return published | {f"{letter}_{status}" for status in STATUSES}
        return published


def world_build(*, organisation_a, organisation_b, editor_a, editor_b, analyst_user, admin_user) -> World:
    offers = {}
    for letter, organisation in (("a", organisation_a), ("b", organisation_b)):
        for status in STATUSES:
            offers[f"{letter}_{status}"] = make_offer(
                organisation=organisation,
                title=f"Crèche {letter.upper()} {status}",
                status=status,
                source="cd23",
                external_id=f"{letter}-{status}",
            )
    need = make_need(statement="Une place en crèche près de Guéret")
    run, baseline = make_run(), make_run()
    result = make_need_result(run, need=need, statement=need.statement, domain_code="daily-life", coverage=0.2)
    make_need_result(baseline, need=need, statement=need.statement, domain_code="daily-life", coverage=0.1)
    users = {
        "anonymous": None,
        "editor_a": editor_a,
        "editor_b": editor_b,
        "analyst": analyst_user,
        "admin": admin_user,
    }
    tokens = {role: Token.objects.create(user=user).key for role, user in users.items() if user is not None}
    source = Source.objects.create(
        organisation=organisation_a, code="services-a", name="Services A", format="data_inclusion"
    )
    sync = SourceSync.objects.create(source=source, trigger=SyncTrigger.UPLOAD, status=SyncStatus.SUCCEEDED)
    return World(
        users=users,
        organisation_a=organisation_a,
        organisation_b=organisation_b,
        organisation_empty=make_organisation(name="Association sans offre"),
        offers=offers,
        audience=Audience.objects.create(code="test-newcomers", label="Nouveaux venus (test)", position=99),
        need=need,
        survey=make_survey(),
        run=run,
        baseline=baseline,
        result=result,
        source=source,
        sync=sync,
        tokens=tokens,
    )


@pytest.fixture(scope="module", name="module_world")
def module_world_fixture(django_db_setup, django_db_blocker) -> World:
    """One world for a whole module, in a transaction rolled back at its end: loading the reference data for every
    test would cost seconds each on PostgreSQL. Each test still runs in its own savepoint (pytest-django's
    transactional test case nests inside this block), so a test's writes never reach the next one."""
    with django_db_blocker.unblock(), transaction.atomic():
        reference_ensure()
        organisation_a = make_organisation(
            name="Communauté d'agglomération du Grand Guéret", territory_code="200034825"
        )
        organisation_b = make_organisation(name="Office de tourisme Creuse Sud Ouest", territory_code="23030")
        editor_a = make_user("editor-a", editor_of=organisation_a)
        editor_b = make_user("editor-b", editor_of=organisation_b)
        yield world_build(
            organisation_a=organisation_a,
            organisation_b=organisation_b,
            editor_a=editor_a,
            editor_b=editor_b,
            analyst_user=make_user("analyst-user", analyst=True),
            admin_user=make_user("admin-user", admin=True),
        )
        transaction.set_rollback(True)


@pytest.fixture(name="world")
def world_fixture(module_world, db) -> World:
    """The module's world; each test's writes are rolled back with its savepoint."""
    return module_world


WRITABLE_MODELS = (
    Offer,
    Offer.themes.through,
    Offer.audiences.through,
    Offer.service_area.through,
    Organisation,
    Organisation.editors.through,
    Source,
    SourceSync,
    CatalogueVersion,
    Audience,
    Need,
    Need.themes.through,
    Survey,
    Survey.audiences.through,
    SurveyItem,
    SurveyResponse,
    SurveyOpenAnswer,
    CandidateNeedDecision,
    MatchingRun,
    MatchingChunk,
    NeedResult,
)


def fingerprint() -> dict:
    """Every row of every model a client can write through the API (small world: a few hundred rows)."""
    return {model._meta.label: list(model.objects.order_by("pk").values_list()) for model in WRITABLE_MODELS}


def named_file(content: bytes, name: str) -> io.BytesIO:
    handle = io.BytesIO(content)
    handle.name = name
    return handle


def offer_body(organisation: Organisation, **overrides) -> dict:
    """A complete, valid offer as a client sends it (POST and PUT)."""
    return {
        "title": "Halte-garderie itinérante",
        "description": "Accueil occasionnel des tout-petits, deux matinées par semaine.",
        "domain": "daily-life",
        "themes": ["childcare"],
        "organisation": organisation.slug,
        "commune": "23096",
        "is_free": True,
        "status": "draft",
        **overrides,
    }


def organisation_body(**overrides) -> dict:
    return {
        "name": "Maison France services de Bénévent",
        "kind": "public-body",
        "territory": "23096",
        "email": "contact@example.org",
        "phone": "05 55 00 00 00",
        "website": "https://example.org",
        **overrides,
    }


def need_body(**overrides) -> dict:
    return {
        "audience": "remote-workers",
        "domain": "jobs",
        "themes": ["coworking"],
        "statement": "Un espace de coworking à moins de 20 minutes",
        "importance": 0.7,
        "source": "workshop",
        **overrides,
    }


def survey_body(**overrides) -> dict:
    return {
        "title": "Enquête nouveaux arrivants",
        "date": "2025-05-01",
        "audiences": ["families"],
        "scale_min": 1,
        "scale_max": 5,
        "items": [{"code": "creche", "domain": "daily-life", "themes": ["childcare"], "statement": "Crèche"}],
        **overrides,
    }
