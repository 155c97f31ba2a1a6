"""The one catalogue loader (mlworker.selectors.load_catalogue): what the engine and the benchmark read."""

import numpy as np
import pytest

from bench.recommend_sim import load_photo_set_from_db
from cities.models import Photo
from mlworker.models import ModelVersion, PhotoEmbedding
from mlworker.selectors import load_catalogue
from swipes.engine import engine_for

KEY = "test-backbone:224:v1"  # a version's embedding key differs from its backbone name


def embed(photos, key, value=lambda photo: photo.pk):
    for photo in photos:
        vector = np.full(4, value(photo), dtype=np.float32).tobytes()
        PhotoEmbedding.objects.create(photo=photo, backbone=key, vector=vector)


@pytest.fixture
def embedded(photo_set):
    """Fifteen photos with a vector under the active model and an embedding under its key; one hidden."""
    photos = photo_set(per_city=5)
    version = ModelVersion.objects.get(is_active=True)
    version.params = {"embedding_key": KEY}
    version.save(update_fields=["params"])
    every = sorted((p for ps in photos.values() for p in ps), key=lambda p: p.pk)
    embed(every, KEY)
    embed(every, version.backbone, value=lambda photo: -1.0)  # features of another head: never read
    Photo.objects.filter(pk=every[0].pk).update(status=Photo.Status.HIDDEN)
    return version, every


@pytest.mark.django_db
def test_the_catalogue_is_every_photo_with_a_vector_hidden_ones_marked_unservable(embedded):
    version, every = embedded
    catalogue = load_catalogue(version)
    assert catalogue.photo_ids.tolist() == [p.pk for p in every]  # photo id order
    assert catalogue.servable.tolist() == [False] + [True] * (len(every) - 1)
    assert catalogue.embeddings[:, 0].tolist() == [p.pk for p in every]  # the version's key, not the backbone
    assert catalogue.labels.tolist() == [version.city_ids.index(p.city_id) for p in every]
    assert np.array_equal(np.argmax(catalogue.probabilities, axis=1), catalogue.labels)  # label-only vectors
    assert catalogue.queue_keys.tolist() == [Photo.objects.get(pk=p.pk).queue_key for p in every]


@pytest.mark.django_db
def test_embeddings_come_for_every_photo_or_for_none(embedded):
    version, every = embedded
    PhotoEmbedding.objects.filter(photo=every[3], backbone=KEY).delete()
    catalogue = load_catalogue(version)
    assert catalogue.embeddings is None and catalogue.n_photos == len(every)


@pytest.mark.django_db
def test_the_benchmark_and_the_engine_read_the_same_catalogue(embedded):
    version, _ = embedded
    from_bench, source = load_photo_set_from_db()
    in_the_app = engine_for(version).scorer.photos
    assert version.name in source
    assert from_bench.digest == in_the_app.digest  # probabilities, labels and embeddings, bit for bit
    assert np.array_equal(from_bench.queue_keys, in_the_app.queue_keys)
    assert from_bench.embeddings is not None


@pytest.mark.django_db
def test_without_embeddings_the_benchmark_says_why(photo_set):
    photo_set()
    loaded, reason = load_photo_set_from_db()
    assert loaded is None and "embeddings" in reason


@pytest.mark.django_db
def test_city_similarity_averages_the_servable_photos_of_the_same_catalogue(embedded):
    from mlworker.selectors import city_similarity

    version, every = embedded
    catalogue = load_catalogue(version)
    counts = np.bincount(catalogue.labels[catalogue.servable], minlength=version.n_cities)
    assert city_similarity(version).photo_counts.tolist() == counts.tolist()
    assert counts.sum() == len(every) - 1  # the hidden photo says nothing about its city
