"""Starting jobs and reporting their progress. Tasks call `run_job`; the admin and views call `start_job`."""

import logging
import traceback
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import Job

log = logging.getLogger(__name__)

# Progress writes are throttled: at most one UPDATE per this many seconds (plus the first and last).
PROGRESS_INTERVAL_SECONDS = 0.5


def start_job(kind: str, *, user=None, params: dict | None = None) -> Job:
    """Create a queued Job and send its task once the surrounding transaction commits."""
    from .tasks import TASKS_BY_KIND  # tasks import services; import here to avoid a cycle

    task = TASKS_BY_KIND[kind]
    job = Job.objects.create(
        kind=kind, params=params or {}, created_by=user if user and user.is_authenticated else None
    )

    def send():
        result = task.apply_async(args=[job.pk])
        Job.objects.filter(pk=job.pk).update(celery_task_id=result.id or "")

    transaction.on_commit(send)
    return job


class ProgressReporter:
    """Passed to services as `progress(done, total, message="")`; writes to the Job row, throttled."""

    def __init__(self, job_id: int):
        self.job_id = job_id
        self._last_write = 0.0

    def __call__(self, done: int, total: int, message: str = "") -> None:
        now = timezone.now()
        stamp = now.timestamp()
        if done < total and stamp - self._last_write < PROGRESS_INTERVAL_SECONDS:
            return
        self._last_write = stamp
        fields = {"progress_done": done, "progress_total": total, "heartbeat_at": now}
        if message:
            fields["message"] = message
        Job.objects.filter(pk=self.job_id).update(**fields)


def run_job(job_id: int, work: Callable[[Job, ProgressReporter], dict | None]) -> Job:
    """Run `work(job, progress)` for a queued Job and record how it ended.

    A failure marks the Job failed with the error and re-raises, so Celery logs it too.
    """
    job = Job.objects.get(pk=job_id)
    if job.is_finished:
        log.warning("job %s already %s; not running it again", job.pk, job.status)
        return job
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, started_at=now, heartbeat_at=now)
    job.refresh_from_db()
    try:
        result = work(job, ProgressReporter(job.pk)) or {}
    except Exception as exc:
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.FAILED,
            finished_at=timezone.now(),
            message=f"{type(exc).__name__}: {exc}",
            result={"traceback": traceback.format_exc(limit=8)},
        )
        raise
    done = Job.objects.get(pk=job.pk)
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.SUCCEEDED,
        finished_at=timezone.now(),
        progress_done=max(done.progress_done, done.progress_total),
        result=result,
        message=result.get("message", done.message),
    )
    job.refresh_from_db()
    return job


def fail_stale_jobs(now=None) -> int:
    """Jobs left running by a worker that died (no heartbeat for a while) are marked failed."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.JOB_STALE_AFTER_SECONDS)
    return Job.objects.filter(status=Job.Status.RUNNING, heartbeat_at__lt=cutoff).update(
        status=Job.Status.FAILED,
        finished_at=now,
        message="The worker stopped reporting progress (it was killed or crashed).",
    )
