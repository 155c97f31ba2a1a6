"""Running one job inside its Celery task, and recording how it ended. Tasks never call this directly:
`jobs.registry.job_task` wraps the work function, so the task is always passed (and retries are honest)."""

import logging
import traceback
from collections.abc import Callable

from django.utils import timezone

from .models import Job
from .progress import ProgressReporter

log = logging.getLogger(__name__)

# What a work function returns: a dict stored as the job's result. Optional keys the outcome reads:
#   "message"  - one line for the job page;
#   "errors"   - what went wrong along the way (a non-empty list means the job is not a clean success);
#   "achieved" - how many useful things it made (photos stored, vectors written); 0 with errors is a failure.
Work = Callable[[Job, ProgressReporter], dict | None]


def outcome_of(result: dict) -> str:
    """The finished status a result earns: nothing useful and errors is failed, some errors is partial."""
    errors = result.get("errors") or []
    if errors and result.get("achieved") == 0:
        return Job.Status.FAILED
    if errors:
        return Job.Status.PARTIAL
    return Job.Status.SUCCEEDED


def run_job(task, job_id: int, work: Work) -> Job:
    """Run `work(job, progress)` for a queued Job and record how it ended.

    A failure marks the Job failed with the error and re-raises, so Celery logs it. When the task's
    autoretry_for covers the error and retries are left, the Job goes back to queued, saying why, and the
    retry runs it again.
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
    except BaseException as exc:  # a soft time limit or a stop, too: the row must not stay "running"
        error = f"{type(exc).__name__}: {exc}"
        if _will_retry(task, exc):
            Job.objects.filter(pk=job.pk).update(status=Job.Status.QUEUED, message=f"Retrying after {error}")
        else:
            Job.objects.filter(pk=job.pk).update(
                status=Job.Status.FAILED,
                finished_at=timezone.now(),
                message=error,
                result={"traceback": traceback.format_exc(limit=8)},
            )
        raise
    done = Job.objects.get(pk=job.pk)
    status = outcome_of(result)
    Job.objects.filter(pk=job.pk).update(
        status=status,
        finished_at=timezone.now(),
        progress_done=max(done.progress_done, done.progress_total),
        result=result,
        message=result.get("message", done.message),
    )
    job.refresh_from_db()
    return job


def _will_retry(task, exc: BaseException) -> bool:
    retryable = tuple(getattr(task, "autoretry_for", ()) or ())
    return bool(retryable) and isinstance(exc, retryable) and task.request.retries < task.max_retries
