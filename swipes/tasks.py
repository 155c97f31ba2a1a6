"""Celery tasks for the swipe loop: thin wrappers that declare their kind and queue and call a service."""

from celery import shared_task

from jobs.registry import DEFAULT_QUEUE, ML_QUEUE, RETRY_ON_DATABASE_BLIP, job_task
from jobs.services import start_job
from mlworker.models import ModelVersion
from mlworker.selectors import active_model

from .catalogue_store import derive_and_store
from .profiles import remove_empty_anonymous_profiles
from .rescore import rescore_all_profiles

TASK_OPTIONS = RETRY_ON_DATABASE_BLIP


@job_task(
    "rescore",
    label="Recompute profile scores",
    queue=DEFAULT_QUEUE,
    soft_time_limit=30 * 60,
    time_limit=35 * 60,
    **TASK_OPTIONS,
)
def rescore_profiles(job, progress):
    count = rescore_all_profiles(progress=progress)
    return {"profiles": count, "message": f"Recomputed the scores of {count} profiles from their swipe logs."}


@shared_task(name="swipes.remove_empty_anonymous_profiles")
def remove_empty_anonymous_profiles_task() -> int:
    """Housekeeping on the beat schedule (not a Job: nobody waits for it)."""
    return remove_empty_anonymous_profiles()


# On the ml queue (one process), so two derivations of a catalogue never race for the same revision. It
# lives in swipes because the derivation is the recommender's; mlworker asks for it by kind.
@job_task(
    "derive",
    label="Derive the swipe catalogue",
    queue=ML_QUEUE,
    soft_time_limit=20 * 60,
    time_limit=25 * 60,
    **TASK_OPTIONS,
)
def derive_catalogue(job, progress):
    version = (
        ModelVersion.objects.filter(pk=job.params["version"]).first() if "version" in job.params else None
    )
    version = version or active_model()
    if version is None:
        return {"message": "No model yet: nothing to derive."}
    progress(0, 1)
    done = derive_and_store(version)
    progress(1, 1)
    how = f"a full derivation ({done['full']})" if done["full"] else f"{done['joined']} photos joined"
    message = f"Catalogue revision {done['revision']} of {version}: {done['photos']} photos, {how}."
    if done["stale_states"] and version.is_active:
        rescore = start_job("rescore")
        done["rescore_job"] = rescore.pk
        message += f" Profiles are being replayed (job #{rescore.pk})."
    return {**done, "message": message}
