"""Reads for model versions: the active model, the photo catalogue under a model, and what it says about
cities.

load_catalogue is the one reader of a model version's photo catalogue: the recommendation engine
(swipes.engine), city similarity and the benchmarks build on it, so they cannot drift apart.
"""

from dataclasses import dataclass

import numpy as np
from django.core.cache import cache
from django.db.models import Count, Max, Sum

from cities.models import City, Photo, servable_q
from jobs.services import running_or_queued

from . import similarity
from .models import ModelVersion, PhotoEmbedding, PhotoPrediction


def active_model() -> ModelVersion | None:
    return ModelVersion.objects.filter(is_active=True).first()


def trained_model_is_active() -> bool:
    """A CNN (not the label-only baseline) serves the swipe loop and can classify photos."""
    model = active_model()
    return model is not None and not model.is_label_only


def has_trained_or_training_version() -> bool:
    trained = ModelVersion.objects.trained().exclude(status=ModelVersion.Status.FAILED)
    return trained.exists() or running_or_queued("train")


# --- the catalogue -----------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Catalogue:
    """Every photo with a vector under `version`, in ascending photo-id order (a photo's index is its row).

    Hidden and low-quality photos are included: swipes on them still count and stored states stay valid;
    `servable` says which ones a card may show.
    """

    version: ModelVersion
    photo_ids: np.ndarray  # int64 [N]
    probabilities: np.ndarray  # float32 [N, C], in version.city_ids order
    labels: np.ndarray  # int64 [N]: index of the photo's city in version.city_ids
    embeddings: np.ndarray | None  # float32 [N, D] under the version's embedding key, for all photos or none
    queue_keys: np.ndarray  # int64 [N]: Photo.queue_key, each photo's place in the global queue
    servable: np.ndarray  # bool [N]: Photo.objects.servable()

    @property
    def n_photos(self) -> int:
        return self.photo_ids.size


def embedding_key_of(version: ModelVersion) -> str | None:
    """The PhotoEmbedding key of the features the version's head was trained on, if it has any."""
    return (version.params or {}).get("embedding_key") or None


def load_catalogue(
    version: ModelVersion, with_embeddings: bool = True, photo_ids: list[int] | None = None
) -> Catalogue:
    """The version's catalogue; with `photo_ids`, only those photos' rows (photos joining a stored one)."""
    predictions = PhotoPrediction.objects.filter(model_version=version)
    servable = Photo.objects.servable().filter(predictions__model_version=version)
    if photo_ids is not None:
        predictions, servable = predictions.filter(photo_id__in=photo_ids), servable.filter(pk__in=photo_ids)
    rows = list(
        predictions.order_by("photo_id").values_list(
            "photo_id", "probabilities", "photo__city_id", "photo__queue_key"
        )
    )
    servable_ids = set(servable.values_list("id", flat=True))
    photo_ids = np.array([row[0] for row in rows], dtype=np.int64)
    probabilities = np.array([np.frombuffer(row[1], dtype=np.float32) for row in rows], dtype=np.float32)
    probabilities = probabilities.reshape(len(rows), version.n_cities)
    labels = city_labels(version, [row[2] for row in rows], probabilities)
    embeddings = None
    key = embedding_key_of(version)
    if with_embeddings and key and rows:
        found = dict(
            PhotoEmbedding.objects.filter(backbone=key, photo_id__in=photo_ids.tolist()).values_list(
                "photo_id", "vector"
            )
        )
        if len(found) == len(rows):  # all or none: the scorers need every photo's embedding
            embeddings = np.array([np.frombuffer(found[p], dtype=np.float32) for p in photo_ids.tolist()])
    return Catalogue(
        version=version,
        photo_ids=photo_ids,
        probabilities=probabilities,
        labels=labels,
        embeddings=embeddings,
        queue_keys=np.array([row[3] for row in rows], dtype=np.int64),
        servable=np.array([row[0] in servable_ids for row in rows], dtype=bool),
    )


