"""The territory dimension of the authorisation matrix (issue 15): several territories' teams on one instance.

Territories of the Creuse: A = the Grand Guéret agglomeration (EPCI 200034825), B = Creuse Sud Ouest (EPCI 200067189),
both in the département 23 and the région 75 (Nouvelle-Aquitaine). Strategy material exists for A, for B and for the
whole instance (no territory): a need, a survey, and two succeeded runs (a run and its baseline) each.

Roles: anonymous, an editor, an analyst of A, a regional analyst (member of the région), an analyst without any
territory (instance-wide under the default DJANGO_ANALYSTS_WITHOUT_TERRITORY=all), an admin. Every strategy
endpoint about an object is sent by every role on the objects of A, of B and of the whole instance: 200 (or the
write's status) when the role sees the object, 404 otherwise (as another organisation's draft), and a refused
request writes nothing. Writes that name a territory are checked the same way, with a 400 naming the field.
"""

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.db import transaction
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audiences.models import Need, Survey
from matching.models import MatchingRun
from offers.models import Territory
from tests.api.authz_world import fingerprint, named_file, need_body, survey_body
from tests.api.conftest import assert_error
from tests.audiences.factories import RESPONSES_CSV, make_need, make_survey
from tests.conftest import make_user
from tests.matching.factories import make_need_result, make_run
from tests.offers.factories import make_organisation, reference_ensure

pytestmark = pytest.mark.django_db

V1 = "/api/v1"
EPCI_A, EPCI_B = "200034825", "200067189"  # Grand Guéret, Creuse Sud Ouest
COMMUNE_A, COMMUNE_B = "23096", "23030"  # Guéret, in A; a commune of B
ROLES = ("anonymous", "editor", "analyst_a", "analyst_region", "analyst_all", "admin")
OBJECTS = ("a", "b", "all")  # A's, B's, the whole instance's (no territory)


def sees(role: str, obj: str) -> bool:
    """What each analyst role sees: its territory and below; the région's analyst both EPCIs (not the whole
    instance's material, which has no territory); instance-wide accounts everything."""
    if role in ("analyst_all", "admin"):
        return True
    if role == "analyst_region":
        return obj in ("a", "b")
    if role == "analyst_a":
        return obj == "a"
    return False


def expected(role: str, obj: str, status: int) -> int:
    if role == "anonymous":
        return 401
    if role == "editor":
        return 403
    return status if sees(role, obj) else 404


@dataclass
class TerritoryWorld:
    users: dict
    tokens: dict
    territories: dict  # "a", "b", "region"
    needs: dict  # obj -> Need
    surveys: dict  # obj -> Survey
    runs: dict  # obj -> MatchingRun
    baselines: dict  # obj -> MatchingRun
    results: dict = field(default_factory=dict)  # obj -> NeedResult

    def client(self, role: str) -> APIClient:
        client = APIClient()
        if role != "anonymous":
            client.credentials(HTTP_AUTHORIZATION=f"Token {self.tokens[role]}")
        return client


