"""Benchmark of the wide survey import: 20,000 respondents x 60 questions (30 items asked on importance and on
satisfaction), as LimeSurvey exports them in CSV and XLSX, validated, stored and aggregated into needs.

Runs in a throwaway test database (SQLite by default, PostgreSQL with DATABASE_URL). The files come from
tests/audiences/survey_exports.py (the same writers as the equivalence tests); each run goes through
`survey_wide_import`, the service the upload endpoint calls: whole-file validation against the stored mapping,
replacement of the responses and open answers, recomputation of the needs (item x audience, area and EPCIs).
Baseline, measured in the same run: reading the same file with api.tabular.read_table alone. Medians of
`--repeats` runs (default 3) of a first upload (the survey emptied before each); `uptime` is printed before and
after, since the machine is shared. Prints a Markdown table row per file.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "api.settings_test")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

RESPONDENTS = 20_000
ITEMS = 30  # x 2 measures = 60 question columns


def uptime() -> str:
    # Django sets TZ to TIME_ZONE: ask for UTC, as the deadlines and logs are.
    env = {**os.environ, "TZ": "UTC"}
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False, env=env).stdout.strip()


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--respondents", type=int, default=RESPONDENTS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--profile", action="store_true", help="one CSV upload under cProfile: the 25 costliest calls, then stop"
    )
    arguments = parser.parse_args()
    print(f"start: {uptime()}", flush=True)
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from api.tabular import read_table
        from audiences.models import Need, SurveyOpenAnswer, SurveyResponse
        from audiences.services import survey_mapping_set, survey_upsert_from_definition, survey_wide_import
        from offers.models import Territory, TerritoryPostalCode
        from offers.services import taxonomy_load, territories_load_geojson
        from tests.audiences import survey_exports

        territories_load_geojson()
        taxonomy_load()
        communes = {territory.code: territory for territory in Territory.objects.filter(kind="commune")}
        TerritoryPostalCode.objects.filter(code__in=survey_exports.POSTAL_CODES).delete()
        TerritoryPostalCode.objects.bulk_create(
            TerritoryPostalCode(code=code, territory=communes[insee])
            for code, insee in survey_exports.POSTAL_CODES.items()
        )
        start = time.perf_counter()
        population = survey_exports.population_draw(
            size=arguments.respondents, items=survey_exports.generic_items(ITEMS)
        )
        exports = [survey_exports.limesurvey_csv(population), survey_exports.limesurvey_xlsx(population)]
        print(f"files generated in {time.perf_counter() - start:.1f} s", flush=True)
        rows = []
        for export in exports:
            survey, _ = survey_upsert_from_definition(
                definition=population.survey_definition(title=f"Bench {export.filename}", reference=export.filename)
            )
            survey_mapping_set(survey=survey, mapping=export.mapping)

            def parse(export=export):
                read_table(content=export.content, filename=export.filename, max_bytes=50_000_000, max_rows=50_000)

            def first_upload(export=export, survey=survey) -> float:
                SurveyResponse.objects.filter(item__survey=survey).delete()
                SurveyOpenAnswer.objects.filter(survey=survey).delete()
                Need.objects.filter(survey_item__survey=survey).delete()
                start = time.perf_counter()
                survey_wide_import(survey=survey, content=export.content, filename=export.filename)
                return time.perf_counter() - start

            if arguments.profile:
                import cProfile
                import pstats

                profiler = cProfile.Profile()
                profiler.runcall(first_upload)
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
                return
            baseline = [timed(parse) for _ in range(arguments.repeats)]
            first = [first_upload() for _ in range(arguments.repeats)]
            responses = SurveyResponse.objects.filter(item__survey=survey).count()
            needs = Need.objects.filter(survey_item__survey=survey).count()
            base, median = statistics.median(baseline), statistics.median(first)
            kind, questions = export.filename.rsplit(".", 1)[-1].upper(), len(export.mapping["questions"])
            rows.append(
                f"| {connection.vendor} | {kind} ({len(export.content) / 1e6:.1f} MB) | "
                f"{arguments.respondents:,} x {questions} "
                f"-> {responses:,} responses, {needs:,} needs | {base:.1f} s | {median:.1f} s "
                f"(runs: {', '.join(f'{run:.1f}' for run in first)}) |"
            )
            print(rows[-1], flush=True)
        print(f"end: {uptime()}")
        print("\n".join(rows))
    finally:
        connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)


if __name__ == "__main__":
    main()
