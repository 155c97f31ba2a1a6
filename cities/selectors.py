"""Reads for cities, photos and model versions."""

from dataclasses import dataclass

import numpy as np
from django.core.cache import cache

from . import similarity
from .models import City, ModelVersion, Photo, PhotoPrediction


def active_model() -> ModelVersion | None:
    return ModelVersion.objects.filter(is_active=True).first()


def cities_by_id(ids) -> dict[int, City]:
    return City.objects.in_bulk(list(ids))


@dataclass(frozen=True)
class CitySimilarity:
    """Similarity between the cities of one model version (rows/columns in its city order)."""

    version: ModelVersion
    city_ids: list[int]
    matrix: np.ndarray
    photo_counts: np.ndarray

    def index_of(self, city_id: int) -> int | None:
        try:
            return self.city_ids.index(city_id)
        except ValueError:
            return None


def city_similarity(version: ModelVersion | None = None) -> CitySimilarity | None:
    """Mean probability vectors per labelled city under the active model, turned into a similarity matrix.

    Cached per model version and prediction count, so a page view does not re-read every vector.
    """
    version = version or active_model()
    if version is None:
        return None
    rows = PhotoPrediction.objects.filter(model_version=version, photo__status=Photo.Status.ACTIVE)
    count = rows.count()
    key = f"city-similarity:{version.pk}:{count}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    index_of = {city_id: i for i, city_id in enumerate(version.city_ids)}
    labels, vectors = [], []
    for city_id, blob in rows.values_list("photo__city_id", "probabilities").iterator(chunk_size=2000):
        if city_id in index_of:
            labels.append(index_of[city_id])
            vectors.append(np.frombuffer(blob, dtype=np.float32))
    probabilities = np.array(vectors, dtype=np.float32).reshape(len(vectors), version.n_cities)
    means, counts = similarity.mean_vectors(np.array(labels, dtype=np.int64), probabilities, version.n_cities)
    result = CitySimilarity(version, list(version.city_ids), similarity.similarity_matrix(means), counts)
    cache.set(key, result, timeout=3600)
    return result


def city_photos(city: City, limit: int = 24):
    return city.photos.servable().order_by("-created_at")[:limit]


def scene_tag_counts(photo_ids) -> list[tuple[str, int]]:
    """(scene word, number of photos with it) over the given photos (ids, or a queryset of them, which runs as
    a subquery), most common first (ties by word)."""
    counts: dict[str, int] = {}
    for tags in Photo.objects.filter(pk__in=photo_ids).values_list("scene_tags", flat=True):
        for tag in tags or []:
            counts[tag] = counts.get(tag, 0) + 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def city_scene_tags(city: City, limit: int = 8) -> list[tuple[str, int]]:
    """The most common scene words among a city's servable photos."""
    return scene_tag_counts(city.photos.servable().values_list("pk", flat=True))[:limit]
