"""Celery tasks: thin wrappers that run a service inside a Job. No TensorFlow at import time."""

from celery import shared_task
from django.db import OperationalError

from swipes.services import rescore_all_profiles

from .models import Job
from .scraping import request_from_params, scrape
from .services import run_job

TASK_OPTIONS = {
    "autoretry_for": (OperationalError,),  # the database went away for a moment
    "max_retries": 3,
    "retry_backoff": True,
}


@shared_task(soft_time_limit=30 * 60, time_limit=35 * 60, **TASK_OPTIONS)
def rescore_profiles(job_id: int) -> None:
    def work(job, progress):
        count = rescore_all_profiles(progress=progress)
        return {
            "profiles": count,
            "message": f"Recomputed the scores of {count} profiles from their swipe logs.",
        }

    run_job(job_id, work)


# Downloads, not models: the default queue. The hard limit is the backstop for a hung download.
@shared_task(soft_time_limit=60 * 60, time_limit=65 * 60, **TASK_OPTIONS)
def scrape_photos(job_id: int) -> None:
    def work(job, progress):
        return scrape(request_from_params(job.params), progress=progress).as_result()

    run_job(job_id, work)


TASKS_BY_KIND = {Job.Kind.RESCORE: rescore_profiles, Job.Kind.SCRAPE: scrape_photos}
