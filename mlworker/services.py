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
    from .tasks import ML_KINDS, TASKS_BY_KIND  # tasks import services; import here to avoid a cycle

    task = TASKS_BY_KIND[kind]
    # Read at call time (not import time), so tests and deployments can point queues elsewhere.
    queue = settings.CELERY_ML_QUEUE if kind in ML_KINDS else settings.CELERY_TASK_DEFAULT_QUEUE
    job = Job.objects.create(
        kind=kind, params=params or {}, created_by=user if user and user.is_authenticated else None
    )

    def send():
        result = task.apply_async(args=[job.pk], queue=queue)
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


def run_job(job_id: int, work: Callable[[Job, ProgressReporter], dict | None], task=None) -> Job:
    """Run `work(job, progress)` for a queued Job and record how it ended.

    A failure marks the Job failed with the error and re-raises, so Celery logs it (and retries it when
    the task's autoretry_for covers the error: then the Job goes back to queued, saying why).
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
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.SUCCEEDED,
        finished_at=timezone.now(),
        progress_done=max(done.progress_done, done.progress_total),
        result=result,
        message=result.get("message", done.message),
    )
    job.refresh_from_db()
    return job


def _will_retry(task, exc: Exception) -> bool:
    if task is None:
        return False
    retryable = tuple(getattr(task, "autoretry_for", ()) or ())
    return isinstance(exc, retryable) and task.request.retries < task.max_retries


def fail_stale_jobs(now=None) -> int:
    """Jobs left running by a worker that died (no heartbeat for a while) are marked failed."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.JOB_STALE_AFTER_SECONDS)
    return Job.objects.filter(status=Job.Status.RUNNING, heartbeat_at__lt=cutoff).update(
        status=Job.Status.FAILED,
        finished_at=now,
        message="The worker stopped reporting progress (it was killed or crashed).",
    )


def start_classification(visitor: str, image) -> Job:
    """Store a visitor's validated photo where the ml worker can read it, and queue its classification.

    `image` is a cities.ingest.ValidImage. The worker deletes the file once it has classified it.
    """
    import uuid
    from pathlib import Path

    relative = Path("classify") / f"{uuid.uuid4().hex}.jpg"
    target = Path(settings.MEDIA_ROOT) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    image.image.save(target, format="JPEG", quality=90)
    return start_job(Job.Kind.CLASSIFY, params={"path": str(relative), "visitor": visitor, "k": 5})