@pytest.fixture(scope="module")
def module_territory_world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        reference_ensure()
        territories = {
            "a": Territory.objects.get(kind="epci", code=EPCI_A),
            "b": Territory.objects.get(kind="epci", code=EPCI_B),
            "region": Territory.objects.get(kind="region", code="75"),
        }
        users = {
            "anonymous": None,
            "editor": make_user("territory-editor", editor_of=make_organisation(name="Office du Grand Guéret")),
            "analyst_a": make_user("analyst-gueret", analyst=True),
            "analyst_region": make_user("analyst-nouvelle-aquitaine", analyst=True),
            "analyst_all": make_user("analyst-without-territory", analyst=True),
            "admin": make_user("territory-admin", admin=True),
        }
        territories["a"].analysts.add(users["analyst_a"])
        territories["region"].analysts.add(users["analyst_region"])
        scopes = {"a": territories["a"], "b": territories["b"], "all": None}
        communes = {"a": COMMUNE_A, "b": COMMUNE_B, "all": None}
        needs, surveys, runs, baselines, results = {}, {}, {}, {}, {}
        for obj in OBJECTS:
            needs[obj] = make_need(statement=f"Une place en crèche ({obj})", territory=communes[obj])
            surveys[obj] = make_survey(reference=f"ENQ-{obj}")
            surveys[obj].territory = scopes[obj]
            surveys[obj].title = f"Enquête {obj}"
            surveys[obj].save()
            runs[obj] = make_run(scope_territory=scopes[obj])
            baselines[obj] = make_run(scope_territory=scopes[obj])
            path = needs[obj].territory.path if needs[obj].territory_id else ""
            results[obj] = make_need_result(runs[obj], need=needs[obj], territory_path=path, coverage=0.2)
            make_need_result(baselines[obj], need=needs[obj], territory_path=path, coverage=0.1)
        tokens = {role: Token.objects.create(user=user).key for role, user in users.items() if user is not None}
        yield TerritoryWorld(users, tokens, territories, needs, surveys, runs, baselines, results)
        transaction.set_rollback(True)


@pytest.fixture
def world(module_territory_world, db) -> TerritoryWorld:
    return module_territory_world


# Endpoints about one object: every role x A's, B's and the whole instance's ------------------------------------------

Url = Callable[[TerritoryWorld, str], str]


@dataclass(frozen=True)
class ObjectCase:
    method: str
    label: str
    url: Url
    status: int  # when the role sees the object
    body: Callable[[TerritoryWorld, str], object] | None = None
    fmt: str = "json"
    writes: bool = False

    @property
    def id(self) -> str:
        return f"{self.method} {self.label}"


def need_url(suffix: str = "") -> Url:
    return lambda w, obj: f"{V1}/needs/{w.needs[obj].pk}/{suffix}"


def survey_url(suffix: str = "") -> Url:
    return lambda w, obj: f"{V1}/surveys/{w.surveys[obj].pk}/{suffix}"


def run_url(suffix: str = "") -> Url:
    return lambda w, obj: f"{V1}/matching/runs/{w.runs[obj].pk}/{suffix}"


OBJECT_CASES = [
    ObjectCase("GET", "need", need_url(), 200),
    ObjectCase("PUT", "need", need_url(), 200, lambda w, obj: need_body(), writes=True),
    ObjectCase("PATCH", "need", need_url(), 200, lambda w, obj: {"importance": 0.9}, writes=True),
    ObjectCase("DELETE", "need", need_url(), 204, writes=True),
    ObjectCase("GET", "survey", survey_url(), 200),
    ObjectCase("PUT", "survey", survey_url(), 200, lambda w, obj: survey_body(), writes=True),
    ObjectCase("PATCH", "survey", survey_url(), 200, lambda w, obj: {"title": "Enquête 2026"}, writes=True),
    ObjectCase("DELETE", "survey", survey_url(), 204, writes=True),
    ObjectCase(
        "POST",
        "survey responses",
        survey_url("responses/"),
        200,
        lambda w, obj: {"file": named_file(_responses_in(obj).encode(), "reponses.csv")},
        fmt="multipart",
        writes=True,
    ),
    ObjectCase("GET", "run", run_url(), 200),
    ObjectCase("GET", "run results", run_url("needs/"), 200),
    ObjectCase("GET", "run result", lambda w, obj: f"{run_url('needs/')(w, obj)}{w.results[obj].pk}/", 200),
    ObjectCase("GET", "run report", run_url("report/"), 200),
    ObjectCase("GET", "run report csv", run_url("report/?format=csv"), 200),
    ObjectCase(
        "GET", "run compare", lambda w, obj: f"{run_url('compare/')(w, obj)}?baseline={w.baselines[obj].pk}", 200
    ),
    ObjectCase("GET", "run IPA", run_url("ipa/"), 200),
    ObjectCase("GET", "run IPA svg", run_url("ipa/?format=svg"), 200),
]


