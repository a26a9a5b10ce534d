"""The import key (organisation, source, external_id) of offers: two organisations use the same identifiers without
blocking each other, and no answer (import, dry run, POST /offers/) tells a caller what another organisation holds."""

import json

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import IntegrityError, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offers.models import Offer, OfferStatus
from tests.api.authz_world import offer_body
from tests.offers.factories import DATA_INCLUSION_SERVICES, make_offer
from tests.offers.test_imports import HEADER, _named, upload

pytestmark = pytest.mark.django_db

V1 = "/api/v1"


def rows(organisation, *keys: str, title: str = "Relais petite enfance") -> bytes:
    lines = [HEADER] + [
        f"{key};{title};Ateliers pour les parents.;daily-life;childcare;{organisation.slug};23096;oui;;;;;;;;"
        for key in keys
    ]
    return ("\n".join(lines) + "\n").encode()


def offers_of(organisation) -> list[tuple[str, str, str]]:
    return sorted(Offer.objects.filter(organisation=organisation).values_list("source", "external_id", "title"))


@pytest.fixture
def b_draft(organisation_b):
    """B's hidden draft, keyed ("import", "k-1"): the default source of an upload."""
    return make_offer(organisation=organisation_b, source="import", external_id="k-1", status=OfferStatus.DRAFT)


def test_the_same_key_in_two_organisations(editor_a_client, editor_b_client, organisation_a, organisation_b):
    """Both with the default source name: each organisation's import creates, then updates, its own offers only."""
    assert upload(editor_a_client, rows(organisation_a, "k-1", "k-2")).json()["created"] == 2
    assert upload(editor_b_client, rows(organisation_b, "k-1")).json()["created"] == 1
    response = upload(editor_b_client, rows(organisation_b, "k-1", title="Ludothèque"))
    assert response.json() == {"created": 0, "updated": 1, "unchanged": 0, "total": 1, "dry_run": False}
    assert offers_of(organisation_a) == [
        ("import", "k-1", "Relais petite enfance"),
        ("import", "k-2", "Relais petite enfance"),
    ]
    assert offers_of(organisation_b) == [("import", "k-1", "Ludothèque")]


def test_the_database_refuses_a_key_twice_in_one_organisation_only(organisation_a, organisation_b):
    """The constraint itself, past the services (which refuse it first with a 400)."""
    offer = make_offer(organisation=organisation_a, source="import", external_id="k-1")
    make_offer(organisation=organisation_b, source="import", external_id="k-1")
    offer.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        offer.save()


def test_a_dry_run_says_nothing_of_another_organisations_draft(editor_a_client, organisation_a, b_draft):
    """The same answer for B's key as for a key nobody holds: "created", never "belongs to another organisation"."""
    held = upload(editor_a_client, rows(organisation_a, "k-1"), dry_run="true")
    free = upload(editor_a_client, rows(organisation_a, "k-nobody"), dry_run="true")
    assert held.status_code == free.status_code == 200
    assert held.json() == free.json() == {"created": 1, "updated": 0, "unchanged": 0, "total": 1, "dry_run": True}
    assert Offer.objects.count() == 1


def test_an_editor_cannot_touch_another_organisations_offer_by_import(editor_a_client, organisation_b, b_draft):
    """Naming B: refused for the organisation, the same whether B holds the key or not, and nothing written."""
    before = list(Offer.objects.values())
    held = upload(editor_a_client, rows(organisation_b, "k-1", title="Reprise"))
    free = upload(editor_a_client, rows(organisation_b, "k-nobody", title="Reprise"))
    assert held.status_code == free.status_code == 400
    assert [(e["field"], e["code"]) for e in held.json()["errors"]] == [("organisation", "permission_denied")]
    assert held.json()["errors"][0]["message"] == free.json()["errors"][0]["message"]
    assert "k-1" not in json.dumps(held.json())
    for dry_run in ("true", "false"):  # nor with B as the default organisation
        response = upload(
            editor_a_client, rows(organisation_b, "k-1"), organisation=organisation_b.slug, dry_run=dry_run
        )
        assert response.status_code == 403, dry_run
    assert list(Offer.objects.values()) == before


