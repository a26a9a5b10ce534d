"""Fair use of matching runs: every run parameter is a finite number, and active runs are capped per user and in all,
even when two starts arrive at once."""

import json
import threading

import pytest
from django.db import connection
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.exceptions import Conflict, InvalidInput
from matching import reports, services
from matching.models import MatchingChunk, MatchingRun, RunStatus
from matching.scoring import MatchingParameters
from tests.conftest import client_for, make_user, require_service

RUNS = "/api/v1/matching/runs/"
NUMERIC_KEYS = [
    *(name for name, value in MatchingParameters().to_dict().items() if isinstance(value, int | float)),
    "max_attempts",
    "chunk_time_limit_seconds",
    "ipa_importance_cross",
    "ipa_satisfaction_cross",
]
NOT_FINITE = st.one_of(
    st.sampled_from([float("inf"), float("-inf"), float("nan")]),
    st.integers(min_value=2**1024, max_value=10**1000),
    st.integers(min_value=2**1024, max_value=10**1000).map(lambda value: -value),
)


def _rows() -> tuple[int, int]:
    return MatchingRun.objects.count(), MatchingChunk.objects.count()


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(NUMERIC_KEYS), value=NOT_FINITE)
def test_a_run_parameter_that_is_not_a_finite_number_is_refused_by_key(catalogue, analyst_client, key, value):
    parameters = {key: value, "ipa_rule": "given"} if key.startswith("ipa_") else {key: value}
    before = _rows()
    # The body as a client sends it: 1e400 is read as infinity; NaN and Infinity literals are refused by the parser.
    body = json.dumps({"parameters": parameters}).replace("Infinity", "1e400").replace("NaN", "1e400")
    response = analyst_client.post(RUNS, body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert f"parameters.{key}" in [error["field"] for error in response.json()["errors"]]
    with pytest.raises(InvalidInput) as refused:  # and the service, whoever calls it
        services.run_parameters_validate(parameters=parameters)
    errors = [error for error in refused.value.errors if error.field == f"parameters.{key}"]
    assert len(errors) == 1 and errors[0].code == "not_finite", errors
    assert _rows() == before


def test_1e400_is_refused_with_the_field(catalogue, analyst_client):
    # The JSON parser refuses the overflow before the run's validation sees an infinity (api/jsonlimits.py).
    response = analyst_client.post(RUNS, '{"parameters": {"decay_km": 1e400}}', content_type="application/json")
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == ("parameters.decay_km", "out_of_range")
    assert MatchingRun.objects.count() == 0


def _launch(client):
    return client.post(RUNS, {}, format="json")


def _active(user=None) -> int:
    runs = MatchingRun.objects.filter(status__in=(RunStatus.QUEUED, RunStatus.RUNNING))
    return (runs.filter(launched_by=user) if user else runs).count()


@pytest.mark.django_db
@override_settings(MAX_ACTIVE_RUNS_PER_USER=2, MAX_ACTIVE_RUNS=8)
@pytest.mark.parametrize("role", ["analyst", "admin"])
def test_a_user_may_have_two_active_runs_and_no_more(catalogue, role):
    user = make_user(f"busy-{role}", analyst=role == "analyst", admin=role == "admin")
    client = client_for(user)
    assert [_launch(client).status_code for _ in range(2)] == [202, 202]
    before = _rows()
    refused = _launch(client)
    assert refused.status_code == 409 and refused["Content-Type"] == "application/json"
    body = refused.json()
    assert body["code"] == "too_many_runs"
    assert "2 active" in body["message"] and "limit is 2 per user" in body["message"]
    assert _rows() == before
    # Someone else is not held up by this user's runs; and once a run ends, the user may launch again.
    assert _launch(client_for(make_user("other-analyst", analyst=True))).status_code == 202
    finished = MatchingRun.objects.filter(launched_by=user).first()
    MatchingRun.objects.filter(id=finished.id).update(status=RunStatus.SUCCEEDED)
    assert _launch(client).status_code == 202 and _active(user) == 2


@pytest.mark.django_db
@override_settings(MAX_ACTIVE_RUNS_PER_USER=5, MAX_ACTIVE_RUNS=3)
def test_the_service_has_a_limit_in_all(catalogue):
    clients = [client_for(make_user(f"analyst-{number}", analyst=True)) for number in range(4)]
    assert [_launch(client).status_code for client in clients[:3]] == [202, 202, 202]
    before = _rows()
    refused = _launch(clients[3])
    assert refused.status_code == 409 and refused.json()["code"] == "too_many_runs"
    assert "3 matching runs are already active" in refused.json()["message"]
    assert "limit is 3 in all" in refused.json()["message"] and _rows() == before


@pytest.mark.django_db(transaction=True)
@override_settings(MAX_ACTIVE_RUNS_PER_USER=1)
def test_two_simultaneous_starts_cannot_both_pass(catalogue):
    require_service(
        "PostgreSQL",
        available=connection.vendor == "postgresql",
        how="threads need a database shared between connections: run with DATABASE_URL=postgres",
    )
    user = make_user("hasty-analyst", analyst=True)
    barrier, outcomes = threading.Barrier(4), []

    def start():
        try:
            barrier.wait()
            services.run_start(launched_by=user)
            outcomes.append("started")
        except Conflict as exc:
            outcomes.append(exc.detail.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["started", "too_many_runs", "too_many_runs", "too_many_runs"]
    assert _active(user) == 1


# Comparing runs of different scopes -------------------------------------------------------------------------------

PATHS = ["", "r75/d23/", "r75/d23/e200034825/c23096/", "r75/d23/e200067189/c23001/"]
SCOPES = st.fixed_dictionaries(
    {
        "territory_path": st.sampled_from([None, "r75/d23/", "r75/d23/e200034825/", "r75/d23/e200067189/"]),
        "audiences": st.lists(st.sampled_from(["families", "retirees"]), unique=True).map(sorted),
        "domains": st.lists(st.sampled_from(["housing", "jobs"]), unique=True).map(sorted),
    }
)
NEEDS = st.lists(
    st.fixed_dictionaries(
        {
            "territory_path": st.sampled_from(PATHS),
            "audience_code": st.sampled_from(["families", "retirees"]),
            "domain_code": st.sampled_from(["housing", "jobs"]),
            "gap": st.floats(0, 1),
            "in_run": st.booleans(),
            "in_baseline": st.booleans(),
        }
    ),
    max_size=12,
)


def _result_rows(needs, scope, flag):
    return [
        {**need, "need_id": number, "statement": f"besoin {number}", "coverage": 0.5, "recommendation": "adjust"}
        for number, need in enumerate(needs)
        if need[flag] and reports.scope_contains(scope, need)  # a run holds only the needs of its scope
    ]


@settings(max_examples=150, deadline=None, database=None)
@given(needs=NEEDS, scope=SCOPES, baseline_scope=SCOPES)
def test_a_comparison_across_scopes_counts_the_needs_outside_the_common_scope_apart(needs, scope, baseline_scope):
    rows, baseline_rows = _result_rows(needs, scope, "in_run"), _result_rows(needs, baseline_scope, "in_baseline")
    comparison = reports.compare_runs(
        rows, baseline_rows, labels=reports.ReportLabels(), scope=scope, baseline_scope=baseline_scope
    )
    assert comparison["scopes_differ"] == (scope != baseline_scope)
    by_id = {row["need_id"]: row for row in rows + baseline_rows}
    for need in comparison["needs"]:
        row = by_id[need["need_id"]]
        in_common = reports.scope_contains(scope, row) and reports.scope_contains(baseline_scope, row)
        # A need in one run only is "removed" or "new" only where the other run could have seen it.
        assert (need["status"] == "out_of_scope") == (not in_common), (need, scope, baseline_scope)
    common = [need for need in comparison["needs"] if need["status"] != "out_of_scope"]
    assert comparison["summary"]["gap_after_total"] == pytest.approx(
        sum(need["gap_after"] or 0 for need in common), abs=1e-3
    )
    assert sum(comparison["summary"]["statuses"].values()) == len(by_id)
    if scope == baseline_scope:  # same scope: exactly the comparison without scopes
        assert comparison == {
            **reports.compare_runs(rows, baseline_rows, labels=reports.ReportLabels()),
            "scopes_differ": False,
        }
