"""Property-level authorisation (OWASP API3): serializers name their fields, and what the server owns (ids,
timestamps, computed figures, a run's status, an offer's organisation for a non-member, an organisation's editors)
cannot be set by a client. The rule everywhere: a read-only property sent by a client is ignored (DRF's behaviour for
read-only and undeclared fields); a property the client may not change for authorisation reasons is refused with a
403 and nothing is written."""

import importlib
import inspect
import uuid

import pytest
from rest_framework import serializers

from audiences.models import Need, Survey
from matching.models import MatchingRun
from offers.models import Offer, Organisation
from tests.api.authz_world import (
    fingerprint,
    module_world_fixture,  # noqa: F401 (fixture)
    named_file,
    need_body,
    offer_body,
    organisation_body,
    survey_body,
    world_fixture,  # noqa: F401 (fixture)
)

pytestmark = pytest.mark.django_db


V1 = "/api/v1"
APPS = ("api", "offers", "audiences", "matching")
LONG_AGO = "2000-01-01T00:00:00Z"
SERVER_OWNED = ("id", "pk", "created_at", "updated_at")
INPUT_SUFFIXES = ("WriteSerializer", "CreateSerializer", "RequestSerializer", "UploadSerializer", "QuerySerializer")


def _serializer_classes() -> list[type[serializers.BaseSerializer]]:
    classes = []
    for app in APPS:
        module = importlib.import_module(f"{app}.serializers")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, serializers.BaseSerializer) and cls.__module__ == module.__name__:
                classes.append(cls)
    return classes


def test_the_walk_finds_the_serializers():
    names = {cls.__name__ for cls in _serializer_classes()}
    assert {"OfferWriteSerializer", "OrganisationSerializer", "NeedSerializer", "MatchingRunSerializer"} <= names
    inputs = {name for name in names if name.endswith(INPUT_SUFFIXES)}
    assert {"OfferWriteSerializer", "MatchingRunCreateSerializer", "MatchingSearchRequestSerializer"} <= inputs


@pytest.mark.parametrize("serializer_class", _serializer_classes(), ids=lambda cls: cls.__name__)
def test_serializers_list_their_fields_and_server_owned_ones_are_read_only(serializer_class):
    meta = getattr(serializer_class, "Meta", None)
    if issubclass(serializer_class, serializers.ModelSerializer):
        assert isinstance(meta.fields, list | tuple), f"{serializer_class.__name__}.Meta.fields must be a list"
        assert not hasattr(meta, "exclude"), f"{serializer_class.__name__} uses Meta.exclude"
    else:
        assert getattr(meta, "fields", None) != serializers.ALL_FIELDS
    if issubclass(serializer_class, serializers.ModelSerializer):
        # Model serializers may be used both ways: the model's server-owned columns are read-only in them.
        for name, field in serializer_class().fields.items():
            if name in SERVER_OWNED or field.source in SERVER_OWNED:
                assert field.read_only, f"{serializer_class.__name__}.{name} is writable"
    elif serializer_class.__name__.endswith(INPUT_SUFFIXES):
        # What clients send declares no server-owned property at all (undeclared keys are dropped by DRF).
        assert not set(serializer_class().fields) & set(SERVER_OWNED), serializer_class.__name__


# Offers -------------------------------------------------------------------------------------------------------------

OFFER_SERVER_FIELDS = {
    "id": 999_999,
    "created_at": LONG_AGO,
    "updated_at": LONG_AGO,
    "organisation_name": "Une autre organisation",
    "commune_name": "Paris",
    "distance_km": 0.0,
}


def test_offer_create_ignores_server_owned_fields(world):
    response = world.client("editor_a").post(f"{V1}/offers/", offer_body(world.organisation_a, **OFFER_SERVER_FIELDS))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["id"] != 999_999 and not Offer.objects.filter(pk=999_999).exists()
    assert not body["created_at"].startswith("2000") and not body["updated_at"].startswith("2000")
    assert (body["organisation_name"], body["commune_name"], body["distance_km"]) == (
        world.organisation_a.name,
        "Guéret",
        None,
    )


