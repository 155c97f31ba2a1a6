"""The simulation's database loader (bench.recommend_sim --from-db): the active model's photos as a PhotoSet."""

import numpy as np
import pytest

from bench.recommend_sim import load_photo_set_from_db
from cities.models import Photo
from mlworker.models import ModelVersion, PhotoEmbedding


@pytest.mark.django_db
def test_the_loader_takes_active_photos_with_a_vector_and_an_embedding_of_the_models_backbone(photo_set):
    photos = photo_set(per_city=5)
    version = ModelVersion.objects.get(is_active=True)
    every = sorted((p for ps in photos.values() for p in ps), key=lambda p: p.pk)
    hidden, unembedded, other_backbone = every[0], every[1], every[2]
    Photo.objects.filter(pk=hidden.pk).update(status=Photo.Status.HIDDEN)
    for photo in every:
        if photo != unembedded:
            backbone = "another-backbone" if photo == other_backbone else version.backbone
            vector = np.full(4, photo.pk, dtype=np.float32).tobytes()
            PhotoEmbedding.objects.create(photo=photo, backbone=backbone, vector=vector)

    loaded, source = load_photo_set_from_db()

    kept = [p for p in every if p not in (hidden, unembedded, other_backbone)]
    assert loaded.n_photos == len(kept) and loaded.n_cities == version.n_cities
    assert loaded.embeddings[:, 0].tolist() == [p.pk for p in kept]  # photo id order
    assert loaded.labels.tolist() == [version.city_ids.index(p.city_id) for p in kept]
    assert np.array_equal(np.argmax(loaded.probabilities, axis=1), loaded.labels)  # label-only vectors
    assert version.name in source


@pytest.mark.django_db
def test_without_embeddings_the_loader_says_why(photo_set):
    photo_set()
    loaded, reason = load_photo_set_from_db()
    assert loaded is None and "embedding" in reason
