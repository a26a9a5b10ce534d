"""The real worker path on PostgreSQL: `manage.py db_worker` processes score a run; a worker killed mid-chunk leaves
nothing half-written and the chunk is retried by another worker after its lease expires, until the run's attempts
are used up, when the run fails with the reason."""

import pytest

from matching import services
from matching.models import ChunkStatus, MatchingChunk, NeedResult, RunStatus
from tests.matching.conftest import run_chunks
from tests.matching.workers import (
    finished,
    kill,
    require_postgres,
    result_rows,
    start_worker,
    stop,
    wait_for,
    worker_env,
)

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def _postgres_only():
    require_postgres()


def test_two_real_workers_complete_a_run(catalogue, settings):
    settings.MATCHING_WATCHDOG_INTERVAL_SECONDS = 1
    run = services.run_start(launched_by=None, chunk_size=2)
    workers = [start_worker(worker_env()) for _ in range(2)]
    try:
        done = wait_for(lambda: finished(run.id), timeout=180, what="the run to finish", workers=workers)
    finally:
        stop(*workers)
    assert done.status == RunStatus.SUCCEEDED, done.error
    assert done.needs_done == 5 and done.chunks_done == 3
    reference = services.run_start(launched_by=None, chunk_size=100)
    run_chunks(reference)
    assert result_rows(done) == result_rows(reference)


def _kill_while_running(chunk, *, attempt: int, env: dict) -> None:
    """Start a worker, wait until it holds `chunk` (its `attempt`-th attempt), and SIGKILL it."""
    doomed = start_worker(env)
    try:
        wait_for(
            lambda: MatchingChunk.objects.filter(id=chunk.id, status=ChunkStatus.RUNNING, attempt=attempt).exists(),
            timeout=60,
            what=f"a worker to claim attempt {attempt} of the chunk",
            workers=[doomed],
        )
        kill(doomed)
    finally:
        stop(doomed)
    chunk.refresh_from_db()
    assert chunk.status == ChunkStatus.RUNNING and chunk.attempt == attempt
    assert not NeedResult.objects.filter(run=chunk.run_id).exists()  # nothing half-written


def test_killed_worker_is_replaced_and_results_equal_a_clean_run(catalogue, settings):
    settings.MATCHING_WATCHDOG_INTERVAL_SECONDS = 1
    # Each chunk sleeps 3 s while holding its lease (test-only setting); the lease is 6 + 1 s.
    run = services.run_start(launched_by=None, chunk_size=100, parameters={"chunk_time_limit_seconds": 6})
    chunk = MatchingChunk.objects.get(run=run)
    slow = worker_env(MATCHING_TEST_CHUNK_DELAY_SECONDS=3)
    _kill_while_running(chunk, attempt=1, env=slow)

    rescuer = start_worker(slow)
    try:
        done = wait_for(lambda: finished(run.id), timeout=120, what="the retried run to finish", workers=[rescuer])
    finally:
        stop(rescuer)
    assert done.status == RunStatus.SUCCEEDED, done.error
    chunk.refresh_from_db()
    assert chunk.attempt == 2 and chunk.status == ChunkStatus.SUCCEEDED
    assert NeedResult.objects.filter(run=run).count() == 5
    assert done.needs_done == done.needs_total == 5
    clean = services.run_start(launched_by=None, chunk_size=100)
    run_chunks(clean)
    assert result_rows(done) == result_rows(clean)


def test_worker_killed_on_every_attempt_fails_the_run_with_the_reason(catalogue, settings):
    settings.MATCHING_WATCHDOG_INTERVAL_SECONDS = 1
    # Two attempts, each killed while it holds the chunk; the watchdog of a third worker must then give up.
    run = services.run_start(
        launched_by=None, chunk_size=100, parameters={"chunk_time_limit_seconds": 6, "max_attempts": 2}
    )
    chunk = MatchingChunk.objects.get(run=run)
    slow = worker_env(MATCHING_TEST_CHUNK_DELAY_SECONDS=3)
    _kill_while_running(chunk, attempt=1, env=slow)
    _kill_while_running(chunk, attempt=2, env=slow)

    watchdog = start_worker(worker_env())
    try:
        done = wait_for(lambda: finished(run.id), timeout=120, what="the run to fail", workers=[watchdog])
    finally:
        stop(watchdog)
    assert done.status == RunStatus.FAILED
    assert "Le processus de calcul du lot n°0 ne répond plus" in done.error, done.error
    assert "Abandon après 2 tentatives" in done.error, done.error
    assert done.finished_at is not None
    chunk.refresh_from_db()
    assert (chunk.status, chunk.attempt) == (ChunkStatus.FAILED, 2)
    assert "ne répond plus" in chunk.error
    assert done.needs_done == 0 and done.chunks_done == 0
    assert not NeedResult.objects.filter(run=run).exists()  # never half-written
