"""Enqueueing the tasks of a run: its chunks and its watchdog (services import the tasks, tasks import services inside
their functions, so the dependency reads one way)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from matching.models import MatchingChunk
from matching.tasks import chunk_score_task, run_watchdog_task


def tasks_are_transactional() -> bool:
    """The database queue writes its task rows with ours, so enqueueing inside the transaction is atomic."""
    return settings.TASKS["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend"


def chunk_enqueue(chunk: MatchingChunk) -> None:
    """Queue the task that scores `chunk` (with the database queue, recording its task id on the chunk)."""
    if tasks_are_transactional():
        result = chunk_score_task.enqueue(chunk.id)
        MatchingChunk.objects.filter(id=chunk.id).update(task_id=str(result.id))
        chunk.task_id = str(result.id)
    else:
        transaction.on_commit(lambda: chunk_score_task.enqueue(chunk.id))


def run_watchdog_enqueue(run_id: Any, *, delay_seconds: float | None = None) -> None:
    """Queue the run's watchdog to look at it after `delay_seconds` (default: the watchdog interval)."""
    delay = settings.MATCHING_WATCHDOG_INTERVAL_SECONDS if delay_seconds is None else delay_seconds
    if not tasks_are_transactional():
        return  # Only the durable queue can defer; with the immediate backend nothing can die half-way.
    run_watchdog_task.using(run_after=timezone.now() + timedelta(seconds=delay)).enqueue(str(run_id))
