"""Celery tasks for photos: thin wrappers that declare their kind and queue and call a service."""

from jobs.registry import DEFAULT_QUEUE, RETRY_ON_DATABASE_BLIP, job_task

from .ingest.scrape import request_from_params, scrape

TASK_OPTIONS = RETRY_ON_DATABASE_BLIP


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
