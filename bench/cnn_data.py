"""A synthetic catalogue under a CNN-like model: probability vectors and 1,280-d embeddings shaped like a
pooled backbone's (pure NumPy, then bulk rows). `python -m bench.data --cnn` builds it.

Cities are clusters in a 64-d latent space, grouped into visual styles so that some cities look alike (as
bench.recommend_data does); photo counts per city are uneven (log-normal). A photo's embedding is a
non-negative (ReLU) random lift of its latent point to 1,280 dimensions, like the pooled features of
EfficientNet; its probability vector is a softmax over noisy distances to the city centres, with a tenth of
the cities over-predicted. The model's top-1 accuracy lands near 0.8, as the real heads do.
"""

import numpy as np

EMBEDDING_DIMENSIONS = 1280
LATENT_DIMENSIONS = 64
BACKBONE = "synthetic_cnn"
EMBEDDING_KEY = "synthetic_cnn:pooled"


def city_counts(n_photos: int, n_cities: int, rng: np.random.Generator) -> np.ndarray:
    """Uneven photos per city that sum to n_photos, every city at least one."""
    weights = rng.lognormal(0.0, 0.8, n_cities)
    counts = np.maximum(1, np.floor(weights / weights.sum() * n_photos)).astype(np.int64)
    while counts.sum() > n_photos:  # the floor of 1 may overshoot on tiny sets
        counts[np.argmax(counts)] -= 1
    counts[np.argsort(-weights)[: n_photos - counts.sum()]] += 1
    return counts


def synthetic_vectors(labels: np.ndarray, n_cities: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities float32 [N, C], embeddings float32 [N, 1280]) for photos of cities `labels`."""
    rng = np.random.default_rng(seed)
    styles = rng.standard_normal((16, LATENT_DIMENSIONS))
    centres = styles[rng.integers(16, size=n_cities)] + 0.5 * rng.standard_normal(
        (n_cities, LATENT_DIMENSIONS)
    )
    latent = centres[labels] + rng.standard_normal((labels.size, LATENT_DIMENSIONS))
    lift = rng.standard_normal((LATENT_DIMENSIONS, EMBEDDING_DIMENSIONS)).astype(np.float32) / 8.0
    embeddings = np.maximum(latent.astype(np.float32) @ lift - 0.3, 0.0)
    seen = latent + 0.8 * rng.standard_normal(latent.shape)
    distance = (seen**2).sum(axis=1, keepdims=True) - 2 * seen @ centres.T + (centres**2).sum(axis=1)[None, :]
    bias = 0.3 * rng.standard_normal(n_cities)
    bias[rng.choice(n_cities, size=max(1, n_cities // 10), replace=False)] += 1.5
    logits = -distance / 8.0 + bias
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    return probabilities.astype(np.float32), embeddings.astype(np.float32)


def add_vectors(version, photo_ids: list[int], labels: np.ndarray, seed: int = 0, batch: int = 1000) -> int:
    """Write synthetic vectors and embeddings of `photo_ids` (of cities `labels`) under `version`: what an
    inference job does for new photos. Returns how many."""
    from mlworker.models import PhotoEmbedding, PhotoPrediction

    probabilities, embeddings = synthetic_vectors(np.asarray(labels), version.n_cities, seed)
    for start in range(0, len(photo_ids), batch):
        chunk = range(start, min(start + batch, len(photo_ids)))
        PhotoPrediction.objects.bulk_create(
            PhotoPrediction(
                model_version=version, photo_id=photo_ids[i], probabilities=probabilities[i].tobytes()
            )
            for i in chunk
        )
        PhotoEmbedding.objects.bulk_create(
            PhotoEmbedding(photo_id=photo_ids[i], backbone=EMBEDDING_KEY, vector=embeddings[i].tobytes())
            for i in chunk
        )
    return len(photo_ids)


def install(photo_ids: list[int], labels: np.ndarray, city_ids: list[int], seed: int = 0):
    """Make a ready, active synthetic CNN version whose vectors and embeddings are those of `photo_ids`."""
    from django.db import transaction

    from mlworker.models import ModelVersion, PhotoEmbedding

    with transaction.atomic():
        ModelVersion.objects.filter(backbone=BACKBONE).delete()
        PhotoEmbedding.objects.filter(backbone=EMBEDDING_KEY).delete()
        ModelVersion.objects.filter(is_active=True).update(is_active=False)
        version = ModelVersion.objects.create(
            name=f"synthetic CNN ({len(city_ids)} cities, {len(photo_ids)} photos)",
            backbone=BACKBONE,
            city_ids=city_ids,
            status=ModelVersion.Status.READY,
            params={"embedding_key": EMBEDDING_KEY},
            metrics={"note": "bench.cnn_data: synthetic vectors and embeddings"},
        )
        add_vectors(version, photo_ids, labels, seed)
        ModelVersion.objects.filter(pk=version.pk).update(is_active=True)
    version.refresh_from_db()
    return version
