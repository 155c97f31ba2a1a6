"""The one place where job kinds are declared: each task says its kind, its label and its queue.

    @job_task("scrape", label="Scrape photos", queue=DEFAULT_QUEUE, soft_time_limit=3600)
    def scrape_photos(job, progress): ...

Routing goes through CELERY_TASK_ROUTES (`route_task` below), so `start_job` and any direct
`apply_async` land on the same queue. Apps find each other's jobs by kind, never by import.
"""

import functools
from dataclasses import dataclass

from celery import shared_task
from django.conf import settings
from django.db import OperationalError
from django.utils.module_loading import autodiscover_modules

from .runner import Work, run_job

# The retry policy every job shares: a database that went away for a moment is retried with backoff.
# ML jobs take fewer retries (see mlworker/tasks.py); classify takes none.
RETRY_ON_DATABASE_BLIP = {"autoretry_for": (OperationalError,), "max_retries": 3, "retry_backoff": True}

# Symbolic queues; their real names come from settings at send time (tests and deployments rename them).
DEFAULT_QUEUE = "default"
ML_QUEUE = "ml"
# Visitors' photos: short jobs of their own, so a classification never waits behind a training.
CLASSIFY_QUEUE = "classify"
QUEUE_SETTINGS = {
    DEFAULT_QUEUE: "CELERY_TASK_DEFAULT_QUEUE",
    ML_QUEUE: "CELERY_ML_QUEUE",
    CLASSIFY_QUEUE: "CELERY_CLASSIFY_QUEUE",
}


class UnknownJobKind(LookupError):
    pass


@dataclass(frozen=True)
class JobKind:
    kind: str
    label: str
    queue: str
    task: object  # the Celery task

    @property
    def task_name(self) -> str:
        return self.task.name


_by_kind: dict[str, JobKind] = {}
_by_task_name: dict[str, JobKind] = {}


def job_task(kind: str, *, label: str, queue: str = DEFAULT_QUEUE, **celery_options):
    """Make `work(job, progress) -> dict` a Celery task that runs it inside the Job row `job_id`."""
    if queue not in QUEUE_SETTINGS:
        raise ValueError(f"unknown queue {queue!r}")

    def decorate(work: Work):
        @shared_task(bind=True, name=f"{work.__module__}.{work.__name__}", **celery_options)
        @functools.wraps(work)
        def task(self, job_id: int) -> None:
            run_job(self, job_id, work)

        declared = JobKind(kind, label, queue, task)
        existing = _by_kind.get(kind)
        if existing and existing.task_name != declared.task_name:
            raise ValueError(
                f"job kind {kind!r} is declared twice: {existing.task_name}, {declared.task_name}"
            )
        _by_kind[kind] = declared
        _by_task_name[declared.task_name] = declared
        return task

    return decorate


def _load_all() -> None:
    # Kinds are declared when each app's tasks module is imported (as Celery's autodiscovery does).
    autodiscover_modules("tasks")


def kind(name: str) -> JobKind:
    if name not in _by_kind:
        _load_all()
    try:
        return _by_kind[name]
    except KeyError:
        raise UnknownJobKind(f"no job kind {name!r}; known: {', '.join(sorted(_by_kind))}") from None


def all_kinds() -> list[JobKind]:
    _load_all()
    return sorted(_by_kind.values(), key=lambda k: k.label)


def label_of(name: str) -> str:
    try:
        return kind(name).label
    except UnknownJobKind:
        return name


def queue_name(symbolic: str) -> str:
    return getattr(settings, QUEUE_SETTINGS[symbolic])


def route_task(name, args, kwargs, options, task=None, **kw):
    """Celery router (CELERY_TASK_ROUTES): a declared job task goes to its kind's queue."""
    declared = _by_task_name.get(name)
    if declared is None:
        return None  # the default queue
    return {"queue": queue_name(declared.queue)}
