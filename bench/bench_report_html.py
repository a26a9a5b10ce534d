"""Benchmark of the printable report documents (`format=html`) for a run of 10,000 needs.

Runs in a throwaway test database (SQLite by default, PostgreSQL with DATABASE_URL): the Creuse and the taxonomy,
then 10,000 needs spread over the communes, themes, audiences and journey stages, and a succeeded run with one
stored result per need (a reason and three matched offers each, as the engine writes them). Each document is
fetched through the real view (Django's test client, an analyst's token: permissions, query validation, selectors,
aggregation, both SVG charts, template rendering); the baseline, measured in the same loop, is the JSON answer of
the same query. Prints one Markdown table row per query, with the load average.

    DJANGO_SETTINGS_MODULE=api.settings_test .venv/bin/python bench/bench_report_html.py [--needs 10000] [--repeats 3]
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "api.settings_test")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

QUERIES = (
    ("report", "group_by=domain,stage"),
    ("report", "group_by=territory,theme&territory_level=epci"),
    ("report", "group_by=territory,audience&territory_level=commune"),
    ("ipa", ""),
    ("compare", "group_by=stage"),
)


def populate(needs: int):
    """Needs and two succeeded runs (the second one the comparison's subject) with a stored result per need."""
    import datetime

    from audiences.models import JourneyStage, Need
    from matching.models import MatchedOffer, MatchingRun, NeedResult, RunStatus
    from matching.scoring import ALGORITHM_VERSION, MatchingParameters
    from offers.models import Audience, Territory, TerritoryKind, Theme
    from offers.territory_paths import path_code

    rng = random.Random(14)
    communes = list(Territory.objects.filter(kind=TerritoryKind.COMMUNE).values_list("id", "path"))
    themes = list(Theme.objects.values_list("id", "code", "domain_id", "domain__code"))
    audiences = list(Audience.objects.values_list("id", "code"))
    stages = [choice for choice, _label in JourneyStage.choices]
    rows = []
    for number in range(needs):
        commune, theme, audience = rng.choice(communes), rng.choice(themes), rng.choice(audiences)
        rows.append((commune, theme, audience, rng.choice(stages), rng.random(), rng.random(), number))
    created = Need.objects.bulk_create(
        Need(audience_id=audience[0], domain_id=theme[2], statement=f"Besoin {number} : {theme[1]} près de chez moi",
             territory_id=commune[0], stage=stage, importance=importance, satisfaction=satisfaction, source="study",
             source_reference="Étude de référence", source_date=datetime.date(2025, 3, 1))
        for commune, theme, audience, stage, importance, satisfaction, number in rows
    )  # fmt: skip
    runs = []
    for offset in (0.0, 0.1):
        run = MatchingRun.objects.create(
            status=RunStatus.SUCCEEDED, reference_date=datetime.date(2025, 5, 12), algorithm_version=ALGORITHM_VERSION,
            parameters={**MatchingParameters().to_dict(), "ipa_rule": "mean"}, needs_total=needs, needs_done=needs,
            snapshot={"offers_count": 4000, "offers_published": 3800, "needs_count": needs},
        )  # fmt: skip
        results = NeedResult.objects.bulk_create(
            (
                NeedResult(
                    run=run, need=need, statement=need.statement, audience_code=audience[1], domain_code=theme[3],
                    theme_codes=[theme[1]], territory_path=commune[1], epci_code=path_code(commune[1], "epci"),
                    commune_code=path_code(commune[1], "commune"), importance=importance, satisfaction=satisfaction,
                    stage=stage, coverage=(coverage := min(1.0, rng.random() + offset)),
                    gap=importance * (1 - coverage), recommendation=rng.choice(["create", "adjust", "promote"]),
                    reasons=[{"code": "distance", "message": "L'offre la plus proche est à 35 km.", "offers": [1]}],
                )
                for need, row in zip(created, rows, strict=True)
                for commune, theme, audience, stage, importance, satisfaction, _number in [row]
            ),
            batch_size=2000,
        )  # fmt: skip
        MatchedOffer.objects.bulk_create(
            (
                MatchedOffer(result=result, offer_title=f"Offre {rank} du besoin {result.need_id}", rank=rank,
                             score=0.5, relevance=0.6, text=0.5, theme=1, audience=1, geography=0.5, availability=1,
                             capacity=1, distance_km=12.0)
                for result in results
                for rank in (1, 2, 3)
            ),
            batch_size=5000,
        )  # fmt: skip
        runs.append(run)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--needs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    setup_test_environment()  # the test client's host, as in the test suite
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from rest_framework.test import APIClient

        from offers.services import taxonomy_load, territories_load_geojson
        from tests.conftest import make_user

        territories_load_geojson()
        taxonomy_load()
        baseline_run, run = populate(args.needs)
        client = APIClient()
        client.force_authenticate(make_user("bench-analyst", analyst=True))

        def timed(path: str) -> tuple[float, int]:
            start = time.perf_counter()
            response = client.get(path)
            seconds = time.perf_counter() - start
            if response.status_code != 200:
                raise SystemExit(f"{path}: {response.status_code} {response.content[:300]!r}")
            return seconds, len(response.content)

        print(f"uptime: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1, 5, 15 min)")
        print("| database | document | query | HTML median | JSON median (baseline) | ratio | HTML size |")
        print("|---|---|---|---|---|---|---|")
        for endpoint, query in QUERIES:
            if endpoint == "compare":
                query += f"&baseline={baseline_run.id}"
            base = f"/api/v1/matching/runs/{run.id}/{endpoint}/?{query}"
            html, json_ = [], []
            for _ in range(args.repeats):
                seconds, size = timed(f"{base}&format=html")
                html.append(seconds)
                json_.append(timed(f"{base}&format=json")[0])
            shown = query.split("&baseline=")[0] or "crosshair=mean"
            print(
                f"| {connection.vendor} | {endpoint} | `{shown}` | {statistics.median(html):.2f} s | "
                f"{statistics.median(json_):.2f} s | x{statistics.median(html) / statistics.median(json_):.1f} | "
                f"{size / 1024:.0f} KiB |"
            )
    finally:
        connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)


if __name__ == "__main__":
    main()
