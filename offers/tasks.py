"""Background tasks of the offers app (Django tasks API, durable database queue): each only calls its service.

The service is imported inside the task: offers.services.sources imports this module to enqueue, so the dependency
reads one way (services -> tasks) at import time.
"""

from django_tasks import task


@task()
def source_sync_task(sync_id: int) -> dict:
    from offers.services.sources import source_sync_run

    return source_sync_run(sync_id=sync_id)
