"""Writes for model versions: predictions, the one activation, the label-only baseline, classification.

TensorFlow is imported inside functions only (through mlworker.ml), so the web process can import this.
"""

import base64
import io
import uuid
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from cities.models import City, Photo
from jobs.models import Job
from jobs.services import start_job

from .artifacts import local_classifier_dir
from .embeddings import (
    all_photos,
    embedding_key,
    ensure_embeddings,
    model_cache_dir,
    open_photo,
    progress_noop,
)
from .label_only import label_only_vectors
from .models import ModelVersion, PhotoPrediction

PREDICTION_BATCH = 1000
CLASSIFY_FOLDER = "classify"  # visitors' photos in the storage, each deleted once classified
# The result page shows what was classified after the photo itself is gone: a small JPEG, inline in the Job's
# params as a data: URI (the CSP's img-src allows data:), purged with the Job a day later.
CLASSIFY_PREVIEW_SIDE = 320
# A classification's Job (its result page) and any photo its worker never deleted are kept this long.
CLASSIFICATIONS_KEPT_FOR = timedelta(days=1)
# A training that ran longer than its task's hard limit is over, whatever its row says.
TRAINING_GIVES_UP_AFTER = timedelta(hours=4, minutes=10)


class ModelUnavailable(ValueError):
    """The request needs a model that is missing, not ready, or has no trained artifact."""


# --- predictions ---------------------------------------------------------------------------------------------


def write_predictions(version: ModelVersion, photo_ids: Iterable[int], probabilities: np.ndarray) -> int:
    """Store one probability vector per photo under `version`; replaces existing rows."""
    photo_ids = list(photo_ids)
    probabilities = np.asarray(probabilities, dtype=np.float32)
    if probabilities.shape != (len(photo_ids), version.n_cities):
        raise ValueError(
            f"expected {(len(photo_ids), version.n_cities)} probabilities, got {probabilities.shape}"
        )
    rows = [
        PhotoPrediction(model_version=version, photo_id=photo_id, probabilities=probabilities[i].tobytes())
        for i, photo_id in enumerate(photo_ids)
    ]
    with transaction.atomic():
        PhotoPrediction.objects.filter(model_version=version, photo_id__in=photo_ids).delete()
        PhotoPrediction.objects.bulk_create(rows, batch_size=PREDICTION_BATCH)
    return len(rows)


def classifier_for(version: ModelVersion):
    from mlworker.ml.inference import get_classifier

    if not version.artifact_path:
        raise ModelUnavailable(f"{version} has no trained artifact")
    return get_classifier(local_classifier_dir(version.artifact_path), cache_dir=model_cache_dir())


def predict_version(
    version: ModelVersion, photo_ids: list[int] | None = None, progress=progress_noop
) -> dict:
    """Write a probability vector under `version` for every photo (or the given ones)."""
    if version.is_label_only:
        items = Photo.objects.all() if photo_ids is None else Photo.objects.filter(pk__in=photo_ids)
        ids, vectors = label_only_vectors(
            version.city_ids, items.values_list("pk", "city_id"), settings.BASELINE_SMOOTHING
        )
        errors = []
    else:
        classifier = classifier_for(version)
        items = all_photos(photo_ids)
        key = version.params.get("embedding_key") or embedding_key(classifier.backbone, version)
        found, errors = ensure_embeddings(classifier.backbone, key, items, progress, tta=classifier.tta)
        ids = [p.photo_id for p in items if p.photo_id in found]
        vectors = classifier.predict_embeddings(np.stack([found[i] for i in ids])) if ids else None
    if ids:
        write_predictions(version, ids, vectors)
    progress(len(ids), len(ids), f"Predicted {len(ids)} photos")
    return {
        "predicted": len(ids),
        "achieved": len(ids),
        "errors": errors,
        "message": f"Wrote {len(ids)} probability vectors under {version}.",
    }


def _missing_photo_ids(version: ModelVersion) -> list[int]:
    return list(Photo.objects.exclude(predictions__model_version=version).values_list("pk", flat=True))


# --- activation ----------------------------------------------------------------------------------------------