def _responses_in(obj: str) -> str:
    """The shared responses file with every respondent in a commune of the survey's territory (an upload naming a
    commune outside it is refused whatever the role)."""
    commune = {"a": COMMUNE_A, "b": COMMUNE_B}.get(obj)
    if commune is None:
        return RESPONSES_CSV
    header, *lines = RESPONSES_CSV.strip().splitlines()
    rows = [line.split(",") for line in lines]
    return "\n".join([header, *(",".join([row[0], row[1], commune, *row[3:]]) for row in rows)]) + "\n"


def _content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _send(world: TerritoryWorld, role: str, method: str, url: str, body=None, fmt: str = "json"):
    return getattr(world.client(role), method.lower())(url, body, format=fmt)


@pytest.mark.parametrize("case", OBJECT_CASES, ids=lambda case: case.id)
def test_object_endpoints_by_territory(world, case: ObjectCase):
    problems = []
    for obj in OBJECTS:
        for role in ROLES:
            with transaction.atomic():
                before = fingerprint()
                body = case.body(world, obj) if case.body else None
                response = _send(world, role, case.method, case.url(world, obj), body, case.fmt)
                want = expected(role, obj, case.status)
                if response.status_code != want:
                    problems.append(
                        f"{role} on {obj}: {response.status_code}, expected {want}: {_content(response)[:200]!r}"
                    )
                elif response.status_code == 404:
                    # The same answer as an id that does not exist: nothing says the object is there.
                    assert response.json()["code"] == "not_found"
                changed = fingerprint() != before
                if changed != (case.writes and response.status_code < 300):
                    problems.append(f"{role} on {obj}: wrote {changed}, status {response.status_code}")
                transaction.set_rollback(True)
    assert problems == []


def test_a_hidden_baseline_is_refused_like_an_unknown_run(world):
    """Comparing A's run with B's: the baseline B is no run to A's analyst (400 on `baseline`, the answer to an id
    that does not exist), while the région's analyst compares them."""
    url = f"{run_url('compare/')(world, 'a')}?baseline={world.runs['b'].pk}"
    body = assert_error(_send(world, "analyst_a", "GET", url), 400, field="baseline")
    assert f"No matching run with id {world.runs['b'].pk}" in body["errors"][0]["message"]
    assert _send(world, "analyst_region", "GET", url).status_code == 200


# Lists and exports: each role gets what it sees, and filters never widen it ------------------------------------------


def _visible(role: str) -> set[str]:
    return {obj for obj in OBJECTS if sees(role, obj)}


ANALYST_ROLES = ("analyst_a", "analyst_region", "analyst_all", "admin")


@pytest.mark.parametrize("role", ANALYST_ROLES)
def test_lists_and_exports_show_each_analyst_their_territories(world, role):
    client = world.client(role)
    by_id = {
        "needs": {str(need.pk): obj for obj, need in world.needs.items()},
        "surveys": {str(survey.pk): obj for obj, survey in world.surveys.items()},
        "matching/runs": {str(run.pk): obj for obj, run in [*world.runs.items(), *world.baselines.items()]},
    }

    def listed(path: str, query: str = "") -> set[str]:
        response = client.get(f"{V1}/{path}/?page_size=100{query}")
        assert response.status_code == 200
        ids = [str(row["id"]) for row in response.json()["results"]]
        return {by_id[path][pk] for pk in ids if pk in by_id[path]}

    for path in by_id:
        assert listed(path) == _visible(role), path
    # The territory filter of needs takes in needs covering it (the whole instance's): never one the role cannot see.
    assert listed("needs", f"&territory={COMMUNE_B}") == _visible(role) & {"b", "all"}
    assert listed("needs", "&q=creche") == _visible(role)
    exported = csv.DictReader(io.StringIO(_content(client.get(f"{V1}/needs/export/")).decode("utf-8-sig")))
    assert {by_id["needs"][str(row["id"])] for row in exported if str(row["id"]) in by_id["needs"]} == _visible(role)
    exported = json.loads(_content(client.get(f"{V1}/needs/export/?format=json")))
    assert {by_id["needs"][str(row["id"])] for row in exported if str(row["id"]) in by_id["needs"]} == _visible(role)


