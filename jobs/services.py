"""Starting jobs and keeping their rows truthful. The admin and views call `start_job`."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import registry
from .models import Job

log = logging.getLogger(__name__)

BROKER_DOWN = "Could not hand the job to the job queue ({error}). Is the broker running? Start the job again."
WORKER_DIED = "The worker stopped reporting progress (it was killed or crashed)."
NEVER_PICKED_UP = (
    "No worker picked the job up for {hours} hours (the message was lost, or no worker serves its queue). "
    "Start it again."
)


def start_job(kind: str, *, user=None, params: dict | None = None) -> Job:
    """Create a queued Job of a declared kind and send its task once the surrounding transaction commits.

    The queue comes from the registry's router. If the broker cannot be reached the Job says so and ends
    failed, instead of staying "queued" for ever.
    """
    declared = registry.kind(kind)  # an unknown kind fails here, before a row exists
    job = Job.objects.create(
        kind=kind, params=params or {}, created_by=user if user and user.is_authenticated else None
    )

    def send():
        try:
            result = declared.task.apply_async(args=[job.pk])
        except Exception as exc:  # kombu's OperationalError, a refused connection, a DNS failure...
            log.exception("could not send job %s", job.pk)
            Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(
                status=Job.Status.FAILED, finished_at=timezone.now(), message=BROKER_DOWN.format(error=exc)
            )
            return
        Job.objects.filter(pk=job.pk).update(celery_task_id=result.id or "")

    transaction.on_commit(send)
    return job


def sweep_stale_jobs(now=None, job_id: int | None = None) -> int:
    """Jobs left running by a worker that died (no heartbeat for JOB_STALE_AFTER_SECONDS), or left queued
    for JOB_QUEUED_GIVE_UP_AFTER_SECONDS, end failed. Returns how many.

    Runs every minute on the beat schedule, and whenever a job page or the job list is read (a job's own
    page sweeps only that job), so a page never shows "Running" for a dead worker even where no beat runs.
    """
    now = now or timezone.now()
    jobs = Job.objects.all() if job_id is None else Job.objects.filter(pk=job_id)
    running_cutoff = now - timedelta(seconds=settings.JOB_STALE_AFTER_SECONDS)
    queued_for = settings.JOB_QUEUED_GIVE_UP_AFTER_SECONDS
    dead = jobs.filter(status=Job.Status.RUNNING, heartbeat_at__lt=running_cutoff).update(
        status=Job.Status.FAILED, finished_at=now, message=WORKER_DIED
    )
    lost = jobs.filter(status=Job.Status.QUEUED, created_at__lt=now - timedelta(seconds=queued_for)).update(
        status=Job.Status.FAILED,
        finished_at=now,
        message=NEVER_PICKED_UP.format(hours=round(queued_for / 3600)),
    )
    return dead + lost


def running_or_queued(kind: str) -> bool:
    return Job.objects.filter(kind=kind, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).exists()