def activate(version: ModelVersion, progress=progress_noop) -> dict:
    """Make `version` the model the swipe loop uses. The one way to activate, for every kind of model:

    1. predict every photo that has no vector under it yet (outside the transaction: it can take minutes);
    2. switch in one transaction, so the swipe loop sees the old model or the new one, never neither;
    3. predict the photos added while 1 ran (their predict job asked the old model);
    4. queue a rescore of every profile (each also replays lazily on its next swipe).
    """
    if version.status != ModelVersion.Status.READY:
        raise ModelUnavailable(f"{version} is {version.get_status_display().lower()}, not ready")
    predicted, errors = 0, []
    missing = _missing_photo_ids(version)
    if missing:
        first = predict_version(version, missing, progress)
        predicted, errors = first["predicted"], list(first["errors"])
    with transaction.atomic():
        previous = list(
            ModelVersion.objects.select_for_update().filter(is_active=True).exclude(pk=version.pk)
        )
        ModelVersion.objects.filter(pk__in=[v.pk for v in previous]).update(is_active=False)
        switched = ModelVersion.objects.filter(pk=version.pk, status=ModelVersion.Status.READY).update(
            is_active=True, activated_at=timezone.now()
        )
        if not switched:
            raise ModelUnavailable(f"{version} was deleted or is no longer ready")
    version.refresh_from_db()
    # Photos that failed the first pass (unreadable files) would fail again; only newcomers are predicted.
    late = sorted(set(_missing_photo_ids(version)) - set(missing))
    if late:
        second = predict_version(version, late, progress)
        predicted, errors = predicted + second["predicted"], errors + list(second["errors"])
    start_job("derive", params={"version": version.pk})  # the swipe catalogue web processes load
    rescore = start_job("rescore") if previous else None  # with no model before, no profile has scores
    return {
        "activated": version.pk,
        "predicted": predicted,
        # Photos without a vector leave the swipe queue: the job page lists them and is not green.
        "errors": errors,
        "rescore_job": rescore.pk if rescore else None,
        "message": f"{version} is active"
        + (f"; profiles are being rescored (job #{rescore.pk})." if rescore else "."),
    }


# --- the label-only baseline ---------------------------------------------------------------------------------


def sync_label_only_model() -> ModelVersion | None:
    """Keep the label-only baseline current while it is (or would be) the active model.

    Its city order is the cities that have photos. When that set changes a new version replaces it;
    otherwise photos without a vector get one. A trained CNN, once active, is left alone.
    """
    active = ModelVersion.objects.filter(is_active=True).first()
    if active and not active.is_label_only:
        return active
    city_ids = list(
        City.objects.filter(photos__isnull=False).distinct().order_by("id").values_list("id", flat=True)
    )
    if not city_ids:
        return active
    if active is not None and active.city_ids == city_ids:
        missing = _missing_photo_ids(active)
        if missing:
            predict_version(active, missing)
        return active
    version = ModelVersion.objects.create(
        name=f"label-only ({len(city_ids)} cities)",
        backbone=ModelVersion.LABEL_ONLY,
        city_ids=city_ids,
        status=ModelVersion.Status.READY,
        metrics={"note": "baseline: each photo is a smoothed one-hot of the city it was filed under"},
    )
    activate(version)
    # Older baselines are rebuilt from labels at will; drop them and their vectors.
    ModelVersion.objects.label_only().filter(is_active=False).delete()
    return version


def predict_new_photos(photo_ids: list[int], progress=progress_noop) -> dict:
    """Vectors for photos just added, from the active model (the label-only baseline until a CNN is)."""
    active = sync_label_only_model()
    if active is None:
        return {"predicted": 0, "message": "No model yet: the photos get vectors when one is trained."}
    if active.is_label_only:
        outcome = {"predicted": len(photo_ids), "message": f"{len(photo_ids)} photos joined {active}."}
    else:
        outcome = predict_version(active, photo_ids, progress)
    start_job("derive", params={"version": active.pk})  # the new photos join the swipe catalogue
    return outcome


