"""Writes for cities, photos and model versions."""

import csv
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from swipes.scoring import smoothed_one_hot

from .models import City, ModelVersion, Photo, PhotoPrediction

CATALOGUE_CSV = Path(__file__).resolve().parent / "data" / "teleport_urban_areas.csv"
PREDICTION_BATCH = 1000


def seed_cities(path: Path = CATALOGUE_CSV) -> tuple[int, int]:
    """Load (or refresh) the default catalogue. Returns (created, updated)."""
    created = updated = 0
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            _, was_created = City.objects.update_or_create(
                slug=row["slug"],
                defaults={
                    "name": row["name"],
                    "country": row["country"],
                    "country_code": row["country_code"],
                    "latitude": float(row["latitude"]),
                    "longitude": float(row["longitude"]),
                },
            )
            created += was_created
            updated += not was_created
    return created, updated


def write_predictions(version: ModelVersion, photo_ids: Iterable[int], probabilities: np.ndarray) -> int:
    """Store one probability vector per photo under `version`; replaces existing rows."""
    photo_ids = list(photo_ids)
    probabilities = np.asarray(probabilities, dtype=np.float32)
    if probabilities.shape != (len(photo_ids), version.n_cities):
        raise ValueError(
            f"expected {(len(photo_ids), version.n_cities)} probabilities, got {probabilities.shape}"
        )
    rows = [
        PhotoPrediction(
            model_version=version,
            photo_id=photo_id,
            probabilities=probabilities[i].tobytes(),
        )
        for i, photo_id in enumerate(photo_ids)
    ]
    with transaction.atomic():
        PhotoPrediction.objects.filter(model_version=version, photo_id__in=photo_ids).delete()
        PhotoPrediction.objects.bulk_create(rows, batch_size=PREDICTION_BATCH)
    return len(rows)


def activate_model(version: ModelVersion) -> None:
    """Make `version` the one the swipe loop uses, in one transaction.

    Its predictions must already be written: the swipe loop sees the old model or the new one, never a mix.
    Profiles notice the switch (scores_model differs) and replay their log under the new model.
    """
    if version.status != ModelVersion.Status.READY:
        raise ValueError(f"{version} is {version.status}, not ready")
    with transaction.atomic():
        ModelVersion.objects.select_for_update().filter(is_active=True).exclude(pk=version.pk).update(
            is_active=False
        )
        version.is_active = True
        version.activated_at = timezone.now()
        version.save(update_fields=["is_active", "activated_at"])


def _label_only_vectors(version: ModelVersion, photos: Iterable[tuple[int, int]]):
    index_of = {city_id: i for i, city_id in enumerate(version.city_ids)}
    ids, vectors = [], []
    for photo_id, city_id in photos:
        if city_id in index_of:
            ids.append(photo_id)
            vectors.append(smoothed_one_hot(version.n_cities, index_of[city_id], settings.BASELINE_SMOOTHING))
    return ids, np.array(vectors, dtype=np.float32).reshape(len(ids), version.n_cities)


def sync_label_only_model() -> ModelVersion | None:
    """Keep the label-only baseline current while it is (or would be) the active model.

    Its city order is the cities that have photos. When that set changes a new version replaces it;
    otherwise photos without a vector get one. A trained CNN, once active, is left alone.
    """
    active = ModelVersion.objects.filter(is_active=True).first()
    if active and active.backbone != ModelVersion.LABEL_ONLY:
        return active
    city_ids = list(
        City.objects.filter(photos__isnull=False).distinct().order_by("id").values_list("id", flat=True)
    )
    if not city_ids:
        return active
    with transaction.atomic():
        if active is None or active.city_ids != city_ids:
            version = ModelVersion.objects.create(
                name=f"label-only ({len(city_ids)} cities)",
                backbone=ModelVersion.LABEL_ONLY,
                city_ids=city_ids,
                status=ModelVersion.Status.READY,
                metrics={"note": "baseline: each photo is a smoothed one-hot of the city it was filed under"},
            )
            missing = Photo.objects.all()
        else:
            version = active
            missing = Photo.objects.exclude(predictions__model_version=version)
        ids, vectors = _label_only_vectors(version, missing.values_list("id", "city_id"))
        if ids:
            write_predictions(version, ids, vectors)
        if version != active:
            activate_model(version)
            # Older baselines are rebuilt from labels at will; drop them and their vectors.
            ModelVersion.objects.filter(backbone=ModelVersion.LABEL_ONLY, is_active=False).delete()
    return version


def after_photos_added(photo_ids: list[int]) -> None:
    """New photos get vectors from the active model: at once for the baseline, by an ml job for a CNN."""
    if not photo_ids:
        return
    active = sync_label_only_model()
    if active and active.backbone != ModelVersion.LABEL_ONLY:
        from mlworker.models import Job  # mlworker depends on cities, not the other way round at import
        from mlworker.services import start_job

        start_job(Job.Kind.PREDICT, params={"version": active.pk, "photo_ids": list(photo_ids)})


def set_photo_status(photo_ids: Iterable[int], status: str) -> int:
    """An admin's hide/show decision; the time is kept, because the junk detector learns from decisions."""
    return Photo.objects.filter(pk__in=list(photo_ids)).update(
        status=status, status_decided_at=timezone.now()
    )
