"""One test per filter of the offers list, with the territory hierarchy, radius boundaries and accent/stem search."""

import datetime
import math

import pytest
from django.db import connection

from offers.selectors import EARTH_RADIUS_KM
from tests.offers.factories import make_offer

pytestmark = pytest.mark.django_db

GUERET = (46.1667, 1.8667)


def found(client, ordered=False, **params):
    """Titles found (sorted, unless the order is what the test checks)."""
    response = client.get("/api/v1/offers/", {"page_size": 100, **params})
    assert response.status_code == 200, response.content
    titles = [item["title"] for item in response.json()["results"]]
    return titles if ordered else sorted(titles)


def error_fields(client, **params):
    response = client.get("/api/v1/offers/", params)
    assert response.status_code == 400, response.content
    return [error["field"] for error in response.json()["errors"]]


def test_domain(anonymous_client, organisation_a):
    make_offer(organisation=organisation_a, title="Crèche", domain="daily-life", themes=["childcare"])
    make_offer(organisation=organisation_a, title="Gîte", domain="tourism", themes=["accommodation"])
    assert found(anonymous_client, domain="tourism") == ["Gîte"]
    assert error_fields(anonymous_client, domain="nope") == ["domain"]


def test_theme(anonymous_client, organisation_a):
    make_offer(organisation=organisation_a, title="Crèche", themes=["childcare"])
    make_offer(organisation=organisation_a, title="École", themes=["schools"])
    make_offer(organisation=organisation_a, title="Médecin", themes=["health-care"])
    assert found(anonymous_client, theme="childcare,schools") == ["Crèche", "École"]
    assert error_fields(anonymous_client, theme="childcare,zzz") == ["theme"]


def test_audience_includes_offers_for_everyone(anonymous_client, organisation_a):
    make_offer(organisation=organisation_a, title="Pour les familles", audiences=["families"])
    make_offer(organisation=organisation_a, title="Pour les retraités", audiences=["retirees"])
    make_offer(organisation=organisation_a, title="Pour tous", audiences=[])
    assert found(anonymous_client, audience="families") == ["Pour les familles", "Pour tous"]


def test_territory_hierarchy_and_service_area(anonymous_client, organisation_a):
    make_offer(organisation=organisation_a, title="À Guéret", commune="23096")  # Grand Guéret
    make_offer(organisation=organisation_a, title="À Aubusson", commune="23008")  # Creuse Grand Sud
    make_offer(organisation=organisation_a, title="Sert toute la Creuse", commune="23008", service_area=["23"])
    make_offer(organisation=organisation_a, title="Sert le Grand Guéret", commune="23008", service_area=["200034825"])
    # A commune: what is there, and what serves it from above.
    assert found(anonymous_client, territory="23096") == sorted(
        ["À Guéret", "Sert le Grand Guéret", "Sert toute la Creuse"]
    )
    # A commune of the Grand Guéret other than Guéret (Saint-Vaury).
    assert found(anonymous_client, territory="23247") == ["Sert le Grand Guéret", "Sert toute la Creuse"]
    # An EPCI: everything inside it.
    assert found(anonymous_client, territory="epci:200034825") == sorted(
        ["À Guéret", "Sert le Grand Guéret", "Sert toute la Creuse"]
    )
    assert len(found(anonymous_client, territory="23")) == 4
    assert error_fields(anonymous_client, territory="99999") == ["territory"]


def point_at(distance_km: float, *, bearing_deg: float = 90.0, origin=GUERET) -> tuple[float, float]:
    """The point at `distance_km` from origin along a great circle (destination formula)."""
    lat1, lon1 = map(math.radians, origin)
    angular = distance_km / EARTH_RADIUS_KM
    bearing = math.radians(bearing_deg)
    lat2 = math.asin(math.sin(lat1) * math.cos(angular) + math.cos(lat1) * math.sin(angular) * math.cos(bearing))
    lon2 = lon1 + math.atan2(
        math.sin(bearing) * math.sin(angular) * math.cos(lat1), math.cos(angular) - math.sin(lat1) * math.sin(lat2)
    )
    return math.degrees(lat2), math.degrees(lon2)


def test_near_radius_boundaries(anonymous_client, organisation_a):
    for name, distance, bearing in (
        ("inside", 9.95, 90),
        ("outside", 10.05, 90),
        ("north-in", 9.95, 0),
        ("diag-out", 10.05, 45),
        ("far", 60, 200),
    ):
        lat, lon = point_at(distance, bearing_deg=bearing)
        make_offer(organisation=organisation_a, title=name, latitude=lat, longitude=lon)
    near = f"{GUERET[0]},{GUERET[1]}"
    response = anonymous_client.get("/api/v1/offers/", {"near": near, "radius_km": 10})
    results = response.json()["results"]
    assert [item["title"] for item in results] == ["inside", "north-in"] or [item["title"] for item in results] == [
        "north-in",
        "inside",
    ]
    assert all(item["distance_km"] == pytest.approx(9.95, abs=0.01) for item in results)
    ordered = anonymous_client.get("/api/v1/offers/", {"near": near, "radius_km": 100, "ordering": "distance"})
    distances = [item["distance_km"] for item in ordered.json()["results"]]
    assert distances == sorted(distances) and len(distances) == 5
    assert distances[-1] == pytest.approx(60, abs=0.01)


