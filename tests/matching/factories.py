"""Small factory functions for matching-app objects (runs and stored per-need results)."""

import datetime

from audiences.models import Need
from matching.models import MatchingRun, NeedResult, RunStatus
from offers.models import Audience, Domain, Territory


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
    )
