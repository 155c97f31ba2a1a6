"""Celery tasks for photos: thin wrappers that declare their kind and queue and call a service."""

from django.db import OperationalError

from jobs.registry import DEFAULT_QUEUE, job_task

from .ingest.scrape import request_from_params, scrape

TASK_OPTIONS = {"autoretry_for": (OperationalError,), "max_retries": 3, "retry_backoff": True}


# Downloads, not models: the default queue. The hard limit is the backstop for a hung download.
@job_task(
    "scrape",
    label="Scrape photos",
    queue=DEFAULT_QUEUE,
    soft_time_limit=60 * 60,
    time_limit=65 * 60,
    **TASK_OPTIONS,
)
def scrape_photos(job, progress):
    return scrape(request_from_params(job.params), progress=progress).as_result()
