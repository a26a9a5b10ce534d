"""Errors are errors (issue 17, class 3): exports fail with a JSON status before they stream and visibly after, every
404 under /api/ is the JSON error body (DEBUG or not), and error lists are capped with the number left out."""

import io
import json
import logging

import pytest
from django.test import override_settings
from django.urls import Resolver404, resolve
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offers import selectors as offer_selectors
from offers.models import Offer
from tests.api.conftest import assert_error
from tests.matching.factories import make_need_result, make_run
from tests.offers.factories import make_offer

pytestmark = pytest.mark.django_db

HYPOTHESIS = settings(
    max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# Every export endpoint, a bad value of each of its filters, and the parameter the 400 must name.
EXPORT_BAD_FILTERS = [
    ("/api/v1/offers/export/", "domain", "no-such-domain"),
    ("/api/v1/offers/export/", "theme", "childcare,no-such-theme"),
    ("/api/v1/offers/export/", "audience", "no-such-audience"),
    ("/api/v1/offers/export/", "territory", "99999"),
    ("/api/v1/offers/export/", "is_free", "maybe"),
    ("/api/v1/offers/export/", "radius_km", "far"),
    ("/api/v1/offers/export/", "format", "ods"),
    ("/api/v1/needs/export/", "audience", "no-such-audience"),
    ("/api/v1/needs/export/", "stage", "nowhere"),
    ("/api/v1/needs/export/", "survey", "0.5"),
    ("/api/v1/needs/export/", "min_importance", "high"),
    ("/api/v1/needs/export/", "format", "ods"),
]


@pytest.mark.parametrize("path, parameter, value", EXPORT_BAD_FILTERS)
@pytest.mark.parametrize("file_format", ["csv", "json", "xlsx"])
def test_an_export_with_a_bad_filter_is_the_lists_400(admin_client, reference, path, parameter, value, file_format):
    query = {"format": file_format, parameter: value}
    export = admin_client.get(path, query)
    assert not export.streaming, "an invalid export must not start a 200 stream"
    body = assert_error(export, 400, field=parameter)
    if parameter != "format":  # `format` is the export's own parameter
        listed = admin_client.get(path.removesuffix("export/"), {parameter: value})
        assert assert_error(listed, 400, field=parameter)["errors"] == body["errors"]


def _export_answers_like_the_list(client, path: str, query: dict, file_format: str):
    listed = client.get(path.removesuffix("export/"), query)
    export = client.get(path, {**query, "format": file_format})
    assert export.status_code == listed.status_code, (query, export.status_code, listed.content[:300])
    if listed.status_code >= 400:
        assert not export.streaming, "a failed export must not start a 200 stream"
        assert export["Content-Type"].startswith("application/json")
        assert export.json()["errors"] == listed.json()["errors"]


@pytest.mark.parametrize("file_format", ["csv", "json", "xlsx"])
@pytest.mark.parametrize(
    "path, query",
    [
        # Beyond 64 bits: SQLite refuses it only when the query runs (PostgreSQL compares it, and finds nothing).
        ("/api/v1/needs/export/", {"survey": "9" * 30}),
        # About 1,000 words: SQLite's expression tree is too deep only when the query runs.
        ("/api/v1/offers/export/", {"q": " ".join(f"mot{n}" for n in range(1000))}),
        ("/api/v1/needs/export/", {"q": " ".join(f"mot{n}" for n in range(1000))}),
    ],
)
def test_a_filter_that_fails_when_its_query_runs_fails_the_export_like_the_list(
    admin_client, reference, path, query, file_format
):
    """The export runs its query before it answers: whatever the list answers (a 400 once the filter refuses the
    value, or a 200), the export answers the same, never a 200 with only a header row or `[`."""
    _export_answers_like_the_list(admin_client, path, query, file_format)


FILTER_VALUES = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["1e400", "nan", "-0", "0.5", "true", "23096", "housing", "childcare,,", "departement:23"]),
)


@HYPOTHESIS
@given(
    endpoint=st.sampled_from(
        [
            ("/api/v1/offers/export/", ["domain", "theme", "audience", "territory", "is_free", "status", "ordering"]),
            ("/api/v1/needs/export/", ["audience", "domain", "theme", "territory", "stage", "source", "survey"]),
        ]
    ),
    data=st.data(),
    file_format=st.sampled_from(["csv", "json"]),
)
def test_generated_filters_answer_the_export_like_the_list(admin_client, reference, endpoint, data, file_format):
    path, parameters = endpoint
    query = data.draw(st.dictionaries(st.sampled_from(parameters), FILTER_VALUES, min_size=1, max_size=3))
    _export_answers_like_the_list(admin_client, path, query, file_format)


@pytest.mark.parametrize("file_format", ["csv", "json", "xlsx"])
def test_a_failure_while_the_export_starts_is_a_json_400(admin_client, organisation_a, monkeypatch, file_format):
    make_offer(organisation=organisation_a)

    def failing(queryset, **kwargs):
        from api.exceptions import ErrorItem, InvalidInput

        raise InvalidInput([ErrorItem(field="q", message="The search is too long.")])
        yield  # a generator, like the selector

    monkeypatch.setattr(offer_selectors, "offer_rows_iter", failing)
    assert_error(admin_client.get("/api/v1/offers/export/", {"format": file_format}), 400, field="q")


