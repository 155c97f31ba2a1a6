"""Celery tasks for models: thin wrappers that declare their kind and queue and call a service.

They run on the ml queue, served by one worker process that loads TensorFlow lazily, once; visitors'
classifications on the classify queue, so they never wait behind a training. Nothing here imports
TensorFlow at import time.
"""

from celery import shared_task

from jobs.registry import CLASSIFY_QUEUE, ML_QUEUE, RETRY_ON_DATABASE_BLIP, job_task

from . import services, training
from .models import ModelVersion

# ML jobs are long: they retry only when the database went away, and a rerun reuses the cached embeddings.
# acks_late is off so that a job that crashed the worker (out of memory, say) is not redelivered forever.
ML_TASK_OPTIONS = RETRY_ON_DATABASE_BLIP | {"max_retries": 2, "acks_late": False}


@job_task(
    "train",
    label="Train model",
    queue=ML_QUEUE,
    soft_time_limit=4 * 3600,
    time_limit=4 * 3600 + 300,
    **ML_TASK_OPTIONS,
)
def train_model(job, progress):
    return training.train(training.TrainingOptions.from_params(job.params), progress, job_id=job.pk)


@job_task(
    "predict", label="Run inference", queue=ML_QUEUE, soft_time_limit=3600, time_limit=3900, **ML_TASK_OPTIONS
)
def predict_photos(job, progress):
    """With a version: (re)predict its photos. Without: the photos just added, under the active model."""
    if "version" not in job.params:
        return services.predict_new_photos(job.params["photo_ids"], progress)
    version = ModelVersion.objects.get(pk=job.params["version"])
    return services.predict_version(version, job.params.get("photo_ids"), progress)


@job_task(
    "activate",
    label="Activate model",
    queue=ML_QUEUE,
    soft_time_limit=3600,
    time_limit=3900,
    **ML_TASK_OPTIONS,
)
def activate_model(job, progress):
    return services.activate(ModelVersion.objects.get(pk=job.params["version"]), progress)


# No retries: the visitor's photo is deleted once it has been classified (or failed to be), and a retry would
# find it gone. A visitor whose classification failed is asked to try again.
@job_task(
    "classify",
    label="Classify a photo",
    queue=CLASSIFY_QUEUE,
    soft_time_limit=120,
    time_limit=150,
    max_retries=0,
    acks_late=False,
)
def classify_photo(job, progress):
    top = services.classify_stored(job.params["name"], k=job.params.get("k", 5))
    return {
        "top": [
            {"slug": c.slug, "name": c.name, "country": c.country, "percent": round(100 * p, 2)}
            for c, p in top
        ],
        "message": f"Looks most like {top[0][0].name}.",
    }


@shared_task(name="mlworker.fail_abandoned_trainings", ignore_result=True)
def fail_abandoned_trainings() -> int:
    return services.fail_abandoned_trainings()


@shared_task(name="mlworker.purge_old_classifications", ignore_result=True)
def purge_old_classifications() -> dict:
    return services.purge_old_classifications()
