"""The real worker path on PostgreSQL: `manage.py db_worker` processes score a run; a worker killed mid-chunk leaves
nothing half-written and the chunk is retried by another worker after its lease expires."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from matching import services
from matching.models import ChunkStatus, MatchingChunk, MatchingRun, NeedResult, RunStatus
from tests.matching.conftest import run_chunks

REPO = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip(
            "real db_worker processes need a database shared between processes: run with DATABASE_URL=postgres"
        )


def _worker_env(**extra) -> dict:
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


def _start_worker(env: dict) -> subprocess.Popen:
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


def _stop(*workers: subprocess.Popen) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def _wait(predicate, *, timeout: float, what: str, workers=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    errors = [worker.stderr.read().decode()[-2000:] for worker in workers if worker.poll() is not None]
    raise AssertionError(f"timed out waiting for {what}; dead workers said: {errors}")


def _results(run):
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
        for result in NeedResult.objects.filter(run=run).prefetch_related("matched_offers")
    )


def _finished(run_id):
    run = MatchingRun.objects.get(id=run_id)
    return run if run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED) else None


def test_two_real_workers_complete_a_run(catalogue, settings):
    settings.MATCHING_WATCHDOG_INTERVAL_SECONDS = 1
    run = services.run_start(launched_by=None, chunk_size=2)
    workers = [_start_worker(_worker_env()) for _ in range(2)]
    try:
        finished = _wait(lambda: _finished(run.id), timeout=180, what="the run to finish", workers=workers)
    finally:
        _stop(*workers)
    assert finished.status == RunStatus.SUCCEEDED, finished.error
    assert finished.needs_done == 5 and finished.chunks_done == 3
    reference = services.run_start(launched_by=None, chunk_size=100)
    run_chunks(reference)
    assert _results(finished) == _results(reference)


def test_killed_worker_is_replaced_and_results_equal_a_clean_run(catalogue, settings):
    settings.MATCHING_WATCHDOG_INTERVAL_SECONDS = 1
    # Each chunk sleeps 3 s while holding its lease (test-only setting); the lease is 6 + 1 s.
    run = services.run_start(launched_by=None, chunk_size=100, parameters={"chunk_time_limit_seconds": 6})
    chunk = MatchingChunk.objects.get(run=run)
    slow = _worker_env(MATCHING_TEST_CHUNK_DELAY_SECONDS=3)
    doomed = _start_worker(slow)
    try:
        _wait(
            lambda: MatchingChunk.objects.filter(id=chunk.id, status=ChunkStatus.RUNNING).exists(),
            timeout=60,
            what="the first worker to claim the chunk",
            workers=[doomed],
        )
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=10)
    finally:
        _stop(doomed)
    chunk.refresh_from_db()
    assert chunk.status == ChunkStatus.RUNNING and chunk.attempt == 1
    assert not NeedResult.objects.filter(run=run).exists()  # nothing half-written

    rescuer = _start_worker(slow)
    try:
        finished = _wait(lambda: _finished(run.id), timeout=120, what="the retried run to finish", workers=[rescuer])
    finally:
        _stop(rescuer)
    assert finished.status == RunStatus.SUCCEEDED, finished.error
    chunk.refresh_from_db()
    assert chunk.attempt == 2 and chunk.status == ChunkStatus.SUCCEEDED
    assert NeedResult.objects.filter(run=run).count() == 5
    clean = services.run_start(launched_by=None, chunk_size=100)
    run_chunks(clean)
    assert _results(finished) == _results(clean)
