"""Background tasks of matching runs (Django tasks API, durable database queue): each only calls its service.

The services are imported inside the tasks: the services import this module to enqueue, so the dependency reads one
way (services -> tasks) at import time.
"""

from django_tasks import task


@task()
def chunk_score_task(chunk_id: int) -> str:
    from matching.services import chunk_score

    return chunk_score(chunk_id=chunk_id)


@task()
def run_watchdog_task(run_id: str) -> dict:
    from matching.services import run_watch

    return run_watch(run_id=run_id)


@task()
def offer_embeddings_task(offer_ids: list[int] | None = None) -> dict:
    """Encode the offers whose semantic vector is missing or stale (all offers when `offer_ids` is None)."""
    from matching.services.embeddings import offer_embeddings_refresh

    return offer_embeddings_refresh(offer_ids=offer_ids)
