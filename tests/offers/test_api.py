"""Offers API: reading, writing per role, conditional GET and query counts."""

import datetime

import pytest
from django.core.cache import cache
from django.utils.http import http_date

from offers.models import Offer
from offers.services import custom_territory_create, custom_territory_update
from tests.offers.factories import make_offer

pytestmark = pytest.mark.django_db


@pytest.fixture
def offers(organisation_a, organisation_b):
    return {
        "a_published": make_offer(organisation=organisation_a, title="Crèche multi-accueil Les Petits Loups"),
        "a_draft": make_offer(organisation=organisation_a, title="Brouillon A", status="draft"),
        "b_published": make_offer(
            organisation=organisation_b,
            title="Gîte du lac",
            commune="23030",
            domain="tourism",
            themes=["accommodation"],
        ),
        "b_draft": make_offer(organisation=organisation_b, title="Brouillon B", status="draft", commune="23030"),
    }


def titles(response):
    assert response.status_code == 200, response.content
    return sorted(item["title"] for item in response.json()["results"])


def test_anonymous_sees_published_only(anonymous_client, offers):
    assert titles(anonymous_client.get("/api/v1/offers/")) == ["Crèche multi-accueil Les Petits Loups", "Gîte du lac"]
    assert anonymous_client.get(f"/api/v1/offers/{offers['a_draft'].pk}/").status_code == 404


def test_editor_sees_own_drafts_not_others(editor_a_client, offers):
    assert titles(editor_a_client.get("/api/v1/offers/")) == [
        "Brouillon A",
        "Crèche multi-accueil Les Petits Loups",
        "Gîte du lac",
    ]
    assert editor_a_client.get(f"/api/v1/offers/{offers['a_draft'].pk}/").status_code == 200
    assert editor_a_client.get(f"/api/v1/offers/{offers['b_draft'].pk}/").status_code == 404
    assert titles(editor_a_client.get("/api/v1/offers/", {"status": "draft"})) == ["Brouillon A"]


def test_admin_sees_everything(admin_client, offers):
    assert len(titles(admin_client.get("/api/v1/offers/"))) == 4


def test_detail_shape(anonymous_client, offers):
    body = anonymous_client.get(f"/api/v1/offers/{offers['a_published'].pk}/").json()
    assert body["domain"] == "daily-life"
    assert body["themes"] == ["childcare"]
    assert body["commune"] == "23096"
    assert body["commune_name"] == "Guéret"
    # Defaults: the commune's centre, and the commune as service area.
    assert body["latitude"] == pytest.approx(46.16, abs=0.03)
    assert body["service_area"] == ["commune:23096"]
    assert body["audiences"] == []
    assert body["distance_km"] is None


def payload(organisation, **overrides):
    return {
        "title": "Maison à louer à Aubusson",
        "description": "Maison de ville, 3 chambres, jardin.",
        "domain": "housing",
        "themes": ["rent"],
        "organisation": organisation.slug,
        "commune": "23008",
        "is_free": False,
        "price_amount": "650.00",
        "price_details": "par mois, charges comprises",
        "capacity": 1,
        "capacity_unit": "logement",
        "status": "published",
        "audiences": ["families"],
        **overrides,
    }