def test_post_offers_does_not_reveal_another_organisations_key(
    editor_a_client, organisation_a, organisation_b, b_draft
):
    body = offer_body(organisation_a, source="import", external_id="k-1")
    response = editor_a_client.post(f"{V1}/offers/", body, format="json")
    assert response.status_code == 201, response.json()  # A's own offer: B's key does not block it
    again = editor_a_client.post(f"{V1}/offers/", body, format="json")
    assert again.status_code == 400  # within A, the key is taken: said on the field, for A's own offer
    assert [(e["field"], e["code"]) for e in again.json()["errors"]] == [("external_id", "invalid")]
    # Into B: the same 403 whether B holds the key or not, before any rule that would read B's offers.
    held = editor_a_client.post(
        f"{V1}/offers/", offer_body(organisation_b, source="import", external_id="k-1"), format="json"
    )
    free = editor_a_client.post(
        f"{V1}/offers/", offer_body(organisation_b, source="import", external_id="k-x"), format="json"
    )
    assert held.status_code == free.status_code == 403
    assert held.json() == free.json()
    # Moving A's offer to B: the same.
    offer_id = response.json()["id"]
    body = {"organisation": organisation_b.slug, "source": "import", "external_id": "k-1"}
    assert editor_a_client.patch(f"{V1}/offers/{offer_id}/", body, format="json").status_code == 403
    assert Offer.objects.filter(organisation=organisation_b).count() == 1


def test_data_inclusion_identifiers_in_two_organisations(
    editor_a_client, editor_b_client, organisation_a, organisation_b
):
    content = json.dumps(DATA_INCLUSION_SERVICES).encode()
    for client, organisation in ((editor_a_client, organisation_a), (editor_b_client, organisation_b)):
        response = upload_di(client, content, organisation)
        assert response.status_code == 200, response.json()
        assert response.json()["created"] >= 1
    assert offers_of(organisation_a) == offers_of(organisation_b)


def upload_di(client, content: bytes, organisation):
    return client.post(
        f"{V1}/offers/import/data-inclusion/",
        {"file": _named(content, "services.json"), "organisation": organisation.slug},
        format="multipart",
    )


def test_the_command_keys_by_organisation(tmp_path, organisation_a, organisation_b):
    path = tmp_path / "offres.csv"
    for organisation in (organisation_a, organisation_b):
        path.write_bytes(rows(organisation, "k-1"))
        call_command("import_offers", str(path), "--organisation", organisation.slug)
    assert offers_of(organisation_a) == offers_of(organisation_b) == [("import", "k-1", "Relais petite enfance")]


# The fixtures (organisations, editors' clients) hold no state an example changes; offers and throttles are reset.
@settings(max_examples=12, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    keys_a=st.sets(st.sampled_from(["k-1", "k-2", "k-3", "k-4"]), min_size=1),
    keys_b=st.sets(st.sampled_from(["k-1", "k-2", "k-3", "k-4"]), min_size=1),
)
def test_what_one_organisation_holds_never_changes_the_others_answers(
    editor_a_client, editor_b_client, organisation_a, organisation_b, keys_a, keys_b
):
    """B's answers (dry run, then import) are the same whatever A holds, and each ends with exactly its keys."""
    Offer.objects.all().delete()
    cache.clear()  # the upload throttle counts every example's requests
    alone = upload(editor_b_client, rows(organisation_b, *sorted(keys_b)), dry_run="true").json()
    assert upload(editor_a_client, rows(organisation_a, *sorted(keys_a))).status_code == 200
    assert upload(editor_b_client, rows(organisation_b, *sorted(keys_b)), dry_run="true").json() == alone
    assert upload(editor_b_client, rows(organisation_b, *sorted(keys_b))).json() == {**alone, "dry_run": False}
    assert {key for _, key, _ in offers_of(organisation_a)} == keys_a
    assert {key for _, key, _ in offers_of(organisation_b)} == keys_b
