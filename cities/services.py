"""Writes for cities and photos."""

import csv
from collections.abc import Iterable
from pathlib import Path

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
