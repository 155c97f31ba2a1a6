"""The periodic sweep (CELERY_BEAT_SCHEDULE). It is housekeeping, not a Job: it has no row of its own."""

from celery import shared_task

from .services import sweep_stale_jobs


@shared_task(name="jobs.sweep_stale_jobs", ignore_result=True)
def sweep_stale_jobs_task() -> int:
    return sweep_stale_jobs()
