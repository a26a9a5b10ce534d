"""Reads of the audiences app that the API tests do not reach directly."""

import pytest

from audiences.models import Need
from audiences.selectors import need_chunks
from tests.audiences.factories import make_need

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("count", "sizes"), [(0, []), (2, [2]), (5, [2, 2, 1])])
def test_need_chunks_cover_every_need_once_in_order(reference, count, sizes):
    needs = [make_need() for _ in range(count)]
    chunks = list(need_chunks(Need.objects.order_by("id"), size=2))
    assert [len(chunk) for chunk in chunks] == sizes
    assert [need.pk for chunk in chunks for need in chunk] == [need.pk for need in needs]
