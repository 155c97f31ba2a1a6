"""Writes for cities and photos."""

import csv
from collections.abc import Iterable
from pathlib import Path

from django.db import models, transaction
from django.utils import timezone

from jobs.services import start_job

from .models import City, Photo

CATALOGUE_CSV = Path(__file__).resolve().parent / "data" / "teleport_urban_areas.csv"


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


def after_photos_added(photo_ids: list[int]) -> None:
    """New photos get vectors from whatever model is active: a "predict" job, found by its kind in the jobs
    registry (the mlworker app declares it; cities does not import it)."""
    if photo_ids:
        start_job("predict", params={"photo_ids": list(photo_ids)})


def set_photo_status(photo_ids: Iterable[int], status: str) -> int:
    """An admin's hide/show decision; the time is kept, because the junk detector learns from decisions."""
    return Photo.objects.filter(pk__in=list(photo_ids)).update(
        status=status, status_decided_at=timezone.now()
    )


def photos_with_history(photo_ids: Iterable[int]) -> set[int]:
    """The photos that other records point at with on_delete=PROTECT: the swipe log, which must never lose a
    row. Found through the relations themselves, so cities needs to know nothing of the app that logs."""
    ids = list(photo_ids)
    kept: set[int] = set()
    for relation in Photo._meta.related_objects:
        if relation.on_delete is models.PROTECT:
            pointing = relation.related_model._base_manager.filter(**{f"{relation.field.name}__in": ids})
            kept.update(pointing.values_list(relation.field.attname, flat=True).distinct())
    return kept


def delete_or_retire_photos(photo_ids: Iterable[int]) -> tuple[int, int]:
    """An admin's delete: photos without history are deleted; photos with swipes are retired instead
    (hidden: out of the queue, their swipes kept and still replayed). Returns (deleted, retired)."""
    ids = list(photo_ids)
    with transaction.atomic():
        # A swipe of one of these photos that is not committed yet is not seen here; the database's foreign
        # key then refuses its commit, so the log never holds a row whose photo is gone.
        retire = photos_with_history(ids)
        retired = set_photo_status(retire, Photo.Status.HIDDEN)
        _, per_model = Photo.objects.filter(pk__in=ids).exclude(pk__in=retire).delete()
    return per_model.get(Photo._meta.label, 0), retired