def test_editor_creates_for_own_organisation(editor_a_client, organisation_a):
    response = editor_a_client.post("/api/v1/offers/", payload(organisation_a), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["organisation"] == organisation_a.slug
    assert body["audiences"] == ["families"]
    offer = Offer.objects.get(pk=body["id"])
    assert "maison a louer a aubusson" in offer.search_text
    assert "location" in offer.search_text  # the rent theme's vocabulary is indexed too


def test_editor_cannot_create_for_other_organisation(editor_a_client, organisation_b):
    response = editor_a_client.post("/api/v1/offers/", payload(organisation_b), format="json")
    assert response.status_code == 403
    assert Offer.objects.count() == 0


def test_anonymous_cannot_write(anonymous_client, organisation_a, offers):
    assert anonymous_client.post("/api/v1/offers/", payload(organisation_a), format="json").status_code == 401
    url = f"/api/v1/offers/{offers['a_published'].pk}/"
    assert anonymous_client.patch(url, {"title": "x"}, format="json").status_code == 401
    assert anonymous_client.delete(url).status_code == 401


def test_editor_updates_and_deletes_own(editor_a_client, offers):
    url = f"/api/v1/offers/{offers['a_draft'].pk}/"
    response = editor_a_client.patch(url, {"title": "Crèche parentale", "status": "published"}, format="json")
    assert response.status_code == 200, response.content
    offer = Offer.objects.get(pk=offers["a_draft"].pk)
    assert (offer.title, offer.status) == ("Crèche parentale", "published")
    assert offer.search_text.startswith("creche parentale")
    assert editor_a_client.delete(url).status_code == 204
    assert not Offer.objects.filter(pk=offers["a_draft"].pk).exists()


def test_editor_of_other_organisation_gets_403_and_nothing_changes(editor_b_client, offers):
    url = f"/api/v1/offers/{offers['a_published'].pk}/"
    assert editor_b_client.patch(url, {"title": "Pirate"}, format="json").status_code == 403
    assert editor_b_client.delete(url).status_code == 403
    assert Offer.objects.get(pk=offers["a_published"].pk).title == "Crèche multi-accueil Les Petits Loups"
    # Others' drafts are invisible, so they cannot even be addressed.
    assert editor_b_client.patch(f"/api/v1/offers/{offers['a_draft'].pk}/", {"title": "x"}).status_code == 404


def test_editor_cannot_move_offer_to_other_organisation(editor_a_client, offers, organisation_b):
    url = f"/api/v1/offers/{offers['a_published'].pk}/"
    response = editor_a_client.patch(url, {"organisation": organisation_b.slug}, format="json")
    assert response.status_code == 403
    assert Offer.objects.get(pk=offers["a_published"].pk).organisation_id != organisation_b.pk


def test_admin_writes_everything(admin_client, offers, organisation_b):
    url = f"/api/v1/offers/{offers['a_published'].pk}/"
    response = admin_client.patch(url, {"organisation": organisation_b.slug}, format="json")
    assert response.status_code == 200
    assert response.json()["organisation"] == organisation_b.slug
    assert admin_client.delete(f"/api/v1/offers/{offers['b_draft'].pk}/").status_code == 204


def test_validation_reports_every_rule(admin_client, organisation_a):
    response = admin_client.post(
        "/api/v1/offers/",
        payload(
            organisation_a,
            themes=["childcare", "nope"],
            latitude=40.0,
            longitude=-30.0,
            available_from="2025-06-01",
            available_until="2025-05-01",
        ),
        format="json",
    )
    assert response.status_code == 400
    errors = {(error["field"], error["code"]) for error in response.json()["errors"]}
    assert ("themes.1", "not_found") in errors
    fields = {error["field"] for error in response.json()["errors"]}
    assert {"themes.1", "latitude", "available_until"} <= fields
    assert Offer.objects.count() == 0


def test_theme_outside_domain_and_non_commune_refused(admin_client, organisation_a):
    response = admin_client.post(
        "/api/v1/offers/", payload(organisation_a, themes=["childcare"], commune="200034825"), format="json"
    )
    assert response.status_code == 400
    messages = " ".join(error["message"] for error in response.json()["errors"])
    assert "not a commune" in messages
    response = admin_client.post("/api/v1/offers/", payload(organisation_a, themes=["childcare"]), format="json")
    assert response.json()["errors"][0]["message"] == "The theme 'childcare' does not belong to the domain 'housing'."
    response = admin_client.post("/api/v1/offers/", payload(organisation_a, capacity=-1), format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "capacity"


def test_service_area_codes_resolve(admin_client, organisation_a):
    response = admin_client.post(
        "/api/v1/offers/", payload(organisation_a, service_area=["200034825", "23", "99999"]), format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "service_area.2", "line": None, "code": "not_found", "message": "No territory has the code '99999'."}
    ]
    response = admin_client.post(
        "/api/v1/offers/", payload(organisation_a, service_area=["200034825", "departement:23"]), format="json"
    )
    assert response.json()["service_area"] == ["departement:23", "epci:200034825"]


# Conditional GET ------------------------------------------------------------------------------------------------


def test_list_etag_and_304(anonymous_client, offers):
    first = anonymous_client.get("/api/v1/offers/")
    etag = first["ETag"]
    assert first["Last-Modified"]
    again = anonymous_client.get("/api/v1/offers/", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again["ETag"] == etag
    # Another query string, another user scope or a change: another ETag.
    assert anonymous_client.get("/api/v1/offers/", {"domain": "tourism"}, HTTP_IF_NONE_MATCH=etag).status_code == 200
    offer = offers["b_published"]
    offer.title = "Gîte du lac de Vassivière"
    offer.save()
    assert anonymous_client.get("/api/v1/offers/", HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_list_etag_depends_on_the_user(anonymous_client, editor_a_client, offers):
    etag = anonymous_client.get("/api/v1/offers/")["ETag"]
    assert editor_a_client.get("/api/v1/offers/", HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_detail_etag_and_last_modified(anonymous_client, offers):
    url = f"/api/v1/offers/{offers['a_published'].pk}/"
    first = anonymous_client.get(url)
    assert anonymous_client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    assert anonymous_client.get(url, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"]).status_code == 304
    earlier = http_date((offers["a_published"].updated_at - datetime.timedelta(hours=1)).timestamp())
    assert anonymous_client.get(url, HTTP_IF_MODIFIED_SINCE=earlier).status_code == 200
    assert anonymous_client.get(url, HTTP_IF_NONE_MATCH='"other"').status_code == 200


# Query counts -----------------------------------------------------------------------------------------------------


def test_list_runs_a_constant_number_of_queries(anonymous_client, organisation_a, django_assert_num_queries):
    for number in range(50):
        make_offer(
            organisation=organisation_a,
            title=f"Offre {number}",
            audiences=["families", "workers"],
            service_area=["23096", "200034825"],
            themes=["childcare", "schools"],
        )
    # Cold: catalogue state, count, page, and the page's themes, audiences and service areas in one query. Warm: the
    # count comes from the cache, keyed on the catalogue state, so 3. Either way the same for a page of 1 and of 50.
    for page_size in (1, 50):
        cache.clear()
        with django_assert_num_queries(4):
            assert (
                len(anonymous_client.get("/api/v1/offers/", {"page_size": page_size}).json()["results"]) == page_size
            )
    for page_size in (1, 50):
        with django_assert_num_queries(3):
            assert (
                len(anonymous_client.get("/api/v1/offers/", {"page_size": page_size}).json()["results"]) == page_size
            )


@pytest.mark.parametrize("territory", ["23", "epci:200034825", "23096", "custom:duo"])
def test_list_filtered_by_a_territory_runs_a_constant_number_of_queries(
    territory, anonymous_client, organisation_a, django_assert_num_queries
):
    """The portal's list by territory (issue 15: a région, a département, an EPCI of all France) costs what the
    plain list costs once the territory is resolved: its code is resolved once per catalogue state."""
    custom_territory_create(code="duo", name="Duo", members=["200034825", "23030"])
    for number in range(50):
        make_offer(
            organisation=organisation_a,
            title=f"Offre {number}",
            audiences=["families"],
            service_area=["23096", "200034825"],
            themes=["childcare", "schools"],
        )
    # Cold: catalogue state, territory, count, page, the page's links. Warm: the territory and the count come from the
    # cache, keyed on the catalogue state, so 3, the plain list's. The same for a page of 1 and of 50.
    for page_size in (1, 50):
        cache.clear()
        with django_assert_num_queries(5):
            response = anonymous_client.get("/api/v1/offers/", {"territory": territory, "page_size": page_size})
        assert len(response.json()["results"]) == page_size
    for page_size in (1, 50):
        with django_assert_num_queries(3):
            response = anonymous_client.get("/api/v1/offers/", {"territory": territory, "page_size": page_size})
        assert len(response.json()["results"]) == page_size


def test_a_territory_filter_follows_changes_of_the_territory(anonymous_client, organisation_a):
    """A resolved territory is kept per catalogue state: replacing a custom territory's members changes the answer
    at once."""
    territory = custom_territory_create(code="duo", name="Duo", members=["23096"])
    in_gueret = make_offer(organisation=organisation_a, commune="23096", title="Crèche de Guéret")
    in_bourganeuf = make_offer(organisation=organisation_a, commune="23030", title="Crèche de Bourganeuf")

    def listed() -> list[int]:
        response = anonymous_client.get("/api/v1/offers/", {"territory": "custom:duo"})
        assert response.status_code == 200
        return [offer["id"] for offer in response.json()["results"]]

    assert listed() == [in_gueret.id]
    assert listed() == [in_gueret.id]  # from the cache
    custom_territory_update(territory=territory, values={"members": ["23030"]})
    assert listed() == [in_bourganeuf.id]


def test_an_unknown_territory_is_refused_each_time(anonymous_client, reference):
    for _ in range(2):
        response = anonymous_client.get("/api/v1/offers/", {"territory": "99999"})
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "territory"


def test_list_count_and_etag_follow_deletions_and_organisation_renames(admin_client, anonymous_client, offers):
    first = anonymous_client.get("/api/v1/offers/")
    count = first.json()["count"]
    deleted = admin_client.delete(f"/api/v1/offers/{offers['a_published'].pk}/")
    assert deleted.status_code == 204
    after_delete = anonymous_client.get("/api/v1/offers/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert after_delete.status_code == 200
    assert after_delete.json()["count"] == count - 1  # not the cached count of before
    organisation = offers["b_published"].organisation
    renamed = admin_client.patch(
        f"/api/v1/organisations/{organisation.slug}/", {"name": "Office de tourisme renommé"}, format="json"
    )
    assert renamed.status_code == 200
    after_rename = anonymous_client.get("/api/v1/offers/", HTTP_IF_NONE_MATCH=after_delete["ETag"])
    assert after_rename.status_code == 200
    assert "Office de tourisme renommé" in {row["organisation_name"] for row in after_rename.json()["results"]}


def test_organisation_list_runs_a_constant_number_of_queries(anonymous_client, reference, django_assert_num_queries):
    from tests.offers.factories import make_organisation

    for _ in range(30):
        make_organisation()
    with django_assert_num_queries(2):
        anonymous_client.get("/api/v1/organisations/", {"page_size": 1})
    with django_assert_num_queries(2):
        anonymous_client.get("/api/v1/organisations/", {"page_size": 30})


# Organisations ----------------------------------------------------------------------------------------------------


def test_organisations_readable_by_all_writable_by_admins(
    anonymous_client, editor_a_client, admin_client, organisation_a
):
    body = anonymous_client.get(f"/api/v1/organisations/{organisation_a.slug}/").json()
    assert body["territory"] == "epci:200034825"
    new = {"name": "Mairie de Felletin", "kind": "local-authority", "territory": "23079"}
    assert editor_a_client.post("/api/v1/organisations/", new, format="json").status_code == 403
    response = admin_client.post("/api/v1/organisations/", new, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["slug"] == "mairie-de-felletin"
    bad = admin_client.post("/api/v1/organisations/", {**new, "territory": "00000"}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "territory"


def test_editor_changes_own_organisation_contact_only(editor_a_client, organisation_a, organisation_b):
    url = f"/api/v1/organisations/{organisation_a.slug}/"
    response = editor_a_client.patch(url, {"phone": "05 55 41 00 00"}, format="json")
    assert response.status_code == 200
    assert response.json()["phone"] == "05 55 41 00 00"
    assert editor_a_client.patch(url, {"name": "Autre nom"}, format="json").status_code == 403
    other = f"/api/v1/organisations/{organisation_b.slug}/"
    assert editor_a_client.patch(other, {"phone": "0"}, format="json").status_code == 403
    assert editor_a_client.delete(url).status_code == 403


def test_admin_form_applies_the_offer_rules(admin_user, organisation_a):
    from django.test import Client

    from offers.models import Domain, Territory, Theme

    client = Client()
    client.force_login(admin_user)
    data = {
        "title": "Crèche de Saint-Vaury",
        "description": "Multi-accueil.",
        "domain": Domain.objects.get(code="housing").pk,
        "themes": [Theme.objects.get(code="childcare").pk],
        "organisation": organisation_a.pk,
        "commune": Territory.objects.get(code="23247").pk,
        "is_free": "on",
        "status": "published",
        "source": "manual",
    }
    response = client.post("/admin/offers/offer/add/", data)
    assert response.status_code == 200  # the form again, with the error
    assert "does not belong to the domain" in response.content.decode()
    data["domain"] = Domain.objects.get(code="daily-life").pk
    response = client.post("/admin/offers/offer/add/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    offer = Offer.objects.get()
    assert offer.latitude is not None and list(offer.service_area.values_list("code", flat=True)) == ["23247"]
    assert offer.search_text.startswith("creche de saint vaury")


def test_organisation_with_offers_cannot_be_deleted(organisation_a, admin_client):
    make_offer(organisation=organisation_a)
    make_offer(organisation=organisation_a, status="draft")
    response = admin_client.delete(f"/api/v1/organisations/{organisation_a.slug}/")
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert "still has 2 offers" in response.json()["message"]
    assert Offer.objects.filter(organisation=organisation_a).count() == 2
