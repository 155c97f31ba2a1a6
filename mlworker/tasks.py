"""Celery tasks: thin wrappers that run a service inside a Job. No TensorFlow at import time.

The ml tasks run on their own queue, served by one worker process that loads TensorFlow lazily, once.
"""

from celery import shared_task
from django.db import OperationalError

from cities.models import ModelVersion
from swipes.services import rescore_all_profiles

from . import modeling
from .models import Job
from .scraping import request_from_params, scrape
from .services import run_job

TASK_OPTIONS = {
    "autoretry_for": (OperationalError,),  # the database went away for a moment
    "max_retries": 3,
    "retry_backoff": True,
}
# ML jobs are long: they retry only when the database went away, and a rerun reuses the cached embeddings.
# acks_late is off so that a job that crashed the worker (out of memory, say) is not redelivered forever.
ML_TASK_OPTIONS = TASK_OPTIONS | {"max_retries": 2, "acks_late": False}


@shared_task(bind=True, soft_time_limit=30 * 60, time_limit=35 * 60, **TASK_OPTIONS)
def rescore_profiles(self, job_id: int) -> None:
    def work(job, progress):
        count = rescore_all_profiles(progress=progress)
        return {
            "profiles": count,
            "message": f"Recomputed the scores of {count} profiles from their swipe logs.",
        }

    run_job(job_id, work, task=self)


@shared_task(bind=True, soft_time_limit=4 * 3600, time_limit=4 * 3600 + 300, **ML_TASK_OPTIONS)
def train_model(self, job_id: int) -> None:
    run_job(
        job_id,
        lambda job, progress: modeling.train(modeling.TrainingOptions.from_params(job.params), progress),
    )


@shared_task(bind=True, soft_time_limit=3600, time_limit=3900, **ML_TASK_OPTIONS)
def predict_photos(self, job_id: int) -> None:
    def work(job, progress):
        version = ModelVersion.objects.get(pk=job.params["version"])
        result = modeling.predict_version(version, job.params.get("photo_ids"), progress)
        return result | {"message": f"Wrote {result['predicted']} probability vectors under {version}."}

    run_job(job_id, work, task=self)


@shared_task(bind=True, soft_time_limit=3600, time_limit=3900, **ML_TASK_OPTIONS)
def activate_model(self, job_id: int) -> None:
    run_job(
        job_id,
        lambda job, progress: modeling.activate_version(
            ModelVersion.objects.get(pk=job.params["version"]), progress
        ),
        task=self,
    )


@shared_task(bind=True, soft_time_limit=120, time_limit=150, **ML_TASK_OPTIONS)
def classify_photo(self, job_id: int) -> None:
    def work(job, progress):
        from pathlib import Path

        from django.conf import settings

        path = Path(settings.MEDIA_ROOT) / job.params["path"]
        try:
            (top,) = modeling.classify_paths([str(path)], k=job.params.get("k", 5))
        finally:
            path.unlink(missing_ok=True)  # visitors' photos are not kept
        return {
            "top": [
                {"slug": c.slug, "name": c.name, "country": c.country, "percent": round(100 * p, 2)}
                for c, p in top
            ],
            "message": f"Looks most like {top[0][0].name}.",
        }

    run_job(job_id, work, task=self)


# Downloads, not models: the default queue. The hard limit is the backstop for a hung download.
@shared_task(bind=True, soft_time_limit=60 * 60, time_limit=65 * 60, **TASK_OPTIONS)
def scrape_photos(self, job_id: int) -> None:
    def work(job, progress):
        return scrape(request_from_params(job.params), progress=progress).as_result()

    run_job(job_id, work, task=self)


TASKS_BY_KIND = {
    Job.Kind.RESCORE: rescore_profiles,
    Job.Kind.SCRAPE: scrape_photos,
    Job.Kind.TRAIN: train_model,
    Job.Kind.PREDICT: predict_photos,
    Job.Kind.ACTIVATE: activate_model,
    Job.Kind.CLASSIFY: classify_photo,
}
ML_KINDS = {Job.Kind.TRAIN, Job.Kind.PREDICT, Job.Kind.ACTIVATE, Job.Kind.CLASSIFY}
