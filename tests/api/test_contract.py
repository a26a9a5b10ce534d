"""The OpenAPI contract holds under schemathesis, run in-process against the WSGI app for every role.

Every operation, for anonymous, editor, analyst and admin, through schemathesis' phases: examples (the schema's
own examples), fuzzing (generated valid and invalid requests), coverage (boundary and invalid values of every
parameter and field, as admin: the role that gets past every permission to the validation), and stateful
(sequences following the links between operations, as admin). Checks: no 5xx, every status code, content type,
header and body as documented, invalid input refused with a 4xx, and every 4xx a JSON Error body
(`tests/api/contract.py`, shared with the live run of `test_contract_live.py`).

One check is left out: `positive_data_acceptance` expects every schema-valid request to succeed, but a schema
cannot say which codes exist (`domain=0`), which slugs are taken, which password is right or which fields go
together (`near` with `radius_km`); those are precise 400s, as the error body documents.

`CONTRACT_MAX_EXAMPLES` bounds the fuzzing (small in `make test`, large in `make fuzz`); `CONTRACT_SEED` fixes the
draw (fixed in `make test`, new at each `make fuzz`).
"""

import datetime
import os
import uuid

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token

from api.wsgi import application
from matching import examples
from matching.index import offer_index_clear
from offers.models import Organisation, OrganisationKind, Territory
from tests.api import contract  # noqa: F401  (registers the check that every 4xx is a JSON Error body)
from tests.audiences.factories import make_need, make_survey
from tests.conftest import make_user
from tests.matching.factories import make_need_result
from tests.offers.factories import make_offer, reference_ensure

MAX_EXAMPLES = int(os.environ.get("CONTRACT_MAX_EXAMPLES", "3"))
# A fixed seed in `make test`, so that CI replays the same requests on every run (a failure there is a regression,
# not the luck of the draw); `make fuzz` clears it to draw new ones. Set CONTRACT_SEED to replay a fuzz failure.
SEED = os.environ.get("CONTRACT_SEED", "20261201").strip()
ROLES = ["anonymous", "editor", "analyst", "admin"]
SCHEMA_URL = "/api/schema/?format=json"
# Hypothesis runs many requests inside one test (one database transaction): the fixtures are meant to be shared.
SHARED_FIXTURES = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


# Fixed keys, so that the stateful run can send the admin's as configured credentials (its probes then know what
# to remove to check that the API refuses the same requests without them).
TOKENS = {role: f"contract-{role}-token".ljust(40, "0") for role in ROLES[1:]}


def _config(headers: dict | None = None, **phases) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": int(SEED) if SEED else None,
            "headers": headers or {},
            "generation": {"max-examples": MAX_EXAMPLES},
            "checks": {"positive_data_acceptance": {"enabled": False}},
            "phases": {name: {"enabled": phases.get(name, False)} for name in ("examples", "coverage", "fuzzing")}
            | {"stateful": {"enabled": True, "max-steps": 6}},
        }
    )


per_role = schemathesis.openapi.from_wsgi(SCHEMA_URL, application, config=_config(examples=True, fuzzing=True))
coverage = schemathesis.openapi.from_wsgi(SCHEMA_URL, application, config=_config(coverage=True))
stateful = schemathesis.openapi.from_wsgi(
    SCHEMA_URL, application, config=_config(headers={"Authorization": f"Token {TOKENS['admin']}"})
)


@pytest.fixture(scope="module")
def contract_tokens(django_db_setup, django_db_blocker):
    """A small Creuse data set matching the schema's examples, and one token per role (module-wide: loading the
    reference data for each of the hundreds of tests would cost minutes)."""
    # The WSGI app closes "old" connections around each request, which inside the test transaction means closing
    # it (PostgreSQL); Django's own test client switches that off the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    with django_db_blocker.unblock(), transaction.atomic():
        offer_index_clear()
        reference_ensure()
        organisation = Organisation.objects.create(
            slug="ca-grand-gueret",
            name="Communauté d'agglomération du Grand Guéret",
            kind=OrganisationKind.LOCAL_AUTHORITY,
            territory=Territory.objects.get(kind="epci", code="200034825"),
        )
        make_offer(organisation=organisation, title="Crèche multi-accueil de Guéret", external_id="creche-gueret")
        make_offer(organisation=organisation, title="Relais petite enfance", status="draft")
        need = make_need(statement="Trouver une place en crèche près de Guéret", territory="200034825")
        make_survey()
        runs = [
            _succeeded_run(run_id, need=need, coverage=value)
            for run_id, value in ((examples.RUN_ID, 0.4), (examples.BASELINE_RUN_ID, 0.0))
        ]
        assert len(runs) == 2
        tokens = {}
        for role in ROLES[1:]:
            user = make_user(f"contract-{role}", analyst=role == "analyst", admin=role == "admin")
            if role == "editor":
                organisation.editors.add(user)
            tokens[role] = Token.objects.create(user=user, key=TOKENS[role]).key
        yield tokens
        transaction.set_rollback(True)
    offer_index_clear()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _succeeded_run(run_id: str, *, need, coverage: float):
    from matching.models import MatchingRun, RunStatus

    run = MatchingRun.objects.create(
        id=uuid.UUID(run_id),
        status=RunStatus.SUCCEEDED,
        reference_date=datetime.date(2025, 5, 12),
        algorithm_version="contract",
    )
    make_need_result(
        run,
        need=need,
        statement=need.statement,
        domain_code="daily-life",
        theme_codes=["childcare"],
        territory_path="r75/d23/e200034825/",
        importance=0.85,
        coverage=coverage,
        satisfaction=0.3,
    )
    return run


def _headers(tokens: dict, role: str) -> dict:
    return {"Authorization": f"Token {tokens[role]}"} if role in tokens else {}


@pytest.fixture
def role_headers(request, contract_tokens, db):
    cache.clear()  # throttling has its own tests; here every request must reach the view
    return _headers(contract_tokens, request.param)


def _call(case, headers):
    cache.clear()
    case.call_and_validate(headers=headers)


@pytest.mark.parametrize("role_headers", ROLES, indirect=True)
@per_role.parametrize()
@SHARED_FIXTURES
def test_contract_per_role(case, role_headers):
    _call(case, role_headers)


@coverage.parametrize()
@SHARED_FIXTURES
def test_contract_coverage_as_admin(case, contract_tokens, db):
    _call(case, _headers(contract_tokens, "admin"))


def test_contract_stateful_as_admin(contract_tokens, db):
    calls = []

    class AdminStateMachine(stateful.as_state_machine()):
        def before_call(self, case):
            cache.clear()
            calls.append(f"{case.method} {case.path}")

    AdminStateMachine.run(
        settings=settings(
            max_examples=MAX_EXAMPLES * 3,
            stateful_step_count=6,
            derandomize=bool(SEED),
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    # Links inferred from the schema chain writes to reads: the run went beyond single calls.
    assert len(calls) > MAX_EXAMPLES * 3, calls