@pytest.mark.parametrize("method", ["put", "patch"])
def test_offer_update_ignores_server_owned_fields(world, method):
    offer = world.offers["a_draft"]
    body = offer_body(world.organisation_a, **OFFER_SERVER_FIELDS) if method == "put" else OFFER_SERVER_FIELDS
    response = getattr(world.client("editor_a"), method)(f"{V1}/offers/{offer.pk}/", body)
    assert response.status_code == 200, response.json()
    offer.refresh_from_db()
    assert response.json()["id"] == offer.pk and offer.created_at.year > 2000
    assert response.json()["organisation_name"] == world.organisation_a.name


@pytest.mark.parametrize("role", ["editor_a", "editor_b"])
def test_no_editor_moves_an_offer_to_an_organisation_they_do_not_edit(world, role):
    offer = world.offers["a_published"]
    before = fingerprint()
    for method in ("put", "patch"):
        body = offer_body(world.organisation_b) if method == "put" else {"organisation": world.organisation_b.slug}
        if role == "editor_b":  # an editor of the target, not of the offer's organisation
            body = {**body, "title": "Reprise par B"}
        response = getattr(world.client(role), method)(f"{V1}/offers/{offer.pk}/", body)
        assert response.status_code == 403, response.json()
    assert fingerprint() == before
    # Nor through an import with the offer's (source, identifier): keys are scoped to the organisation (issue 17), so
    # B's editor creates B's own offer with that key, and A's editor may not write into B; A's offer never moves.
    header = "identifiant;titre;description;domaine;thèmes;organisation;commune;gratuit\n"
    row = f"{offer.external_id};Reprise;Reprise par B.;daily-life;childcare;{world.organisation_b.slug};23096;oui\n"
    upload = {"file": named_file((header + row).encode(), "offres.csv"), "source": offer.source}
    stored = Offer.objects.filter(pk=offer.pk).values().get()
    response = world.client(role).post(f"{V1}/offers/import/", upload, format="multipart")
    if role == "editor_b":
        assert response.status_code == 200 and response.json()["created"] == 1, response.json()
        twin = Offer.objects.exclude(pk=offer.pk).get(source=offer.source, external_id=offer.external_id)
        assert twin.organisation == world.organisation_b
    else:
        assert response.status_code == 400 and response.json()["errors"][0]["code"] == "permission_denied"
        assert fingerprint() == before
    assert Offer.objects.filter(pk=offer.pk).values().get() == stored


def test_offer_import_refuses_server_owned_columns(world):
    """A file cannot set what the server computes: such columns are refused by name (line 1), nothing written."""
    header = "identifiant;titre;description;domaine;thèmes;commune;gratuit;created_at;updated_at;commune_name\n"
    row = "n-1;Ludothèque;Jeux en prêt.;daily-life;childcare;23096;oui;2000-01-01;2000-01-01;Paris\n"
    upload = {
        "file": named_file((header + row).encode(), "offres.csv"),
        "source": "cd23",
        "organisation": world.organisation_a.slug,
    }
    before = fingerprint()
    response = world.client("editor_a").post(f"{V1}/offers/import/", upload, format="multipart")
    assert response.status_code == 400
    refused = {(error["field"], error["code"], error["line"]) for error in response.json()["errors"]}
    assert refused == {(name, "unknown_column", 1) for name in ("created_at", "updated_at", "commune_name")}
    assert fingerprint() == before


# Organisations ------------------------------------------------------------------------------------------------------


def test_nobody_makes_themselves_editor_of_an_organisation(world):
    organisation = world.organisation_a
    url = f"{V1}/organisations/{organisation.slug}/"
    takeover = {"editors": [world.users["editor_b"].pk], "editor_ids": [world.users["editor_b"].pk]}
    # An outsider is refused; a member's request is only about its contact fields, `editors` is not a property.
    assert world.client("editor_b").patch(url, takeover).status_code == 403
    response = world.client("editor_a").patch(url, {**takeover, "phone": "05 55 99 99 99"})
    assert response.status_code == 200 and "editors" not in response.json()
    created = world.client("admin").post(f"{V1}/organisations/", {**organisation_body(), **takeover})
    assert created.status_code == 201 and "editors" not in created.json()
    assert list(organisation.editors.all()) == [world.users["editor_a"]]
    assert not Organisation.objects.get(slug=created.json()["slug"]).editors.exists()


