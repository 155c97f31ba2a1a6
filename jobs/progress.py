"""Progress reports from a running job to its row, throttled so a tight loop does not hammer the database."""

from django.utils import timezone

from .models import Job

# At most one UPDATE per this many seconds (plus the first and the last).
PROGRESS_INTERVAL_SECONDS = 0.5


class ProgressReporter:
    """Passed to services as `progress(done, total, message="")`; it also serves as the job's heartbeat."""

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
