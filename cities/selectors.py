"""Reads for cities, photos and model versions."""

from .models import City, ModelVersion


def active_model() -> ModelVersion | None:
    return ModelVersion.objects.filter(is_active=True).first()


def cities_by_id(ids) -> dict[int, City]:
    return City.objects.in_bulk(list(ids))