def test_organisation_timestamps_and_names_are_server_owned(world):
    organisation = world.organisation_a
    sent = {"created_at": LONG_AGO, "updated_at": LONG_AGO, "territory_name": "Paris"}
    response = world.client("admin").patch(f"{V1}/organisations/{organisation.slug}/", sent)
    assert response.status_code == 200
    organisation.refresh_from_db()
    assert organisation.created_at.year > 2000 and response.json()["territory_name"] != "Paris"
    # Editors change the contact fields only: anything else they send that is a property is refused whole.
    refused = world.client("editor_a").patch(
        f"{V1}/organisations/{organisation.slug}/", {"phone": "05 55 00 11 22", "slug": "renamed"}
    )
    assert refused.status_code == 403 and "slug" in refused.json()["message"]
    organisation.refresh_from_db()
    assert organisation.slug != "renamed" and organisation.phone != "05 55 00 11 22"


# Needs, surveys, matching runs --------------------------------------------------------------------------------------

NEED_COMPUTED = {
    "id": 999_999,
    "response_count": 5000,
    "importance_ci_low": 0.1,
    "importance_ci_high": 0.9,
    "satisfaction_response_count": 5000,
    "satisfaction_ci_low": 0.1,
    "satisfaction_ci_high": 0.9,
    "survey": 1,
    "survey_item": "creche",
    "territory_name": "Paris",
    "created_at": LONG_AGO,
    "updated_at": LONG_AGO,
}


def test_need_figures_and_provenance_are_server_owned(world):
    client = world.client("analyst")
    created = client.post(f"{V1}/needs/", need_body(**NEED_COMPUTED))
    assert created.status_code == 201, created.json()
    need = Need.objects.get(pk=created.json()["id"])
    assert need.pk != 999_999 and need.survey_item_id is None and need.created_at.year > 2000
    assert need.response_count is None and need.importance_ci_low is None and need.satisfaction_ci_high is None
    patched = client.patch(f"{V1}/needs/{world.need.pk}/", NEED_COMPUTED)
    assert patched.status_code == 200
    world.need.refresh_from_db()
    assert world.need.response_count is None and world.need.survey_item_id is None
    assert patched.json()["id"] == world.need.pk


def test_survey_counts_and_author_are_server_owned(world):
    sent = survey_body(
        id=999_999,
        response_count=42,
        respondent_count=7,
        created_by=world.users["admin"].pk,
        created_at=LONG_AGO,
    )
    created = world.client("analyst").post(f"{V1}/surveys/", sent, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["id"] != 999_999 and (body["response_count"], body["respondent_count"]) == (0, 0)
    survey = Survey.objects.get(pk=body["id"])
    assert survey.created_by == world.users["analyst"] and survey.created_at.year > 2000


def test_a_run_cannot_be_launched_finished_or_on_behalf_of_someone_else(world):
    given = uuid.uuid4()
    sent = {
        "id": str(given),
        "status": "succeeded",
        "launched_by": "admin-user",
        "snapshot": {"offers_count": 0},
        "timings": {"total_seconds": 0},
        "error": "",
        "algorithm_version": "forged",
        "needs_total": 0,
        "created_at": LONG_AGO,
        "finished_at": LONG_AGO,
    }
    response = world.client("analyst").post(f"{V1}/matching/runs/", sent, format="json")
    assert response.status_code == 202, response.json()
    body = response.json()
    run = MatchingRun.objects.get(pk=body["id"])
    assert run.pk != given and run.status == "queued" and run.finished_at is None
    assert run.launched_by == world.users["analyst"] and run.algorithm_version != "forged"
    assert run.needs_total == 1 and run.snapshot["offers_count"] == len(world.offers)
    assert body["launched_by"] == "analyst-user" and body["status"] == "queued"
