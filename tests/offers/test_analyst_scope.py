"""What strategy material an account sees (offers.selectors.analyst_scope): territories as path prefixes, EPCIs that
straddle two départements, custom territories, the instance-wide accounts, and the queries it costs."""

import itertools

import hypothesis
import pytest
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from audiences.models import Need, Survey
from audiences.selectors import need_visible_q
from matching.models import MatchingRun
from offers.models import Territory, TerritoryKind
from offers.selectors import AnalystScope, analyst_scope, territories_subtree_q
from tests.audiences.factories import make_need, make_survey
from tests.conftest import client_for, make_user
from tests.matching.factories import make_run

pytestmark = pytest.mark.django_db

GRAND_GUERET, CREUSE_SUD_OUEST, HAUTE_CORREZE = "200034825", "200067189", "200066744"


def territory(code: str, kind: str = "epci") -> Territory:
    return Territory.objects.get(kind=kind, code=code)


def analyst_of(*territories: Territory, name: str = "analyst"):
    user = make_user(name, analyst=True)
    for member_of in territories:
        member_of.analysts.add(user)
    return user


def commune_of(epci: Territory) -> Territory:
    return Territory.objects.filter(kind="commune", parent=epci).order_by("code").first()


def visible_statements(user) -> set[str]:
    return set(Need.objects.filter(need_visible_q(user=user)).values_list("statement", flat=True))


def test_an_epcis_analyst_sees_its_communes_and_itself_not_its_neighbour_nor_the_whole_instance(reference):
    a, b = territory(GRAND_GUERET), territory(CREUSE_SUD_OUEST)
    scope = analyst_scope(user=analyst_of(a))
    assert not scope.instance_wide and scope.territories == (a,)
    assert scope.contains(a) and scope.contains(commune_of(a))
    assert not scope.contains(b) and not scope.contains(commune_of(b))
    assert not scope.contains(territory("23", "departement")) and not scope.contains(None)


def test_a_regions_analyst_sees_everything_below_it(reference):
    user = analyst_of(territory("75", "region"))
    make_need(statement="Guéret", territory="23096")
    make_need(statement="Creuse", territory="23")
    make_need(statement="Partout")
    assert visible_statements(user) == {"Guéret", "Creuse"}


def test_an_epci_straddling_two_departements_lies_within_a_departement_only_whole(reference):
    """Haute-Corrèze Communauté has communes in the Creuse and in the Corrèze: its need is not the Creuse's to see,
    though its own path sits under the Creuse; the région's analyst sees it."""
    straddling = territory(HAUTE_CORREZE)
    straddling.area_paths = [straddling.path, "r75/d19/e200066744/"]
    straddling.save()
    make_need(statement="Haute-Corrèze", territory=HAUTE_CORREZE)
    make_need(statement="Une commune creusoise de Haute-Corrèze", territory=commune_of(straddling).code)
    creuse = analyst_of(territory("23", "departement"), name="creuse")
    assert not analyst_scope(user=creuse).contains(straddling)
    assert visible_statements(creuse) == {"Une commune creusoise de Haute-Corrèze"}
    region = analyst_of(territory("75", "region"), name="region")
    assert analyst_scope(user=region).contains(straddling)
    assert visible_statements(region) == {"Haute-Corrèze", "Une commune creusoise de Haute-Corrèze"}
    # A member of the EPCI itself sees both halves.
    member = analyst_of(straddling, name="member")
    assert visible_statements(member) == {"Haute-Corrèze", "Une commune creusoise de Haute-Corrèze"}


