"""Background tasks of matching runs (Django tasks API, durable database queue): each only calls its service."""

from django_tasks import task

from matching import services


@task()
def chunk_score_task(chunk_id: int) -> str:
    return services.chunk_score(chunk_id=chunk_id)


@task()
def run_watchdog_task(run_id: str) -> dict:
    return services.run_watch(run_id=run_id)
