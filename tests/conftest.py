"""Shared fixtures: reference data loaded once per session, fresh caches, users and API clients for each role."""

import os
import socket
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test.client import RequestFactory
from django.utils import translation
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient

from api.permissions import ANALYSTS_GROUP
from api.translations import catalogues, compile_catalogues
from matching.index import offer_index_clear
from matching.theme_cache import theme_classifier_clear
from offers.models import Organisation, Territory, TerritoryKind
from offers.territory_paths import KINDS
from tests.offers.factories import make_organisation, reference_ensure

# Property-based tests draw the same examples on every run (`make test`, CI), so a red run is a regression that
# replays; `HYPOTHESIS_PROFILE=fuzz` draws new ones (`make fuzz`). Nothing is written into the repository.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
hypothesis_settings.register_profile("fuzz", database=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_configure(config):
    """The catalogues compiled before any test loads them (a plain `pytest` on a fresh checkout, as `make test`
    does): Django reads `.mo` files, which are build products."""
    compile_catalogues(catalogues())


@pytest.fixture(autouse=True)
def _english_by_default(request, monkeypatch):
    """The suite's tests read English messages: their requests say `Accept-Language: en` unless they set the
    header, and code they call directly runs in English. Tests of the languages themselves (French by default,
    English on request) are marked `i18n` and get neither."""
    if request.node.get_closest_marker("i18n"):
        yield
        return
    base_environ = RequestFactory._base_environ

    def english_environ(self, **request_environ):
        environ = base_environ(self, **request_environ)
        environ.setdefault("HTTP_ACCEPT_LANGUAGE", "en")
        return environ

    monkeypatch.setattr(RequestFactory, "_base_environ", english_environ)
    with translation.override("en"):
        yield


def require_service(service: str, *, how: str, url: str | None = None, available: bool = True) -> None:
    """Skip the calling test, saying which outside service it needs and how to provide it, when that service is
    absent: not `available`, or nothing accepting connections at `url`'s host and port. `make test` needs only
    Python, so a fresh machine skips these tests rather than erroring (`.ci/run` starts the services)."""
    if url is not None:
        parts = urlsplit(url)
        try:
            with socket.create_connection((parts.hostname or "127.0.0.1", parts.port), timeout=1):
                pass
        except OSError as exc:
            pytest.skip(f"needs {service} at {parts.hostname}:{parts.port}, not reachable ({exc}): {how}")
    if not available:
        pytest.skip(f"needs {service}: {how}")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database with the reference data committed once, so each test's rolled-back transaction sees it."""
    with django_db_blocker.unblock():
        reference_ensure()


@pytest.fixture
def reference(db):
    """The Creuse territories and the taxonomy: there since the session started, unless a test that flushes the
    database (transactional_db, live_server) ran before; then they are loaded again."""
    reference_ensure()


@pytest.fixture
def no_territories(db):
    """No territory, for tests of the loader from scratch (deleted in the test's transaction: the next test has
    them again)."""
    for kind in reversed(KINDS):  # children first: a territory protects its parent
        Territory.objects.filter(kind=kind).delete()
    Territory.objects.filter(kind=TerritoryKind.COUNTRY).delete()  # written from the régions by the loaders


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Throttle counters and cached list counts live in the cache, the search index in memory: each test starts
    and ends with neither."""
    cache.clear()
    offer_index_clear()
    theme_classifier_clear()
    yield
    cache.clear()
    offer_index_clear()
    theme_classifier_clear()


def make_user(username: str, *, analyst: bool = False, admin: bool = False, editor_of: Organisation | None = None):
    user = get_user_model().objects.create_user(username=username, password="secret-password-123")
    if admin:
        user.is_staff = user.is_superuser = True
        user.save()
    if analyst:
        user.groups.add(Group.objects.get_or_create(name=ANALYSTS_GROUP)[0])
    if editor_of is not None:
        editor_of.editors.add(user)
    return user


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def anonymous_client():
    return APIClient()


@pytest.fixture
def admin_user(db):
    return make_user("admin-user", admin=True)


@pytest.fixture
def analyst_user(db):
    return make_user("analyst-user", analyst=True)


@pytest.fixture
def organisation_a(reference):
    return make_organisation(name="Communauté d'agglomération du Grand Guéret", territory_code="200034825")


@pytest.fixture
def organisation_b(reference):
    return make_organisation(name="Office de tourisme Creuse Sud Ouest", territory_code="23030")


@pytest.fixture
def editor_a(organisation_a):
    return make_user("editor-a", editor_of=organisation_a)


@pytest.fixture
def editor_b(organisation_b):
    return make_user("editor-b", editor_of=organisation_b)


@pytest.fixture
def admin_client(admin_user):
    return client_for(admin_user)


@pytest.fixture
def analyst_client(analyst_user):
    return client_for(analyst_user)


@pytest.fixture
def editor_a_client(editor_a):
    return client_for(editor_a)


@pytest.fixture
def editor_b_client(editor_b):
    return client_for(editor_b)