def city_labels(version: ModelVersion, filed_city_ids: list[int], probabilities: np.ndarray) -> np.ndarray:
    """Each photo's city as an index into the version's city order. A photo filed under a city the model
    does not know is labelled with the city the model sees in it."""
    city_index = {city_id: i for i, city_id in enumerate(version.city_ids)}
    return np.array(
        [
            city_index.get(city_id, int(np.argmax(probabilities[i])))
            for i, city_id in enumerate(filed_city_ids)
        ],
        dtype=np.int64,
    )


def photo_cities_with_vectors(version: ModelVersion) -> list[tuple[int, int]]:
    """(photo id, filed city id) of the photos with a vector under `version`, ascending: load_catalogue's
    rows without their data."""
    return list(
        PhotoPrediction.objects.filter(model_version=version)
        .order_by("photo_id")
        .values_list("photo_id", "photo__city_id")
    )


def every_photo_has_an_embedding(version: ModelVersion) -> bool:
    """Whether load_catalogue would give the version's catalogue embeddings (counted, not read)."""
    key = embedding_key_of(version)
    if not key:
        return False
    with_vectors = PhotoPrediction.objects.filter(model_version=version)
    embedded = PhotoEmbedding.objects.filter(backbone=key, photo__predictions__model_version=version)
    return embedded.count() == with_vectors.count() > 0


def embeddings_of(version: ModelVersion, photo_ids: list[int]) -> np.ndarray | None:
    """float32 [n, D]: the embeddings of these photos under the version's key, in this order; None unless
    every one has one (all or none, as load_catalogue)."""
    key = embedding_key_of(version)
    if not key:
        return None
    found = dict(
        PhotoEmbedding.objects.filter(backbone=key, photo_id__in=photo_ids).values_list("photo_id", "vector")
    )
    if len(found) != len(photo_ids):
        return None
    if not photo_ids:
        return np.zeros((0, 0), dtype=np.float32)
    return np.array([np.frombuffer(found[p], dtype=np.float32) for p in photo_ids])


def hidden_stamp() -> tuple:
    """Changes whenever a photo is hidden, shown again, or rated across the quality threshold."""
    hidden = Photo.objects.exclude(servable_q()).aggregate(n=Count("id"), ids=Sum("id"))
    return (hidden["n"], hidden["ids"])


def servable_mask(photo_ids: np.ndarray) -> np.ndarray:
    """bool [N]: which of these photos a card may show (one query over the few that may not)."""
    hidden = np.fromiter(Photo.objects.exclude(servable_q()).values_list("id", flat=True), dtype=np.int64)
    return ~np.isin(photo_ids, hidden)


def catalogue_stamp(version: ModelVersion) -> tuple:
    """Two cheap aggregates that change whenever load_catalogue's answer would: vectors added or removed,
    photos hidden or rated below the quality threshold."""
    vectors = PhotoPrediction.objects.filter(model_version=version).aggregate(n=Count("id"), last=Max("id"))
    hidden = Photo.objects.exclude(servable_q()).aggregate(n=Count("id"), ids=Sum("id"))
    return (version.pk, vectors["n"], vectors["last"], hidden["n"], hidden["ids"])


# --- city similarity ---------------------------------------------------------------------------------------


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
    """Mean probability vectors of each city's servable photos under the active model (the catalogue the
    swipe loop serves), turned into a similarity matrix.

    Cached per catalogue stamp, so a page view does not re-read every vector.
    """
    version = version or active_model()
    if version is None:
        return None
    key = "city-similarity:" + ":".join(map(str, catalogue_stamp(version)))
    cached = cache.get(key)
    if cached is not None:
        return cached
    catalogue = load_catalogue(version, with_embeddings=False)
    shown = catalogue.servable
    means, counts = similarity.mean_vectors(
        catalogue.labels[shown], catalogue.probabilities[shown], version.n_cities
    )
    result = CitySimilarity(version, list(version.city_ids), similarity.similarity_matrix(means), counts)
    cache.set(key, result, timeout=3600)
    return result
