"""Backbone features of photos, computed once per (photo, backbone) and cached in PhotoEmbedding.

Photos are read through the storage API (default_storage), never through paths under MEDIA_ROOT, so the
ml worker works the same on a shared disk, S3 or Django's InMemoryStorage. TensorFlow is imported inside
functions only (through mlworker.ml).
"""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.files.storage import default_storage

from cities.models import Photo

from .models import ModelVersion, PhotoEmbedding

EMBED_BATCH = 32


def progress_noop(done, total, message=""):
    pass


def open_photo(name: str):
    """The pipeline's file opener: a stored photo by its storage name."""
    return default_storage.open(name, "rb")


@dataclass(frozen=True)
class TrainingPhoto:
    photo_id: int
    city_id: int
    name: str  # the image's storage name


def photo_items(photos) -> list[TrainingPhoto]:
    rows = photos.order_by("pk").values_list("pk", "city_id", "image")
    return [TrainingPhoto(pk, city_id, image) for pk, city_id, image in rows]


def all_photos(photo_ids: list[int] | None = None) -> list[TrainingPhoto]:
    """Every photo (or the given ones), whatever its status, in id order."""
    return photo_items(Photo.objects.all() if photo_ids is None else Photo.objects.filter(pk__in=photo_ids))


def model_cache_dir() -> Path:
    return Path(settings.MODEL_CACHE_DIR)


@lru_cache(maxsize=2)
def stock_backbone(name: str, input_size: int | None = None):
    """An ImageNet backbone, built (and its weights ported) once per worker process."""
    from mlworker.ml.backbones import build_backbone

    return build_backbone(name, weights="imagenet", input_size=input_size, cache_dir=model_cache_dir())


def embedding_key(backbone, version: ModelVersion | None = None) -> str:
    """Stock ImageNet features are shared by every version of a backbone; anything else is per version."""
    if (
        backbone.weights == "imagenet"
        and not backbone.fine_tuned
        and backbone.input_size == backbone.spec.input_size
    ):
        return backbone.name
    return f"{backbone.name}:{backbone.input_size}:v{version.pk if version else 'tmp'}"


def ensure_embeddings(
    backbone, key: str, photos: list[TrainingPhoto], progress=progress_noop, tta: bool = False
):
    """Features for `photos`, computing only those not cached under `key`. Returns (vectors by id, errors).

    `tta` (mean of the photo's and its mirror image's features) must be the same for every use of `key`.
    """
    from mlworker.ml.pipeline import embed_paths

    cached = dict(
        PhotoEmbedding.objects.filter(backbone=key, photo_id__in=[p.photo_id for p in photos]).values_list(
            "photo_id", "vector"
        )
    )
    vectors = {pid: np.frombuffer(blob, dtype=np.float32) for pid, blob in cached.items()}
    missing = [p for p in photos if p.photo_id not in vectors]
    errors = []
    if missing:
        result = embed_paths(
            backbone,
            [p.name for p in missing],
            batch_size=EMBED_BATCH,
            progress=lambda done, total: progress(done, total, f"Embedding photos {done}/{total}"),
            tta=tta,
            open_file=open_photo,
        )
        rows = []
        for row, index in zip(result.embeddings, result.ok_indices, strict=True):
            photo = missing[int(index)]
            vectors[photo.photo_id] = row
            rows.append(PhotoEmbedding(photo_id=photo.photo_id, backbone=key, vector=row.tobytes()))
        PhotoEmbedding.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
        errors = [f"photo {missing[e.index].photo_id}: {e.message}" for e in result.errors]
    return vectors, errors
