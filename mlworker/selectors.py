"""Reads for model versions: the active model and what it says about cities."""

from dataclasses import dataclass

import numpy as np
from django.core.cache import cache

from cities.models import City, Photo
from jobs.services import running_or_queued

from . import similarity
from .models import ModelVersion, PhotoPrediction


def active_model() -> ModelVersion | None:
    return ModelVersion.objects.filter(is_active=True).first()


def trained_model_is_active() -> bool:
    """A CNN (not the label-only baseline) serves the swipe loop and can classify photos."""
    model = active_model()
    return model is not None and not model.is_label_only


def has_trained_or_training_version() -> bool:
    trained = ModelVersion.objects.trained().exclude(status=ModelVersion.Status.FAILED)
    return trained.exists() or running_or_queued("train")


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

    def most_similar(self, city_id: int, limit: int) -> list[tuple[City, float]]:
        index = self.index_of(city_id)
        if index is None:
            return []
        cities = City.objects.in_bulk(self.city_ids)
        return [
            (cities[self.city_ids[j]], score)
            for j, score in similarity.most_similar(self.matrix, index, limit)
            if self.city_ids[j] in cities and score > 0
        ]


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
