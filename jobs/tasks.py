"""Housekeeping on the beat schedule (CELERY_BEAT_SCHEDULE). It is not a Job: it has no row of its own."""

from importlib import import_module

from celery import shared_task
from django.conf import settings

from .services import sweep_stale_jobs


@shared_task(name="jobs.sweep_stale_jobs", ignore_result=True)
def sweep_stale_jobs_task() -> int:
    return sweep_stale_jobs()


@shared_task(name="jobs.clear_expired_sessions", ignore_result=True)
def clear_expired_sessions_task() -> None:
    """Server-side sessions outlive their cookies as rows; Django leaves removing them to the site
    (this is `manage.py clearsessions`)."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
