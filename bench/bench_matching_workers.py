"""Throughput of a matching run with 1 and with 2 real `db_worker` processes on PostgreSQL; prints one JSON line.

Needs a throwaway PostgreSQL database (it is migrated and filled with bench data; the command refuses a database
holding other offers or needs):

    createdb -h 127.0.0.1 -U postgres ancrage_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ancrage_bench .venv/bin/python bench/bench_matching_workers.py \
        --offers 10000 --needs 2000 --repeat 3

Each measurement starts fresh workers, warms them with a small run (each worker fits its own offer index, as a
long-lived worker of `make run` has), then times a full run from its first claim to its last write.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "api.settings_test")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from matching import services  # noqa: E402
from matching.models import MatchingRun, RunStatus  # noqa: E402


def _workers(count: int) -> list[subprocess.Popen]:
    env = {**os.environ, "DJANGO_LOG_LEVEL": "WARNING"}
    command = [sys.executable, "manage.py", "db_worker", "--queue-name", "*", "--interval", "0.2", "--no-reload"]
    return [subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL) for _ in range(count)]


def _stop(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait(timeout=60)


def _wait(run_id, timeout: float = 7200) -> MatchingRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = MatchingRun.objects.get(id=run_id)
        if run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED):
            return run
        time.sleep(0.5)
    raise TimeoutError(f"run {run_id} did not finish")


def _measure(count: int, needs: int, chunk_size: int) -> float:
    workers = _workers(count)
    try:
        warm = services.run_start(launched_by=None, chunk_size=max(1, needs // 40))
        assert _wait(warm.id).status == RunStatus.SUCCEEDED
        run = _wait(services.run_start(launched_by=None, chunk_size=chunk_size).id)
        assert run.status == RunStatus.SUCCEEDED, run.error
        return (run.finished_at - run.started_at).total_seconds()
    finally:
        _stop(workers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=10_000)
    parser.add_argument("--needs", type=int, default=2_000)
    parser.add_argument("--chunk-size", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to a throwaway PostgreSQL database.")
    call_command("migrate", verbosity=0)
    call_command("bench_matching", offers=args.offers, needs=args.needs, generate_only=True, reuse=True)
    seconds = {1: [], 2: []}
    for _ in range(args.repeat):
        for count in (1, 2):  # interleaved, so drifting machine load hits both alike
            seconds[count].append(_measure(count, args.needs, args.chunk_size))
    one, two = statistics.median(seconds[1]), statistics.median(seconds[2])
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
            }
        )
    )


if __name__ == "__main__":
    main()
