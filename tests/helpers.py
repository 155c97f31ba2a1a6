"""Shared test helpers: running queued jobs the way a worker would (through Celery's `.apply()`)."""

from jobs import registry
from jobs.models import Job


def run_queued_jobs(kind: str | None = None, *, rounds: int = 5) -> list[Job]:
    """Run every queued job (of `kind`, or all) in this process with its real task, as the worker would,
    including the jobs those jobs queue (up to `rounds` deep). Returns the finished jobs, oldest first.

    Tests that run in a transaction never send jobs to the broker (Django runs on_commit callbacks only
    after a real commit), so this is how they see a job's effect without a worker process.
    """
    finished: list[Job] = []
    for _ in range(rounds):
        queued = Job.objects.filter(status=Job.Status.QUEUED).order_by("pk")
        if kind is not None:
            queued = queued.filter(kind=kind)
        batch = list(queued)
        if not batch:
            break
        for job in batch:
            registry.kind(job.kind).task.apply(args=[job.pk])
            job.refresh_from_db()
            finished.append(job)
    return finished