def test_near_validation(anonymous_client, reference):
    assert error_fields(anonymous_client, near="46.1,1.8") == ["radius_km"]
    assert error_fields(anonymous_client, radius_km=5) == ["near"]
    assert error_fields(anonymous_client, near="46.1", radius_km=5) == ["near"]
    assert error_fields(anonymous_client, near="46.1,1.8", radius_km=0) == ["radius_km"]
    assert error_fields(anonymous_client, near="46.1,1.8", radius_km=500) == ["radius_km"]
    assert error_fields(anonymous_client, ordering="distance") == ["ordering"]
    assert error_fields(anonymous_client, ordering="relevance") == ["ordering"]


def test_q_ignores_accents_and_case(anonymous_client, organisation_a):
    make_offer(organisation=organisation_a, title="Crèche multi-accueil à Guéret")
    make_offer(organisation=organisation_a, title="Maison de santé", domain="daily-life", themes=["health-care"])
    assert found(anonymous_client, q="creche") == ["Crèche multi-accueil à Guéret"]
    assert found(anonymous_client, q="CRÈCHE gueret") == ["Crèche multi-accueil à Guéret"]


def test_q_plural_finds_singular(anonymous_client, organisation_a):
    make_offer(
        organisation=organisation_a,
        title="Un logement à louer",
        domain="housing",
        themes=["rent"],
        description="Appartement T3.",
        is_free=False,
        price_amount="450",
    )
    make_offer(organisation=organisation_a, title="Atelier poterie", domain="culture", themes=["cultural-practice"])
    assert found(anonymous_client, q="logements") == ["Un logement à louer"]


@pytest.mark.postgres_only
def test_q_french_stemming_on_postgresql(anonymous_client, organisation_a):
    if connection.vendor != "postgresql":
        pytest.skip("French stemming needs PostgreSQL's french_unaccent configuration; SQLite strips plurals only")
    make_offer(
        organisation=organisation_a,
        title="Accompagnement à la création d'entreprise",
        domain="jobs",
        themes=["business-creation"],
        description="Nous accompagnons les créateurs.",
    )
    make_offer(organisation=organisation_a, title="Piscine municipale", domain="daily-life", themes=["sport"])
    # "créations" and "accompagner" share their stems with "création" and "accompagnement/accompagnons".
    assert found(anonymous_client, q="créations") == ["Accompagnement à la création d'entreprise"]
    assert found(anonymous_client, q="accompagner") == ["Accompagnement à la création d'entreprise"]


def test_q_ranks_by_relevance(anonymous_client, organisation_a):
    make_offer(
        organisation=organisation_a,
        title="Salle de sport",
        domain="daily-life",
        themes=["sport"],
        description="Parmi les activités : piscine.",
    )
    make_offer(
        organisation=organisation_a,
        title="Piscine municipale",
        domain="daily-life",
        themes=["sport"],
        description="Piscine couverte, bassin de 25 m, piscine ludique.",
    )
    titles = found(anonymous_client, ordered=True, q="piscine")
    assert sorted(titles) == ["Piscine municipale", "Salle de sport"]
    if connection.vendor == "postgresql":
        assert titles[0] == "Piscine municipale"


def test_available_on(anonymous_client, organisation_a):
    make_offer(organisation=organisation_a, title="Été", available_from="2025-06-01", available_until="2025-08-31")
    make_offer(organisation=organisation_a, title="Toujours")
    make_offer(organisation=organisation_a, title="Dès septembre", available_from="2025-09-01")
    assert found(anonymous_client, available_on="2025-07-14") == sorted(["Toujours", "Été"])
    assert found(anonymous_client, available_on="2025-09-02") == ["Dès septembre", "Toujours"]


def test_is_free(anonymous_client, organisation_a):
    make_offer(organisation=organisation_a, title="Gratuit")
    make_offer(organisation=organisation_a, title="Payant", is_free=False, price_amount="10")
    assert found(anonymous_client, is_free="true") == ["Gratuit"]
    assert found(anonymous_client, is_free="false") == ["Payant"]


def test_organisation(anonymous_client, organisation_a, organisation_b):
    make_offer(organisation=organisation_a, title="A")
    make_offer(organisation=organisation_b, title="B")
    assert found(anonymous_client, organisation=organisation_b.slug) == ["B"]


def test_status_for_editors(editor_a_client, anonymous_client, organisation_a):
    make_offer(organisation=organisation_a, title="Archivée", status="archived")
    make_offer(organisation=organisation_a, title="Publiée")
    assert found(editor_a_client, status="archived") == ["Archivée"]
    assert found(anonymous_client, status="archived") == []


def test_updated_since(anonymous_client, organisation_a):
    old = make_offer(organisation=organisation_a, title="Ancienne")
    type(old).objects.filter(pk=old.pk).update(updated_at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
    make_offer(organisation=organisation_a, title="Récente")
    assert found(anonymous_client, updated_since="2024-01-01T00:00:00Z") == ["Récente"]


def test_ordering(anonymous_client, organisation_a):
    first = make_offer(organisation=organisation_a, title="B")
    make_offer(organisation=organisation_a, title="A")
    type(first).objects.filter(pk=first.pk).update(updated_at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
    assert found(anonymous_client, ordered=True) == ["A", "B"]
    assert found(anonymous_client, ordered=True, ordering="-title") == ["B", "A"]
    assert found(anonymous_client, ordered=True, ordering="updated") == ["B", "A"]
    assert found(anonymous_client, ordered=True, ordering="-updated") == ["A", "B"]
    assert error_fields(anonymous_client, ordering="price") == ["ordering"]
