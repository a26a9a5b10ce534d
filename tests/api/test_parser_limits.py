"""Parser limits (issue 17, class 1): JSON nested too deep, numbers too long, infinite or past 64 bits, NaN, integer
filters past 64 bits, full-text queries too long, date-times that overflow once in UTC. Each is a 400 in the shared
error format naming the limit (and the field or line), on every entry point, never a 500, and nothing is written."""

import datetime
import json

import pytest
from django.conf import settings as django_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.cells import CellError, parse_int
from api.jsonlimits import JSONLimitError, json_decode
from audiences.models import Need, Survey
from matching.models import MatchingRun
from offers.models import Audience, Offer, Organisation
from tests.api.conftest import assert_error
from tests.audiences.factories import make_need

pytestmark = pytest.mark.django_db

# Hypothesis draws many requests inside one test (one transaction): the fixtures are meant to be shared.
EXAMPLES = settings(
    max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
MAX_DEPTH = django_settings.JSON_MAX_DEPTH
MAX_DIGITS = django_settings.JSON_MAX_NUMBER_DIGITS


def rows() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in (Offer, Need, Survey, Audience, MatchingRun, Organisation))


@pytest.fixture
def json_endpoints(anonymous_client, editor_a_client, analyst_client, admin_client, organisation_a):
    """Every kind of JSON body: anonymous (token, search), editor (offer), analyst (survey, need, run), admin."""
    return [
        (anonymous_client, "/api/v1/auth/token/"),
        (anonymous_client, "/api/v1/matching/search/"),
        (editor_a_client, "/api/v1/offers/"),
        (analyst_client, "/api/v1/surveys/"),
        (analyst_client, "/api/v1/needs/"),
        (analyst_client, "/api/v1/matching/runs/"),
        (admin_client, "/api/v1/audiences/"),
    ]


def post_raw(client, path: str, text: str):
    return client.post(path, data=text.encode(), content_type="application/json")


def nested(depth: int, kinds: list[bool]) -> str:
    """`depth` levels of lists and objects (kinds[i] True: an object), innermost empty."""
    opening = "".join('{"a":' if kinds[level % len(kinds)] else "[" for level in range(depth))
    closing = "".join("}" if kinds[level % len(kinds)] else "]" for level in reversed(range(depth)))
    return opening + closing


# Nesting depth ------------------------------------------------------------------------------------------------------


@EXAMPLES
@given(depth=st.integers(MAX_DEPTH + 1, 5_000), kinds=st.lists(st.booleans(), min_size=1, max_size=4))
def test_json_nested_past_the_limit_is_a_400_on_every_endpoint(json_endpoints, depth, kinds):
    body = nested(depth, kinds)
    for client, path in json_endpoints:
        before = rows()
        response = post_raw(client, path, json.dumps({"text": "crèche"})[:-1] + ', "x": ' + body + "}")
        body_json = assert_error(response, 400, code="too_deep", says=f"more than {MAX_DEPTH} levels")
        assert body_json["errors"][0]["line"] == 1, path
        assert rows() == before


@EXAMPLES
@given(depth=st.integers(1, MAX_DEPTH), kinds=st.lists(st.booleans(), min_size=1, max_size=4))
def test_json_within_the_depth_limit_reaches_validation(json_endpoints, depth, kinds):
    for client, path in json_endpoints:
        response = post_raw(client, path, nested(depth, kinds))
        assert response.status_code < 500, (path, response.content[:300])
        assert response.status_code < 400 or response.json()["code"] != "too_deep", path


def test_brackets_inside_strings_do_not_count_as_depth(anonymous_client, reference):
    text = '[[[{{{\\"' * 200
    response = anonymous_client.post("/api/v1/matching/search/", {"text": text[:500]}, format="json")
    assert response.status_code == 200, response.content[:300]


def test_the_depth_scan_does_not_recurse():
    """The decoder recurses; the scan in front of it must not: 100,000 levels are one error, not a RecursionError."""
    with pytest.raises(JSONLimitError) as caught:
        json_decode("\n" + "[" * 100_000 + "]" * 100_000, max_depth=32, max_digits=40)
    [problem] = caught.value.problems
    assert (problem.code, problem.line) == ("too_deep", 2)
    assert json_decode('{"a": "[[[[[[", "b": [[["\\"]]]"]]]}', max_depth=4, max_digits=40) == {
        "a": "[[[[[[",
        "b": [[['"]]]']]],
    }


# Numbers ------------------------------------------------------------------------------------------------------------

huge_numbers = st.one_of(
    st.integers(MAX_DIGITS + 1, 6_000).map(lambda digits: "9" * digits),
    st.integers(MAX_DIGITS + 1, 6_000).map(lambda digits: "-1" + "0" * digits + ".5"),
    st.integers(3, MAX_DIGITS - 2).map(lambda digits: f"1e{'4' * digits}"),
    st.sampled_from([str(2**63), str(-(2**63) - 1), "1e400", "-1e400", "1.8e308"]),
)


@EXAMPLES
@given(number=huge_numbers)
def test_a_number_too_long_or_out_of_range_is_a_400_naming_its_field(json_endpoints, number):
    for client, path in json_endpoints:
        before = rows()
        response = post_raw(client, path, '{"text": "crèche", "importance": [1, ' + number + "]}")
        body = assert_error(response, 400, field="importance.1")
        assert body["code"] in ("number_too_long", "out_of_range"), body
        message = body["errors"][0]["message"]
        assert f"the limit is {MAX_DIGITS}" in message or "range" in message, message
        assert rows() == before


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_are_refused(anonymous_client, reference, literal):
    response = post_raw(anonymous_client, "/api/v1/matching/search/", '{"text": "crèche", "limit": ' + literal + "}")
    assert_error(response, 400, code="invalid_number", field="limit")


