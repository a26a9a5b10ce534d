"""`manage.py matching_index build` purges the offer removals no index still needs: those at or below the state of
every machine's latest build (a process updates from its machine's latest build), never one a machine still needs."""

import io

import pytest
from django.core.management import call_command

from matching import index as index_module
from matching.engine import offer_index_model
from matching.models import OfferIndexBuild
from offers.models import OfferRemoval
from offers.services.offers import offer_delete
from tests.matching.factories import make_offer

pytestmark = pytest.mark.django_db


@pytest.fixture
def offers(reference):
    index_module.offer_index_clear()
    yield [make_offer(title=f"Crèche {number}", themes=("childcare",)) for number in range(4)]
    index_module.offer_index_clear()


def build() -> str:
    out = io.StringIO()
    call_command("matching_index", "build", stdout=out)
    return out.getvalue()


def other_machine_builds(state: int) -> None:
    OfferIndexBuild.objects.create(
        label=f"other-{state}",
        model_key=offer_index_model().model_key(),
        host="other-machine",
        state=state,
        offers=3,
        nnz=10,
        build_seconds=1.0,
    )


def removal_seqs() -> list[int]:
    return sorted(OfferRemoval.objects.values_list("seq", flat=True))


def test_the_build_purges_the_removals_every_machine_is_past(offers, admin_user):
    offer_delete(user=admin_user, offer=offers[0])
    first = removal_seqs()[0]
    other_machine_builds(first)  # the other machine's processes update from `first`: they need what comes after
    offer_delete(user=admin_user, offer=offers[1])
    second = removal_seqs()[1]

    assert "Purged 1 offer removals" in build()
    assert removal_seqs() == [second]
    assert build().count("Purged 0 offer removals") == 1  # the other machine still needs it

    other_machine_builds(second)
    assert "Purged 1 offer removals" in build()
    assert removal_seqs() == []
    # The index this machine serves has neither deleted offer.
    served = set(index_module.offer_index_get().offers.ids.tolist())
    assert served == {offers[2].pk, offers[3].pk}


def test_an_index_older_than_the_purge_still_drops_the_deleted_offer(offers, admin_user):
    """Purging too much is only slower: an index missing removals re-reads the offers and reconciles them by id."""
    held = index_module.offer_index_get()
    offer_delete(user=admin_user, offer=offers[0])
    assert "Purged 1 offer removals" in build()  # this machine's latest build is past the deletion
    updated = index_module.offer_index_update(held)  # a process still holding the index from before
    assert set(updated.offers.ids.tolist()) == {offer.pk for offer in offers[1:]}
    assert updated.size == 3