def test_analysts_of_nothing_see_nothing_when_the_instance_says_none(world):
    with override_settings(ANALYSTS_WITHOUT_TERRITORY="none"):
        client = world.client("analyst_all")
        for path in ("needs", "surveys", "matching/runs"):
            response = client.get(f"{V1}/{path}/")
            assert response.status_code == 200 and response.json()["count"] == 0, path
        assert client.get(need_url()(world, "all")).status_code == 404
        refused = client.post(f"{V1}/needs/", need_body(), format="json")
        assert_error(refused, 400, code="invalid", field="territory", says="belongs to no territory")
        me = client.get(f"{V1}/me/").json()
        assert me["territories"] == [] and me["sees_every_territory"] is False
        # Territorial analysts and admins are not affected.
        assert world.client("analyst_a").get(need_url()(world, "a")).status_code == 200
        assert world.client("admin").get(need_url()(world, "all")).status_code == 200


# Writes that name a territory --------------------------------------------------------------------------------------

# (label, the territory sent: a code, None for "omitted"), and per role the status it gets.
CREATE_CASES = [
    ("in A", COMMUNE_A, {"analyst_a": 201, "analyst_region": 201, "analyst_all": 201, "admin": 201}),
    ("in B", EPCI_B, {"analyst_a": 400, "analyst_region": 201, "analyst_all": 201, "admin": 201}),
    ("the région", "region:75", {"analyst_a": 400, "analyst_region": 201, "analyst_all": 201, "admin": 201}),
    # Omitted: an analyst of one territory writes into it; instance-wide accounts write for the whole instance.
    ("omitted", None, {"analyst_a": 201, "analyst_region": 201, "analyst_all": 201, "admin": 201}),
]
OMITTED_DEFAULT = {"analyst_a": EPCI_A, "analyst_region": "75", "analyst_all": None, "admin": None}


def _create(world, role: str, kind: str, territory: str | None):
    if kind == "needs":
        body = need_body(**({"territory": territory} if territory else {}))
        return _send(world, role, "POST", f"{V1}/needs/", body), "territory"
    if kind == "surveys":
        body = survey_body(**({"territory": territory} if territory else {}))
        return _send(world, role, "POST", f"{V1}/surveys/", body), "territory"
    body = {"scope_territory": territory} if territory else {}
    return _send(world, role, "POST", f"{V1}/matching/runs/", body), "scope_territory"


@pytest.mark.parametrize("kind", ["needs", "surveys", "runs"])
@pytest.mark.parametrize("label,territory,statuses", CREATE_CASES, ids=[case[0] for case in CREATE_CASES])
def test_creating_outside_ones_territories_is_refused_naming_the_field(world, kind, label, territory, statuses):
    for role in ("anonymous", "editor", *ANALYST_ROLES):
        with transaction.atomic():
            before = fingerprint()
            response, field_name = _create(world, role, kind, territory)
            want = {"anonymous": 401, "editor": 403}.get(role) or statuses[role]
            if kind == "runs" and want == 201:
                want = 202
            assert response.status_code == want, (role, response.content[:300])
            if want == 400:
                assert_error(response, 400, code="invalid", field=field_name, says="outside your territories")
                assert fingerprint() == before
            elif want in (201, 202):
                scope = response.json()[field_name]
                if territory is None:
                    default = OMITTED_DEFAULT[role]
                    assert (scope.split(":")[-1] if scope else None) == default, (role, scope)
            transaction.set_rollback(True)