def test_numbers_within_the_limits_still_read(analyst_client, reference):
    need = make_need(statement="Trouver une crèche")
    response = analyst_client.patch(
        f"/api/v1/needs/{need.pk}/", data='{"importance": 0.90000000000000000000001}', content_type="application/json"
    )
    assert response.status_code == 200, response.content[:300]
    assert response.json()["importance"] == 0.9


def test_a_cell_integer_past_64_bits_is_a_cell_error_whatever_its_length():
    assert parse_int(str(2**63 - 1)) == 2**63 - 1
    assert parse_int("-" + "0" * 5_000 + "12") == -12
    for text in (str(2**63), "9" * 5_000, "1" * 4_301):
        with pytest.raises(CellError, match="out of range"):
            parse_int(text)


# Integer filters ----------------------------------------------------------------------------------------------------


@EXAMPLES
@given(sign=st.sampled_from(["", "-"]), digits=st.integers(20, 6_000), head=st.integers(1, 9))
def test_an_id_filter_past_64_bits_is_a_400(analyst_client, reference, sign, digits, head):
    number = sign + str(head) + "0" * (digits - 1)  # from 1e19: past 2**63 - 1
    response = analyst_client.get("/api/v1/needs/", {"survey": number})
    if digits > 4_300:  # past Python's own limit: not read as a number at all
        assert_error(response, 400, field="survey")
    else:
        assert_error(response, 400, field="survey", says="out of range")


@EXAMPLES
@given(number=st.integers(-(10**40), 10**40), size=st.integers(-(10**40), 10**40))
def test_page_numbers_and_sizes_of_any_size_are_never_a_500(anonymous_client, reference, number, size):
    response = anonymous_client.get("/api/v1/offers/", {"page": number, "page_size": size})
    assert response.status_code in (200, 400, 404), response.content[:300]


# Full-text queries --------------------------------------------------------------------------------------------------

SEARCHES = [("/api/v1/offers/", "anonymous_client"), ("/api/v1/needs/", "analyst_client")]


@pytest.mark.parametrize("path, client_name", SEARCHES)
def test_a_query_of_a_thousand_words_is_a_400_naming_the_limit(request, reference, path, client_name):
    client = request.getfixturevalue(client_name)
    words = " ".join(f"mot{n}" for n in range(1_000))
    body = assert_error(client.get(path, {"q": words}), 400, field="q")
    assert [error["message"] for error in body["errors"]] == [
        f"The query has {len(words)} characters; the limit is {django_settings.SEARCH_MAX_CHARACTERS} "
        "(DJANGO_SEARCH_MAX_CHARACTERS).",
        f"The query has 1000 words; the limit is {django_settings.SEARCH_MAX_WORDS} (DJANGO_SEARCH_MAX_WORDS).",
    ]
    long_word = "a" * (django_settings.SEARCH_MAX_CHARACTERS + 1)
    assert_error(client.get(path, {"q": long_word}), 400, field="q", says="characters; the limit is")


@EXAMPLES
@given(count=st.integers(1, 200), word=st.sampled_from(["crèche", "l'île", "a-b-c", "logements"]))
def test_queries_at_or_under_the_limits_search_and_over_are_refused(anonymous_client, analyst_client, count, word):
    query = " ".join([word] * count)
    words = count * len(word.replace("'", " ").replace("-", " ").split())
    for client, path in ((anonymous_client, "/api/v1/offers/"), (analyst_client, "/api/v1/needs/")):
        response = client.get(path, {"q": query})
        over = words > django_settings.SEARCH_MAX_WORDS or len(query) > django_settings.SEARCH_MAX_CHARACTERS
        assert response.status_code == (400 if over else 200), (words, response.content[:300])


# Date-times ---------------------------------------------------------------------------------------------------------

dates = st.sampled_from([datetime.date(1, 1, 1), datetime.date(9999, 12, 31)]) | st.dates()
offsets = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(
    lambda minutes: f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
)


@EXAMPLES
@given(date=dates, offset=st.none() | offsets | st.just("Z"))
def test_updated_since_with_any_date_and_offset_is_a_200_or_a_400_naming_it(anonymous_client, reference, date, offset):
    value = f"{date.isoformat()}T{'23:59:59' if date.year > 5000 else '00:00:00'}{offset or ''}"
    response = anonymous_client.get("/api/v1/offers/", {"updated_since": value})
    if response.status_code != 200:
        assert_error(response, 400, field="updated_since", says="out of range once in UTC")


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00"])
def test_updated_since_that_overflows_in_utc_is_a_400(anonymous_client, reference, value):
    assert_error(anonymous_client.get("/api/v1/offers/", {"updated_since": value}), 400, field="updated_since")


def test_the_limits_have_their_documented_defaults():
    assert (django_settings.JSON_MAX_DEPTH, django_settings.JSON_MAX_NUMBER_DIGITS) == (32, 40)
    assert (django_settings.SEARCH_MAX_WORDS, django_settings.SEARCH_MAX_CHARACTERS) == (32, 500)
