"""Benchmark of the survey response upload: the demo file (about 11,000 rows) stored and aggregated into needs.

Runs in a throwaway test database (SQLite by default, PostgreSQL with DATABASE_URL). Baseline, measured in the
same run: parsing the same file with api.tabular.read_upload alone, so the ratio is the cost of validation,
storage and aggregation relative to reading the CSV. Prints a Markdown table row per database.
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "api.settings_test")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

REPEATS = 5


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> None:
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from api.tabular import read_upload
        from audiences.models import Need, SurveyResponse
        from audiences.services import (
            DEMO_DIR,
            RESPONSE_COLUMNS,
            survey_responses_import,
            survey_upsert_from_definition,
        )
        from offers.services import taxonomy_load, territories_load_geojson

        territories_load_geojson()
        taxonomy_load()
        import json

        survey, _ = survey_upsert_from_definition(
            definition=json.loads((DEMO_DIR / "survey.json").read_text(encoding="utf-8"))
        )
        content = (DEMO_DIR / "responses.csv").read_bytes()

        def parse():
            read_upload(content=content, columns=RESPONSE_COLUMNS, max_rows=200_000)

        def first_upload():
            SurveyResponse.objects.all().delete()
            Need.objects.filter(survey_item__survey=survey).delete()
            start = time.perf_counter()
            survey_responses_import(survey=survey, content=content, filename="responses.csv")
            return time.perf_counter() - start

        baseline = [timed(parse) for _ in range(REPEATS)]
        first = [first_upload() for _ in range(REPEATS)]
        again = [
            timed(lambda: survey_responses_import(survey=survey, content=content, filename="r.csv"))
            for _ in range(REPEATS)
        ]
        rows = content.count(b"\n") - 1
        needs = Need.objects.filter(survey_item__survey=survey).count()
        base = statistics.median(baseline)
        print(
            f"| {connection.vendor} | {rows} rows -> {needs} needs | {base * 1000:.0f} ms | "
            f"{statistics.median(first) * 1000:.0f} ms (x{statistics.median(first) / base:.1f}) | "
            f"{statistics.median(again) * 1000:.0f} ms (x{statistics.median(again) / base:.1f}) |"
        )
    finally:
        connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)


if __name__ == "__main__":
    main()
