"""Reads for job pages: one summary that the status block, the admin list and the change page all show."""

from . import registry
from .models import Job

STATUS_TONE = {
    Job.Status.QUEUED: "waiting",
    Job.Status.RUNNING: "working",
    Job.Status.SUCCEEDED: "good",
    Job.Status.PARTIAL: "warning",
    Job.Status.FAILED: "bad",
}


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "not started"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def job_summary(job: Job) -> dict:
    duration = job.duration
    return {
        "job": job,
        "label": registry.label_of(job.kind),
        "tone": STATUS_TONE[job.status],
        "duration": format_duration(duration.total_seconds() if duration is not None else None),
        "errors": (job.result or {}).get("errors") or [],
    }
