"""model_update, the one "set these fields, say what changed, save them" of every service."""

import pytest

from api.exceptions import InvalidInput
from api.model_update import model_full_clean, model_update
from offers.models import Organisation, Territory
from tests.offers.factories import make_organisation

pytestmark = pytest.mark.django_db


def test_only_changed_fields_are_written(reference, django_assert_num_queries):
    organisation = make_organisation(name="Office de tourisme", territory_code="23096")
    stamp = organisation.updated_at
    territory = Territory.objects.get(kind="commune", code="23096")
    with django_assert_num_queries(0):  # unchanged, a relation compared by id: no query at all
        _, changed = model_update(instance=organisation, data={"name": "Office de tourisme", "territory": territory})
    assert changed == []
    other = Territory.objects.get(kind="commune", code="23030")
    with django_assert_num_queries(1):
        _, changed = model_update(instance=organisation, data={"phone": "05 55 52 14 29", "territory": other})
    assert changed == ["phone", "territory"]
    stored = Organisation.objects.get(pk=organisation.pk)
    assert (stored.phone, stored.territory_id) == ("05 55 52 14 29", other.pk)
    assert stored.updated_at > stamp  # auto_now fields are written with the changed ones


def test_without_save_the_caller_validates_and_saves(reference):
    organisation = make_organisation(name="Office de tourisme", territory_code="23096")
    _, changed = model_update(instance=organisation, data={"email": "not an e-mail"}, save=False)
    assert changed == ["email"]
    assert Organisation.objects.get(pk=organisation.pk).email == ""
    with pytest.raises(InvalidInput) as raised:
        model_full_clean(instance=organisation)
    assert [error.field for error in raised.value.errors] == ["email"]