def fail_abandoned_trainings(now=None) -> int:
    """Versions left "training" by a job that ended (or a process that died) are marked failed."""
    now = now or timezone.now()
    abandoned = []
    for version in ModelVersion.objects.filter(status=ModelVersion.Status.TRAINING):
        job_id = version.params.get("job")
        job = Job.objects.filter(pk=job_id).first() if job_id else None
        if (job is not None and job.is_finished) or (
            job is None and version.created_at < now - TRAINING_GIVES_UP_AFTER
        ):
            abandoned.append(version.pk)
    return ModelVersion.objects.filter(pk__in=abandoned, status=ModelVersion.Status.TRAINING).update(
        status=ModelVersion.Status.FAILED
    )


# --- classifying a visitor's photo ---------------------------------------------------------------------------


def start_classification(visitor: str, image) -> Job:
    """Store a visitor's validated photo (a cities ValidImage) in the storage and queue its classification.

    The worker deletes it once it has classified it: visitors' photos are not kept. If the job never
    reaches the broker (start_job then fails it, at once when no transaction is open, else on commit), the
    photo is deleted here instead; the returned Job says FAILED when that is already known.
    """
    buffer = io.BytesIO()
    image.image.save(buffer, format="JPEG", quality=90)
    name = default_storage.save(f"{CLASSIFY_FOLDER}/{uuid.uuid4().hex}.jpg", ContentFile(buffer.getvalue()))
    params = {"name": name, "visitor": visitor, "k": 5, "preview": preview_data_uri(image.image)}
    job = start_job("classify", params=params)
    # Registered after start_job's send, so it runs after it (on_commit keeps the order).
    transaction.on_commit(lambda: _delete_if_never_sent(job.pk, name))
    job.refresh_from_db()
    return job


def preview_data_uri(image) -> str:
    """A downscaled JPEG of a PIL image as a data: URI (a few kB)."""
    preview = image.convert("RGB")
    preview.thumbnail((CLASSIFY_PREVIEW_SIDE, CLASSIFY_PREVIEW_SIDE))
    buffer = io.BytesIO()
    preview.save(buffer, format="JPEG", quality=75, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _delete_if_never_sent(job_pk: int, name: str) -> None:
    if Job.objects.filter(pk=job_pk, status=Job.Status.FAILED).exists():
        default_storage.delete(name)


def classify_images(names: list[str], k: int = 5, open_file=None) -> list[list[tuple[City, float]]]:
    """Top-k cities for images under the active model: storage names by default, or files that `open_file`
    opens (the classify command passes local paths)."""
    version = ModelVersion.objects.filter(is_active=True).first()
    if version is None or version.is_label_only:
        raise ModelUnavailable("no trained CNN is active yet; train one in the admin first")
    classifier = classifier_for(version)
    prediction = classifier.predict_paths(names, open_file=open_file or open_photo)
    if prediction.errors:
        raise ModelUnavailable(
            "; ".join(f"{Path(names[e.index]).name}: {e.message}" for e in prediction.errors)
        )
    cities = City.objects.in_bulk(version.city_ids)
    return [[(cities[c], p) for c, p in row] for row in classifier.top_k(prediction.probabilities, k)]


def classify_stored(name: str, k: int = 5) -> list[tuple[City, float]]:
    """Top-k cities for a visitor's stored photo; the photo is deleted afterwards, whatever happens."""
    try:
        (top,) = classify_images([name], k)
        return top
    finally:
        default_storage.delete(name)


def purge_old_classifications(now=None) -> dict:
    """Delete classify Jobs older than CLASSIFICATIONS_KEPT_FOR, and visitors' photos left in the storage as
    long (a worker that died before it deleted one). Runs on the beat schedule."""
    cutoff = (now or timezone.now()) - CLASSIFICATIONS_KEPT_FOR
    jobs, _ = Job.objects.filter(kind="classify", created_at__lt=cutoff).delete()
    try:
        _, filenames = default_storage.listdir(CLASSIFY_FOLDER)
    except FileNotFoundError:  # FileSystemStorage before the first upload
        filenames = []
    files = 0
    for filename in filenames:
        name = f"{CLASSIFY_FOLDER}/{filename}"
        try:
            old = default_storage.get_modified_time(name) < cutoff
        except FileNotFoundError:  # its worker deleted it meanwhile
            continue
        if old:
            default_storage.delete(name)
            files += 1
    return {"jobs": jobs, "files": files}
