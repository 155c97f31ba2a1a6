"""One row per Celery job. The app knows no job kinds itself: each app's tasks declare theirs in the
registry (jobs.registry), so `jobs` depends on no other app."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Job(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        # It ran to the end, but part of the work went wrong (some downloads failed, say).
        PARTIAL = "partial", "Finished with errors"
        FAILED = "failed", "Failed"

    FINISHED = (Status.SUCCEEDED, Status.PARTIAL, Status.FAILED)

    kind = models.CharField(max_length=20, help_text="A kind declared in jobs.registry.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    celery_task_id = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        # No status here: the admin's title and breadcrumbs show this, and they do not refresh while it runs.
        return f"Job #{self.pk} ({self.kind})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def percent(self) -> int:
        if self.is_finished and self.status != self.Status.FAILED:
            return 100
        if not self.progress_total:
            return 100 if self.status == self.Status.FAILED else 0  # a red bar, not an empty one
        return min(100, round(100 * self.progress_done / self.progress_total))

    @property
    def duration(self):
        """Time spent so far: to the end for a finished job, to now for a running one."""
        if not self.started_at:
            return None
        end = self.finished_at or (timezone.now() if self.status == self.Status.RUNNING else self.started_at)
        return end - self.started_at
