"""Helpers of the tests that start real `manage.py db_worker` processes against the test database (PostgreSQL):
their environment, starting and stopping them, waiting for a run, and a run's results in comparable form."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection

from matching.models import MatchingRun, NeedResult, RunStatus
from tests.conftest import require_service

REPO = Path(__file__).resolve().parents[2]


def require_postgres() -> None:
    require_service(
        "PostgreSQL",
        available=connection.vendor == "postgresql",
        how="real db_worker processes need a database shared between processes: run with DATABASE_URL=postgres",
    )


def worker_env(**extra) -> dict:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "api.settings_test",
        "MATCHING_WATCHDOG_INTERVAL_SECONDS": "1",
        "MATCHING_LEASE_MARGIN_SECONDS": "1",
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    env.update({key: str(value) for key, value in extra.items()})
    return env


def start_worker(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--queue-name",
            "*",
            "--interval",
            "0.2",
            "--no-reload",
            "--no-startup-delay",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def stop(*workers: subprocess.Popen) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def kill(worker: subprocess.Popen) -> None:
    """SIGKILL: the worker gets no chance to clean up, as when its machine dies."""
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)


def wait_for(predicate, *, timeout: float, what: str, workers=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    errors = [worker.stderr.read().decode()[-2000:] for worker in workers if worker.poll() is not None]
    raise AssertionError(f"timed out waiting for {what}; dead workers said: {errors}")


def result_rows(run, *, need_ids=None):
    """A run's per-need results without ids or times, sorted by need: equal for two runs that scored the same."""
    results = NeedResult.objects.filter(run=run).prefetch_related("matched_offers")
    if need_ids is not None:
        results = results.filter(need_id__in=need_ids)
    return sorted(
        (
            result.need_id,
            result.recommendation,
            round(result.coverage, 12),
            round(result.gap, 12),
            result.reasons,
            result.ipa_quadrant,
            [(offer.offer_id, round(offer.score, 12)) for offer in result.matched_offers.order_by("rank")],
        )
        for result in results
    )


def finished(run_id):
    run = MatchingRun.objects.get(id=run_id)
    return run if run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED) else None
