"""Small factory functions: offers as the engine reads them (ORM, no services), and runs with stored per-need
results for the report tests."""

import datetime
import itertools
from datetime import date

from audiences.models import Need
from matching.models import MatchingRun, NeedResult, RunStatus
from offers.models import Audience, Domain, Offer, OfferStatus, Territory, Theme
from offers.services import catalogue_changed
from tests.offers.factories import make_organisation

_sequence = itertools.count(1)


def make_offer(
    *,
    title: str,
    description: str = "",
    themes: tuple[str, ...] = (),
    domain: str | None = None,
    commune: str = "23096",
    latitude: float | None = None,
    longitude: float | None = None,
    audiences: tuple[str, ...] = (),
    service_area: tuple[str, ...] = (),
    status: str = OfferStatus.PUBLISHED,
    capacity: int | None = None,
    available_from: date | None = None,
    available_until: date | None = None,
    organisation=None,
) -> Offer:
    theme_objects = list(Theme.objects.filter(code__in=themes))
    assert len(theme_objects) == len(themes), themes
    domain_object = Domain.objects.get(code=domain) if domain else theme_objects[0].domain
    place = Territory.objects.get(kind="commune", code=commune)
    offer = Offer.objects.create(
        title=title,
        description=description or title,
        domain=domain_object,
        organisation=organisation or make_organisation(),
        commune=place,
        latitude=place.latitude if latitude is None else latitude,
        longitude=place.longitude if longitude is None else longitude,
        is_free=True,
        status=status,
        capacity=capacity,
        available_from=available_from,
        available_until=available_until,
        external_id=f"test-{next(_sequence)}",
    )
    offer.themes.set(theme_objects)
    offer.audiences.set(Audience.objects.filter(code__in=audiences))
    offer.service_area.set([Territory.objects.get(code=code) for code in service_area])
    catalogue_changed(offers=[offer.pk])  # as every write path must (the live offer index reads the changes)
    return offer


def make_run(*, status: str = RunStatus.SUCCEEDED, scope_territory: Territory | None = None) -> MatchingRun:
    return MatchingRun.objects.create(
        status=status,
        scope_territory=scope_territory,
        reference_date=datetime.date(2025, 5, 12),
        algorithm_version="test",
    )


def make_report_need(*, statement: str = "Besoin", audience_code: str = "families", domain_code: str = "housing"):
    """A Need row for results to point at (comparisons match results on need id); needs the `reference` fixture."""
    return Need.objects.create(
        statement=statement,
        audience=Audience.objects.get(code=audience_code),
        domain=Domain.objects.get(code=domain_code),
        importance=0.5,
        source="workshop",
    )


def make_need_result(
    run: MatchingRun,
    *,
    need: Need | None = None,
    statement: str = "Besoin",
    audience_code: str = "families",
    domain_code: str = "housing",
    theme_codes: list[str] | None = None,
    territory_path: str = "",
    importance: float = 0.8,
    coverage: float = 0.5,
    gap: float | None = None,
    satisfaction: float | None = None,
    demand_volume: int | None = None,
    recommendation: str = "adjust",
    stage: str = "anchor",
) -> NeedResult:
    """A stored result; `gap` defaults to importance × (1 − coverage) as the engine computes it."""
    return NeedResult.objects.create(
        run=run,
        need=need,
        statement=statement,
        audience_code=audience_code,
        domain_code=domain_code,
        theme_codes=theme_codes if theme_codes is not None else [],
        territory_path=territory_path,
        importance=importance,
        coverage=coverage,
        gap=importance * (1 - coverage) if gap is None else gap,
        satisfaction=satisfaction,
        demand_volume=demand_volume,
        recommendation=recommendation,
        stage=stage,
    )


def offers_with_fresh_index(rows):
    """A fixture body: the offers of ``rows`` (title, description, theme codes), with this process's offer index
    dropped before they are made and after the test, so the test's first search builds it from them alone."""
    from matching import index as index_module

    index_module.offer_index_clear()
    offers = [make_offer(title=title, description=description, themes=themes) for title, description, themes in rows]
    yield offers
    index_module.offer_index_clear()