@pytest.mark.parametrize("file_format", ["csv", "json"])
def test_a_failure_mid_stream_cuts_the_stream_and_is_logged(
    admin_client, organisation_a, monkeypatch, caplog, file_format
):
    make_offer(organisation=organisation_a)
    real = offer_selectors.offer_rows_iter

    def failing_after_the_first_row(queryset, **kwargs):
        yield next(real(queryset, **kwargs))
        raise RuntimeError("the database went away")

    monkeypatch.setattr(offer_selectors, "offer_rows_iter", failing_after_the_first_row)
    response = admin_client.get("/api/v1/offers/export/", {"format": file_format})
    assert response.status_code == 200 and response.streaming
    received = []
    with caplog.at_level(logging.ERROR, logger="api"), pytest.raises(RuntimeError):
        for chunk in response.streaming_content:  # the WSGI server would close the connection here
            received.append(chunk)
    assert "failed after it started" in caplog.text
    if file_format == "json":
        with pytest.raises(json.JSONDecodeError):  # no closing `]`: the body cannot pass for a whole export
            json.loads(b"".join(received))


def test_a_matching_csv_that_fails_when_it_starts_is_a_json_error(analyst_client, reference, monkeypatch):
    from matching.report_builder import RunAnswer
    from matching.views import ReportView

    def failing_rows():
        raise ValueError("a group the report cannot label")
        yield

    def build(**kwargs):
        return RunAnswer(body={}, filename_stem="rapport", csv_header=["groupe"], csv_rows=failing_rows)

    monkeypatch.setattr(ReportView, "build", staticmethod(build))
    run = make_run()
    make_need_result(run)
    response = analyst_client.get(f"/api/v1/matching/runs/{run.id}/report/", {"format": "csv", "group_by": "domain"})
    assert not response.streaming
    assert_error(response, 500, code="server_error")


# JSON 404s ---------------------------------------------------------------------------------------------------------

ODD_PATHS = [
    "/api/v1/no-such-endpoint/",
    "/api/nothing",
    "/api/v1/matching/runs/not-a-uuid/",
    "/api/v1/matching/runs/not-a-uuid/report/",
    "/api/v1/offers/%00/",
    "/api/v1/organisations/slug%00/",
    "/api/v1/territories/%00/",
    "/api/v1/offers/not-a-number/",
]


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize("path", ODD_PATHS)
def test_every_404_under_api_is_the_json_error(admin_client, reference, path, debug):
    with override_settings(DEBUG=debug):
        assert_error(admin_client.get(path), 404, code="not_found")
        assert_error(admin_client.get(path, HTTP_ACCEPT="text/html"), 404)


@pytest.mark.parametrize("debug", [True, False])
def test_a_404_asked_for_as_html_is_json_too(analyst_client, reference, debug):
    """DRF's browsable API would answer a browser's 404 as an HTML page."""
    with override_settings(DEBUG=debug):
        response = analyst_client.get(
            "/api/v1/matching/runs/00000000-0000-0000-0000-000000000000/", HTTP_ACCEPT="text/html"
        )
    assert_error(response, 404)


def _unrouted(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return True
    return False


segment = st.text(st.characters(codec="utf-8", exclude_characters="/?#"), min_size=1, max_size=20)


@HYPOTHESIS
@given(segments=st.lists(segment, min_size=1, max_size=4), debug=st.booleans(), slash=st.booleans())
def test_generated_unknown_paths_under_api_answer_a_json_404(anonymous_client, segments, debug, slash):
    path = "/api/v1/zz-" + "/".join(segments) + ("/" if slash else "")
    with override_settings(DEBUG=debug):
        response = anonymous_client.get(path)
    if response.status_code in (301, 302):  # CommonMiddleware's APPEND_SLASH for a path that exists with a slash
        return
    if _unrouted(path):
        assert_error(response, 404)


def test_paths_outside_the_api_keep_djangos_404(anonymous_client, reference):
    with override_settings(DEBUG=True):
        response = anonymous_client.get("/not-the-api/")
    assert response.status_code == 404 and not response["Content-Type"].startswith("application/json")


# Capped error lists -------------------------------------------------------------------------------------------------


def _json_upload(client, records: list[dict]):
    handle = io.BytesIO(json.dumps(records).encode())
    handle.name = "offres.json"
    return client.post("/api/v1/offers/import/", {"file": handle}, format="multipart")


def test_an_upload_with_many_bad_records_lists_the_first_errors_and_counts_the_rest(editor_a_client, organisation_a):
    records = [{"identifiant": f"x-{n}", "titre": "", "organisation": organisation_a.slug} for n in range(60)]
    before = Offer.objects.count()
    with override_settings(ERROR_LIST_MAX=10):
        response = _json_upload(editor_a_client, records)
    body = assert_error(response, 400)
    assert len(body["errors"]) == 11
    *listed, summary = body["errors"]
    assert all(item["line"] for item in listed)
    assert summary["code"] == "too_many_errors" and summary["field"] is None and summary["line"] is None
    more = int(summary["message"].split(" ")[0].replace(",", ""))
    assert more > 50  # several errors per record, all counted
    assert "10" in summary["message"] and "DJANGO_ERROR_LIST_MAX" in summary["message"]
    assert Offer.objects.count() == before


@HYPOTHESIS
@given(size=st.integers(min_value=0, max_value=30), limit=st.integers(min_value=1, max_value=12))
def test_error_lists_are_capped_at_the_setting_and_say_how_many_more(size, limit):
    from api.exceptions import ErrorItem, error_body

    errors = [ErrorItem(message=f"bad {n}", field="f", line=n + 2) for n in range(size)]
    with override_settings(ERROR_LIST_MAX=limit):
        listed = error_body(status_code=400, code="invalid", message="m", errors=errors)["errors"]
    if size <= limit:
        assert len(listed) == size
    else:
        assert len(listed) == limit + 1 and listed[:limit] == [
            {"message": f"bad {n}", "code": "invalid", "field": "f", "line": n + 2} for n in range(limit)
        ]
        assert listed[-1]["message"].startswith(f"{size - limit:,} more error")