def test_a_custom_territory_means_its_members_areas(reference):
    a, b = territory(GRAND_GUERET), territory(CREUSE_SUD_OUEST)
    custom = Territory.objects.create(
        kind=TerritoryKind.CUSTOM, code="gueret-sd", name="Guéret et Creuse Sud Ouest", path="x-gueret-sud/"
    )
    custom.members.set([a, b])
    custom.area_paths = [a.path, b.path]
    custom.save()
    make_need(statement="A", territory=commune_of(a).code)
    make_need(statement="B", territory=commune_of(b).code)
    make_need(statement="Autre EPCI", territory=HAUTE_CORREZE)
    make_need(statement="Projet", territory="gueret-sd")
    member = analyst_of(custom, name="member")
    assert visible_statements(member) == {"A", "B", "Projet"}
    # The custom territory lies within the Creuse, not within one of its two EPCIs.
    assert visible_statements(analyst_of(territory("23", "departement"), name="creuse")) == {
        "A",
        "B",
        "Autre EPCI",
        "Projet",
    }
    assert visible_statements(analyst_of(a, name="gueret")) == {"A"}


def test_instance_wide_accounts_and_the_setting(reference):
    make_need(statement="Partout")
    make_need(statement="Guéret", territory="23096")
    admin = make_user("admin", admin=True)
    assert analyst_scope(user=admin).instance_wide and visible_statements(admin) == {"Partout", "Guéret"}
    lone = make_user("lone", analyst=True)
    assert visible_statements(lone) == {"Partout", "Guéret"}
    with override_settings(ANALYSTS_WITHOUT_TERRITORY="none"):
        lone = make_user("lone-none", analyst=True)
        assert analyst_scope(user=lone) == AnalystScope(instance_wide=False)
        assert visible_statements(lone) == set()
    editor = make_user("not-an-analyst")
    assert visible_statements(editor) == set()


def test_territories_subtree_q_of_nothing_matches_nothing(reference):
    assert not Territory.objects.filter(territories_subtree_q([])).exists()
    both = Territory.objects.filter(territories_subtree_q([territory(GRAND_GUERET), territory(CREUSE_SUD_OUEST)]))
    assert {t.path.split("/")[2] for t in both} == {f"e{GRAND_GUERET}", f"e{CREUSE_SUD_OUEST}"}


def _make_need(territory_code: str, number: int) -> None:
    make_need(statement=f"Besoin {number}", territory=territory_code)


def _make_survey(territory_code: str, number: int) -> None:
    survey = make_survey(reference=f"ENQ-{number}")
    survey.territory = Territory.objects.get(code=territory_code)
    survey.save()


def _make_run(territory_code: str, number: int) -> None:
    make_run(scope_territory=Territory.objects.get(code=territory_code))


@pytest.mark.parametrize(
    "path,make",
    [("needs", _make_need), ("surveys", _make_survey), ("matching/runs", _make_run)],
    ids=["needs", "surveys", "runs"],
)
def test_a_territorial_analysts_list_costs_the_same_queries_for_one_object_and_for_many(reference, path, make):
    a = territory(GRAND_GUERET)
    counts = []
    for many in (False, True):
        Need.objects.all().delete()
        Survey.objects.all().delete()
        MatchingRun.objects.all().delete()
        for number in range(20 if many else 1):
            make("23096", number)
        make("23030", 99)  # another territory's
        user = analyst_of(a, name=f"analyst-{many}")
        client = client_for(type(user).objects.get(pk=user.pk))  # nothing memoised
        cache.clear()  # nor cached (the territories of several paths)
        with CaptureQueriesContext(connection) as context:
            response = client.get(f"/api/v1/{path}/?page_size=100")
        assert response.status_code == 200 and response.json()["count"] == (20 if many else 1)
        counts.append(len(context))
    assert counts[0] == counts[1]


def test_analysts_answers_are_private_and_carry_no_validator(reference):
    """Nothing an analyst reads is cached or ETagged: two analysts of different territories never share an answer
    (docs/security.md, Caching and privacy)."""
    make_need(statement="Guéret", territory="23096")
    client = client_for(analyst_of(territory(GRAND_GUERET)))
    for url in ("/api/v1/needs/", "/api/v1/surveys/", "/api/v1/matching/runs/", "/api/v1/me/"):
        response = client.get(url)
        assert response.status_code == 200
        assert response["Cache-Control"] == "private, no-store" and "ETag" not in response, url
        assert "Authorization" in response["Vary"]


