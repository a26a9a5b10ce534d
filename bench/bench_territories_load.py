"""Benchmark of loading all of France (34,969 communes, 1,255 EPCIs, ~35,500 postal codes) with
territories_load_france: a load into empty territory tables, then a reload of the same files (which must change
nothing), medians of a few runs.

Runs in a throwaway test database (SQLite by default, PostgreSQL with DATABASE_URL). Prints the load average
(`uptime`) and a Markdown table row for docs/benchmarks.md.

    .venv/bin/python bench/bench_territories_load.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ancrage_bench .venv/bin/python bench/bench_territories_load.py
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


def territories_empty() -> None:
    """Empty the territory tables in two statements (a fresh database, without migrating one for each run)."""
    from offers.models import Territory, TerritoryPostalCode

    TerritoryPostalCode.objects.all()._raw_delete(connection.alias)
    Territory.objects.all()._raw_delete(connection.alias)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="Loads and reloads measured (median reported).")
    arguments = parser.parse_args()
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from offers.models import Territory, TerritoryPostalCode
        from offers.services import territories_load_france

        loads, reloads = [], []
        for _ in range(arguments.runs):
            territories_empty()
            start = time.perf_counter()
            report = territories_load_france(everything=True)
            loads.append(time.perf_counter() - start)
            assert report.created == Territory.objects.count(), report
            start = time.perf_counter()
            again = territories_load_france(everything=True)
            reloads.append(time.perf_counter() - start)
            assert (again.created, again.updated, again.retired) == (0, 0, 0), again
        uptime = subprocess.run(
            ["uptime"], capture_output=True, text=True, env={**os.environ, "TZ": "UTC"}
        ).stdout.strip()
        print(f"uptime: {uptime}")
        print(
            f"| {connection.vendor} | {Territory.objects.count():,} territories, "
            f"{TerritoryPostalCode.objects.count():,} postal codes | "
            f"{statistics.median(loads):.1f} s (min {min(loads):.1f}) | "
            f"{statistics.median(reloads):.1f} s (min {min(reloads):.1f}), 0 created, 0 updated |"
        )
    finally:
        connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)


if __name__ == "__main__":
    main()