def test_an_analyst_of_several_territories_must_name_one(world):
    analyst = make_user("analyst-a-and-b", analyst=True)
    world.territories["a"].analysts.add(analyst)
    world.territories["b"].analysts.add(analyst)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=analyst).key}")
    for url, body, field_name in (
        (f"{V1}/needs/", need_body(), "territory"),
        (f"{V1}/surveys/", survey_body(), "territory"),
        (f"{V1}/matching/runs/", {}, "scope_territory"),
    ):
        body_text = assert_error(client.post(url, body, format="json"), 400, field=field_name)
        message = body_text["errors"][0]["message"]
        assert "Grand Guéret" in message and "Creuse Sud Ouest" in message, message
    # Both are theirs: each is accepted, and they see both territories' material.
    assert client.post(f"{V1}/needs/", need_body(territory=COMMUNE_B), format="json").status_code == 201
    assert client.get(need_url()(world, "a")).status_code == 200
    assert client.get(need_url()(world, "b")).status_code == 200
    assert client.get(need_url()(world, "all")).status_code == 404


@pytest.mark.parametrize(
    "url,body,field_name",
    [
        (need_url(), {"territory": EPCI_B}, "territory"),
        (need_url(), {"territory": None}, "territory"),
        (survey_url(), {"territory": f"epci:{EPCI_B}"}, "territory"),
        (survey_url(), {"territory": None}, "territory"),
    ],
    ids=["need to B", "need to the whole instance", "survey to B", "survey to the whole instance"],
)
def test_moving_ones_material_out_of_ones_territories_is_refused(world, url, body, field_name):
    before = fingerprint()
    response = world.client("analyst_a").patch(url(world, "a"), body, format="json")
    assert_error(response, 400, field=field_name, says="outside your territories")
    assert fingerprint() == before
    # Within A (its commune Guéret): accepted.
    moved = world.client("analyst_a").patch(url(world, "a"), {"territory": COMMUNE_A}, format="json")
    assert moved.status_code == 200 and moved.json()["territory"] == f"commune:{COMMUNE_A}"


NEEDS_CSV_HEADER = "external_id,audience,domain,themes,statement,importance,source,territory\n"


def _import(world, role: str, rows: str):
    upload = {"file": named_file((NEEDS_CSV_HEADER + rows).encode(), "besoins.csv")}
    return world.client(role).post(f"{V1}/needs/import/", upload, format="multipart")


def test_needs_import_checks_every_rows_territory(world):
    rows = (
        "T-1,families,daily-life,childcare,Crèche à Guéret,0.5,workshop,23096\n"
        "T-2,families,daily-life,childcare,Crèche à Ahun,0.5,workshop," + EPCI_B + "\n"
        "T-3,families,daily-life,childcare,Crèche partout,0.5,workshop,\n"
    )
    before = fingerprint()
    body = assert_error(_import(world, "analyst_a", rows), 400)
    assert [(error["line"], error["field"]) for error in body["errors"]] == [(3, "territory")]
    assert "outside your territories" in body["errors"][0]["message"]
    assert fingerprint() == before
    # The région's analyst imports all three; the empty territory becomes the région, their only territory.
    report = _import(world, "analyst_region", rows)
    assert report.status_code == 200 and report.json()["created"] == 3
    imported = {
        need.external_id: need.territory.qualified_code for need in Need.objects.filter(external_id__startswith="T-")
    }
    assert imported == {"T-1": "commune:23096", "T-2": f"epci:{EPCI_B}", "T-3": "region:75"}


