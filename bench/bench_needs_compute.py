"""Benchmark of the weighted aggregation alone: `survey_needs_compute` on a survey of 20,000 respondents x 60 items
(1.2 million stored responses, weighted, three audiences, communes all over the Creuse).

Runs in a throwaway test database (SQLite by default, PostgreSQL with DATABASE_URL); the responses are inserted
first (not timed). Times the first computation (every need created) and a second one (every need unchanged), and,
as a baseline measured in the same run, reading the responses' columns alone (`survey_response_columns`), so the
ratio is the cost of the statistics and the upsert relative to reading the rows. Prints one Markdown table row.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ancrage_bench .venv/bin/python bench/bench_needs_compute.py
"""

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "api.settings_test")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.db import connection  # noqa: E402


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=20_000)
    parser.add_argument("--items", type=int, default=60)
    args = parser.parse_args()
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from audiences import selectors
        from audiences.models import Need, Survey, SurveyItem, SurveyResponse
        from audiences.services import survey_needs_compute
        from offers.models import Audience, Domain, Territory, TerritoryKind
        from offers.services import taxonomy_load, territories_load_geojson

        territories_load_geojson()
        taxonomy_load()
        random = np.random.default_rng(13)
        audiences = list(Audience.objects.filter(code__in=["families", "retirees", "remote-workers"]))
        domain = Domain.objects.get(code="daily-life")
        communes = list(Territory.objects.filter(kind=TerritoryKind.COMMUNE).values_list("pk", flat=True))
        survey = Survey.objects.create(title="Bench", date=datetime.date(2025, 3, 1))
        survey.audiences.set(audiences)
        items = SurveyItem.objects.bulk_create(
            SurveyItem(survey=survey, code=f"q{index}", domain=domain, statement=f"Question {index}")
            for index in range(args.items)
        )
        audience_of = random.integers(0, len(audiences), args.respondents)
        commune_of = random.integers(0, len(communes), args.respondents)
        weight_of = np.round(random.lognormal(0.0, 0.5, args.respondents), 4)
        for item in items:
            importance = random.integers(1, 6, args.respondents)
            satisfaction = random.integers(0, 6, args.respondents)  # 0 = "Ne sait pas": no answer
            SurveyResponse.objects.bulk_create(
                (
                    SurveyResponse(
                        item=item,
                        respondent_id=f"r{respondent}",
                        audience_id=audiences[audience_of[respondent]].pk,
                        commune_id=communes[commune_of[respondent]],
                        importance=int(importance[respondent]),
                        satisfaction=int(satisfaction[respondent]) or None,
                        weight=float(weight_of[respondent]),
                    )
                    for respondent in range(args.respondents)
                ),
                batch_size=5000,
            )
        baseline = timed(lambda: selectors.survey_response_columns(survey=survey))
        first = timed(lambda: survey_needs_compute(survey=survey))
        needs = Need.objects.filter(survey_item__survey=survey).count()
        again = timed(lambda: survey_needs_compute(survey=survey))
        print(
            f"| {connection.vendor} | {args.respondents:,} x {args.items} = {args.respondents * args.items:,} "
            f"responses -> {needs:,} needs | read {baseline:.1f} s | first {first:.1f} s (x{first / baseline:.1f}) "
            f"| again {again:.1f} s (x{again / baseline:.1f}) | load {os.getloadavg()[0]:.1f} |"
        )
    finally:
        connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)


if __name__ == "__main__":
    main()