def test_the_admin_assigns_an_analysts_territories_on_the_users_page(admin_user, reference):
    from django.test import Client

    from offers.admin import AnalystTerritoryInline

    analyst = make_user("to-assign", analyst=True)
    a = territory(GRAND_GUERET)
    client = Client()
    client.force_login(admin_user)
    url = f"/admin/auth/user/{analyst.pk}/change/"
    page = client.get(url)
    [inline] = [
        item for item in page.context["inline_admin_formsets"] if isinstance(item.opts, AnalystTerritoryInline)
    ]
    prefix = inline.formset.prefix
    body = {
        "username": analyst.username,
        "is_active": "on",
        "groups": list(analyst.groups.values_list("pk", flat=True)),
        "date_joined_0": "2025-01-01",
        "date_joined_1": "10:00:00",
        f"{prefix}-TOTAL_FORMS": "1",
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-0-territory": str(a.pk),
        f"{prefix}-0-user": str(analyst.pk),
    }
    response = client.post(url, body)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert list(a.analysts.all()) == [analyst]
    # The territory's page lists its analysts too (autocomplete), and the user list filters by their kind.
    assert client.get(f"/admin/offers/territory/{a.pk}/change/").status_code == 200
    assert client.get("/admin/auth/user/?analyst_territories__kind=epci").status_code == 200


def test_a_new_territory_of_several_paths_counts_once_the_catalogue_version_moves(reference):
    """The territories of several paths are cached per catalogue version: the territory writes bump it."""
    from offers.services import catalogue_changed

    a = territory(GRAND_GUERET)
    creuse = territory("23", "departement")
    assert analyst_scope(user=analyst_of(creuse, name="before")).inside_ids == frozenset()
    custom = Territory.objects.create(kind=TerritoryKind.CUSTOM, code="gueret-1", name="Guéret", path="x-g/")
    custom.area_paths = [a.path]
    custom.save()
    catalogue_changed()
    assert analyst_scope(user=analyst_of(creuse, name="after")).inside_ids == frozenset({custom.pk})


@pytest.fixture
def territory_sample(reference) -> list[Territory]:
    """The région, the département, every EPCI, a few communes, an EPCI straddling the Corrèze and a custom
    territory of two EPCIs, each with a need scoped to it: the territories material and memberships can name."""
    straddling = territory(HAUTE_CORREZE)
    straddling.area_paths = [straddling.path, "r75/d19/e200066744/"]
    straddling.save()
    a, b = territory(GRAND_GUERET), territory(CREUSE_SUD_OUEST)
    custom = Territory.objects.create(kind=TerritoryKind.CUSTOM, code="ab", name="A et B", path="xab/")
    custom.area_paths = [a.path, b.path]
    custom.save()
    sample = [
        territory("75", "region"),
        territory("23", "departement"),
        *Territory.objects.filter(kind="epci").order_by("code"),
        *(commune_of(epci) for epci in (a, b, straddling)),
        custom,
    ]
    for scoped in sample:
        make_need(statement=scoped.qualified_code, territory=scoped.code)
    make_need(statement="Partout")
    return sample


_drawn = itertools.count()


@hypothesis.settings(
    max_examples=30, deadline=None, suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture]
)
@hypothesis.given(data=hypothesis.strategies.data())
def test_what_the_database_shows_is_what_the_scope_contains(territory_sample, data):
    """For any memberships, the SQL filter (`AnalystScope.q`: what lists and details show) and the Python test
    (`AnalystScope.contains`: what writes check) agree on every territory: what one may write, one sees, and the
    reverse."""
    memberships = data.draw(
        hypothesis.strategies.lists(
            hypothesis.strategies.sampled_from(territory_sample), min_size=1, max_size=3, unique_by=lambda t: t.pk
        )
    )
    cache.clear()
    scope = analyst_scope(user=analyst_of(*memberships, name=f"drawn-{next(_drawn)}"))
    shown = set(Need.objects.filter(scope.q("territory")).values_list("territory_id", flat=True))
    assert shown == {t.pk for t in territory_sample if scope.contains(t)}, [t.qualified_code for t in memberships]