def test_needs_import_cannot_overwrite_another_territorys_need_by_its_key(world):
    hidden = world.needs["b"]
    hidden.external_id = "ATELIER-7"
    hidden.save()
    rows = f"ATELIER-7,families,daily-life,childcare,Crèche,0.5,{hidden.source},23096\n"
    before = fingerprint()
    body = assert_error(_import(world, "analyst_a", rows), 400)
    assert [(error["line"], error["field"], error["code"]) for error in body["errors"]] == [
        (2, "external_id", "outside_territories")
    ]
    assert fingerprint() == before
    # An analyst who sees the need updates it as before.
    assert _import(world, "analyst_region", rows).json()["updated"] == 1


def test_a_run_reads_only_the_needs_its_launcher_sees(world):
    """A's run takes A's needs, not the whole instance's (no territory), which A's analyst cannot see; an
    instance-wide run of the same scope takes both."""
    launched = world.client("analyst_a").post(f"{V1}/matching/runs/", {"scope_territory": EPCI_A}, format="json")
    assert launched.status_code == 202
    run = MatchingRun.objects.get(pk=launched.json()["id"])
    in_scope = {chunk_id for chunk in run.chunks.all() for chunk_id in chunk.need_ids}
    assert world.needs["a"].pk in in_scope and world.needs["all"].pk not in in_scope
    wide = world.client("analyst_all").post(f"{V1}/matching/runs/", {"scope_territory": EPCI_A}, format="json")
    run = MatchingRun.objects.get(pk=wide.json()["id"])
    in_scope = {chunk_id for chunk in run.chunks.all() for chunk_id in chunk.need_ids}
    assert {world.needs["a"].pk, world.needs["all"].pk} <= in_scope


# The caller's account --------------------------------------------------------------------------------------------


def test_me_describes_roles_and_territories(world):
    assert world.client("anonymous").get(f"{V1}/me/").status_code == 401
    analyst = world.client("analyst_a").get(f"{V1}/me/").json()
    assert analyst == {
        "username": "analyst-gueret",
        "is_admin": False,
        "is_analyst": True,
        "organisations": [],
        "territories": [
            {"qualified_code": f"epci:{EPCI_A}", "name": "Communauté d'agglomération du Grand Guéret", "kind": "epci"}
        ],
        "sees_every_territory": False,
    }
    editor = world.client("editor").get(f"{V1}/me/").json()
    assert editor["is_analyst"] is False and len(editor["organisations"]) == 1
    assert world.client("analyst_all").get(f"{V1}/me/").json()["sees_every_territory"] is True
    assert world.client("admin").get(f"{V1}/me/").json()["sees_every_territory"] is True


def test_survey_territory_is_part_of_the_survey(world):
    body = world.client("analyst_region").get(survey_url()(world, "b")).json()
    assert body["territory"] == f"epci:{EPCI_B}"
    assert world.client("admin").get(survey_url()(world, "all")).json()["territory"] is None
    assert Survey.objects.filter(territory=world.territories["b"]).count() == 1


def test_the_whole_instances_needs_in_a_territorys_run_are_shown_to_instance_wide_accounts_only(world):
    """An admin's run scoped to A reads A's needs and the whole instance's; A's analyst sees the run, but not the
    results of needs they could not see (in the list, the detail, the report and the IPA)."""
    run = make_run(scope_territory=world.territories["a"])
    mine = make_need_result(run, need=world.needs["a"], territory_path=world.needs["a"].territory.path)
    hidden = make_need_result(run, need=world.needs["all"], territory_path="")
    base = f"{V1}/matching/runs/{run.pk}"
    for role, wanted in (("analyst_a", {mine.pk}), ("analyst_region", {mine.pk}), ("admin", {mine.pk, hidden.pk})):
        client = world.client(role)
        assert {row["id"] for row in client.get(f"{base}/needs/").json()["results"]} == wanted, role
        assert client.get(f"{base}/needs/{hidden.pk}/").status_code == (200 if hidden.pk in wanted else 404)
        assert client.get(f"{base}/report/?group_by=domain").json()["totals"]["need_count"] == len(wanted)
        assert len(client.get(f"{base}/ipa/").json()["needs"]) == len(wanted)
