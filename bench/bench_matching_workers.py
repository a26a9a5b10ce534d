"""Throughput of a matching run with 1 and with 2 real `db_worker` processes; prints a Markdown table (medians, the
speedup, the load average of each measurement: the figure means something only on an idle machine) and one JSON line.

Needs a throwaway database, PostgreSQL or a SQLite file (it is migrated and filled with bench data; refused when it
holds other offers or needs):

    createdb -h 127.0.0.1 -U postgres ancrage_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ancrage_bench .venv/bin/python bench/bench_matching_workers.py \
        --offers 10000 --needs 2000 --repeat 3
    DATABASE_URL=sqlite:////tmp/ancrage_bench.sqlite3 .venv/bin/python bench/bench_matching_workers.py ...

Each measurement starts fresh workers, warms them with a small run (each worker loads its own offer index, as a
long-lived worker of `make run` has), then times a full run from its first claim to its last write.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "api.settings_test")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from bench.service import database_prepare, load_average, stop_processes, warm_scope, workers_start  # noqa: E402
from matching import services  # noqa: E402
from matching.models import MatchingRun, RunStatus  # noqa: E402
from offers.models import Territory  # noqa: E402


def _wait(run_id, timeout: float = 7200) -> MatchingRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = MatchingRun.objects.get(id=run_id)
        if run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED):
            return run
        time.sleep(0.5)
    raise TimeoutError(f"run {run_id} did not finish")


def _measure(count: int, chunk_size: int) -> tuple[float, str]:
    """(seconds of a full run with `count` workers, the load average when it ended)."""
    workers = workers_start(count)
    try:
        scope = warm_scope()
        warm = services.run_start(
            launched_by=None,
            scope_territory=Territory.objects.get(kind="commune", code=scope["scope_territory"]),
            scope_audiences=scope["scope_audiences"],
            chunk_size=5,
        )
        assert _wait(warm.id).status == RunStatus.SUCCEEDED
        run = _wait(services.run_start(launched_by=None, chunk_size=chunk_size).id)
        assert run.status == RunStatus.SUCCEEDED, run.error
        return (run.finished_at - run.started_at).total_seconds(), load_average()
    finally:
        stop_processes(workers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=10_000)
    parser.add_argument("--needs", type=int, default=2_000)
    parser.add_argument("--chunk-size", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    database_prepare(offers=args.offers, needs=args.needs)
    seconds, loads = {1: [], 2: []}, {1: [], 2: []}
    for _ in range(args.repeat):
        for count in (1, 2):  # interleaved, so drifting machine load hits both alike
            value, load = _measure(count, args.chunk_size)
            seconds[count].append(value)
            loads[count].append(load)
    one, two = statistics.median(seconds[1]), statistics.median(seconds[2])
    print(
        f"\nMatching run with 1 and 2 db_workers: {args.offers:,} offers, {args.needs:,} needs, chunks of "
        f"{args.chunk_size}, {connection.vendor}, {os.cpu_count()} CPUs\n"
    )
    print("| workers | run seconds (each) | median (s) | speedup | load average 1/5/15 min at each end |")
    print("|---|---|---|---|---|")
    for count, median in ((1, one), (2, two)):
        each = ", ".join(f"{value:.2f}" for value in seconds[count])
        speedup = "1.00x" if count == 1 else f"**{one / two:.2f}x**"
        print(f"| {count} | {each} | {median:.2f} | {speedup} | {'; '.join(loads[count])} |")
    print(f"\nLoad average now: {load_average()} (the figure is meaningful only on an idle machine).\n")
    print(
        json.dumps(
            {
                "offers": args.offers,
                "needs": args.needs,
                "chunk_size": args.chunk_size,
                "one_worker_seconds": [round(value, 2) for value in seconds[1]],
                "two_workers_seconds": [round(value, 2) for value in seconds[2]],
                "median_one": round(one, 2),
                "median_two": round(two, 2),
                "speedup": round(one / two, 3),
                "cpus": os.cpu_count(),
                "load_average": os.getloadavg(),
                "database": connection.vendor,
            }
        )
    )


if __name__ == "__main__":
    main()
