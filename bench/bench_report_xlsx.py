"""Benchmark of the XLSX answers of a large run: the gap report, the comparison and the IPA table of a run of
10,000 needs (by default) as workbooks, and the gap map of the same run.

Runs in a throwaway test database (SQLite by default, PostgreSQL with DATABASE_URL): the Creuse and the taxonomy
are loaded and the two runs' results inserted first (not timed). Each figure times what the view does after its
query is validated: the report builder (rows, aggregation) and the whole workbook written and read back to the last
byte (`api.spreadsheets.xlsx_response`), or the map rendered. Prints one Markdown table row per answer, with the
peak resident memory of the process.

    .venv/bin/python bench/bench_report_xlsx.py --needs 10000
"""

import argparse
import datetime
import os
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "api.settings_test")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402


def results_insert(run, needs: int, seed: int) -> None:
    from matching.models import NeedResult
    from matching.reasons import RECOMMENDATIONS
    from offers.models import Audience, Domain, Territory, Theme

    rng = random.Random(seed)
    communes = list(Territory.objects.filter(kind="commune").values_list("path", flat=True))
    audiences = list(Audience.objects.values_list("code", flat=True))
    domains = list(Domain.objects.values_list("code", flat=True))
    themes = list(Theme.objects.values_list("code", flat=True))
    rows = []
    for number in range(needs):
        importance, coverage = rng.random(), rng.random()
        rows.append(
            NeedResult(
                run=run,
                statement=f"Besoin {number} : trouver une solution de garde près de chez soi",
                audience_code=rng.choice(audiences),
                domain_code=rng.choice(domains),
                theme_codes=rng.sample(themes, 2),
                territory_path=rng.choice(communes),
                importance=importance,
                satisfaction=rng.random() if rng.random() < 0.8 else None,
                demand_volume=rng.randint(1, 500) if rng.random() < 0.5 else None,
                coverage=coverage,
                gap=importance * (1 - coverage),
                recommendation=rng.choice(RECOMMENDATIONS),
            )
        )
    NeedResult.objects.bulk_create(rows, batch_size=2000)


def drained(response) -> int:
    return sum(len(chunk) for chunk in response.streaming_content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--needs", type=int, default=10_000)
    args = parser.parse_args()
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from api.spreadsheets import xlsx_response
        from matching import report_builder
        from matching.bench import bench_reader
        from matching.models import MatchingRun, RunStatus
        from offers.services import taxonomy_load, territories_load_geojson

        territories_load_geojson()
        taxonomy_load()
        runs = []
        for seed in (1, 2):
            run = MatchingRun.objects.create(
                status=RunStatus.SUCCEEDED, reference_date=datetime.date(2026, 1, 1), algorithm_version="bench"
            )
            results_insert(run, args.needs, seed)
            runs.append(run)
        run, baseline = runs
        READER = bench_reader()  # noqa: N806 (the caller the builders take)
        answers = {
            "report, territory (commune) x domain, top 3": lambda: report_builder.report_build(
                run_id=run.id, user=READER, group_by=["territory", "domain"], territory_level="commune", top=3
            ),
            "compare with a baseline of as many needs": lambda: report_builder.comparison_build(
                run_id=run.id,
                user=READER,
                baseline=baseline.id,
                group_by=["domain"],
                territory_level="epci",
                gap_floor=0.05,
                gap_delta=0.05,
            ),
            "IPA": lambda: report_builder.ipa_build(run_id=run.id, user=READER, crosshair="mean"),
        }
        database = connection.vendor
        print(f"| answer ({args.needs:,} needs, {database}) | seconds | of which the file | size | peak RSS |")
        print("|---|---:|---:|---:|---:|")
        for name, build in answers.items():
            start = time.perf_counter()
            answer = build()
            built = time.perf_counter()
            size = drained(xlsx_response(tables=answer.sheets(), filename="bench"))
            end = time.perf_counter()
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                f"| XLSX {name} | {end - start:.2f} | {end - built:.2f} | {size / 1024:,.0f} KiB | {peak:,.0f} MiB |"
            )
        for level in ("commune", "epci"):
            start = time.perf_counter()
            answer = report_builder.map_build(run_id=run.id, level=level, user=READER)
            built = time.perf_counter()
            size = len(answer.chart("png"))
            end = time.perf_counter()
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                f"| PNG map, level {level} | {end - start:.2f} | {end - built:.2f} | {size / 1024:,.0f} KiB "
                f"| {peak:,.0f} MiB |"
            )
    finally:
        connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)


if __name__ == "__main__":
    main()
