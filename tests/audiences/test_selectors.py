"""need_rows_for_matching: the rows the matching engine reads, in a fixed number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audiences.selectors import need_rows_for_matching
from offers.models import Territory
from tests.audiences.factories import make_need


@pytest.fixture
def needs(reference):
    return [
        make_need(
            statement="Crèche",
            territory="23096",
            importance=0.9,
            satisfaction=0.1,
            demand_volume=12,
            themes=("schools", "childcare"),
        ),
        make_need(audience="retirees", domain="jobs", themes=(), statement="Emploi", importance=0.3),
        make_need(audience="students", domain="housing", themes=("rent",), statement="Logement", territory="23008"),
    ]


def test_rows_shape_and_values(needs):
    rows = need_rows_for_matching()
    assert [row["id"] for row in rows] == [need.pk for need in needs]
    gueret = Territory.objects.get(kind="commune", code="23096")
    first = rows[0]
    assert first == {
        "id": needs[0].pk,
        "statement": "Crèche",
        "domain_code": "daily-life",
        "theme_codes": ["childcare", "schools"],
        "audience_code": "families",
        "territory_path": gueret.path,
        "territory_kind": "commune",
        "territory_code": "23096",
        "latitude": gueret.latitude,
        "longitude": gueret.longitude,
        "stage": "anchor",
        "importance": 0.9,
        "satisfaction": 0.1,
        "demand_volume": 12,
        "updated_at": needs[0].updated_at,
    }
    whole_area = rows[1]
    assert whole_area["theme_codes"] == []
    assert [whole_area[key] for key in ("territory_path", "territory_kind", "territory_code", "latitude")] == [
        None
    ] * 4


def test_arguments_filter(needs):
    def statements(**kwargs):
        return [row["statement"] for row in need_rows_for_matching(**kwargs)]

    assert statements(need_ids=[needs[2].pk]) == ["Logement"]
    assert statements(audience_codes=["retirees", "students"]) == ["Emploi", "Logement"]
    assert statements(domain_codes=["daily-life"]) == ["Crèche"]
    # the API's territory rule: inside, covering, or the whole area
    assert statements(territory="200034825") == ["Crèche", "Emploi"]
    assert statements(territory=Territory.objects.get(code="23008")) == ["Emploi", "Logement"]


def test_two_queries_whatever_the_number(needs):
    with CaptureQueriesContext(connection) as context:
        need_rows_for_matching()
    assert len(context.captured_queries) == 2
