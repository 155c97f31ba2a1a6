"""Celery tasks for the swipe loop: thin wrappers that declare their kind and queue and call a service."""

from celery import shared_task
from django.db import OperationalError

from jobs.registry import DEFAULT_QUEUE, job_task

from .profiles import remove_empty_anonymous_profiles
from .services import rescore_all_profiles

TASK_OPTIONS = {"autoretry_for": (OperationalError,), "max_retries": 3, "retry_backoff": True}


@job_task(
    "rescore",
    label="Recompute profile scores",
    queue=DEFAULT_QUEUE,
    soft_time_limit=30 * 60,
    time_limit=35 * 60,
    **TASK_OPTIONS,
)
def rescore_profiles(job, progress):
    count = rescore_all_profiles(progress=progress)
    return {"profiles": count, "message": f"Recomputed the scores of {count} profiles from their swipe logs."}


@shared_task(name="swipes.remove_empty_anonymous_profiles")
def remove_empty_anonymous_profiles_task() -> int:
    """Housekeeping on the beat schedule (not a Job: nobody waits for it)."""
    return remove_empty_anonymous_profiles()
