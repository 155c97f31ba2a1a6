"""Writes after a training: label noise (suspect photos), photo quality and scene tags (docs/quality.md).

The arithmetic lives in mlworker.quality (pure, unit-tested); this module reads photos, calls it and stores
the results. `assess_photos` runs in the ml worker: it applies the backbone's ImageNet head (TensorFlow).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np
from django.conf import settings
from django.db import transaction

from cities.models import Photo

from . import quality

UPDATE_BATCH = 500
Progress = Callable[[int, int, str], None]

_noise_memo: dict = {"key": None, "value": None}


def _labels(city_ids: list[int]) -> tuple[np.ndarray, int]:
    order = {c: i for i, c in enumerate(sorted(set(city_ids)))}
    return np.array([order[c] for c in city_ids], np.int64), len(order)


def _noise(photo_ids: list[int], city_ids: list[int], vectors: np.ndarray, seed: int):
    """(out-of-sample probabilities, label-issue mask), memoised for the last input: with --drop-suspects,
    train() asks for the suspects before training, and assess_photos() needs the same numbers after it
    when every photo trained (no hidden ones)."""
    vectors = np.ascontiguousarray(vectors, np.float32)
    digest = hashlib.blake2b(vectors.tobytes(), digest_size=16)
    digest.update(np.asarray(photo_ids, np.int64).tobytes())
    digest.update(np.asarray(city_ids, np.int64).tobytes())
    key = (digest.hexdigest(), seed)
    if _noise_memo["key"] != key:
        y, n_classes = _labels(city_ids)
        oof = quality.out_of_sample_probabilities(vectors, y, n_classes, seed=seed)
        _noise_memo.update(key=key, value=(y, oof, quality.label_issue_mask(y, oof)))
    return _noise_memo["value"]


def suspect_photo_ids(
    photo_ids: list[int], city_ids: list[int], vectors: np.ndarray, seed: int = 0
) -> set[int]:
    """Photos that are probably junk or filed under the wrong city (row i of the stock embeddings
    `vectors` is photo_ids[i], filed under city_ids[i]). Training leaves them out."""
    if len(photo_ids) != len(city_ids) or len(photo_ids) != len(vectors):
        raise ValueError("photo_ids, city_ids and vectors must have one row per photo")
    if len(set(city_ids)) < 2:
        return set()
    _, _, mask = _noise(list(photo_ids), list(city_ids), vectors, seed)
    return {int(p) for p, flagged in zip(photo_ids, mask, strict=True) if flagged}


def _junk(ids: list[int], x: np.ndarray, imagenet: np.ndarray, decisions: dict[int, bool], seed: int):
    """The ImageNet prior, averaged with a detector learned from admins' hide/show decisions once there
    are enough of them (the average ranked hand-removed photos best: docs/quality.md)."""
    prior = quality.junk_prior(imagenet)
    decided = [i for i, p in enumerate(ids) if p in decisions]
    is_junk = np.array([decisions[ids[i]] for i in decided], bool)
    if not quality.has_enough_decisions(is_junk):
        return prior, "ImageNet head"
    learned = quality.learned_junk(x[decided], is_junk, x, seed=seed)
    return (prior + learned) / 2.0, f"ImageNet head + {len(decided)} admin decisions"


def assess_photos(
    vectors_by_photo: dict[int, np.ndarray],
    progress: Progress | None = None,
    min_quality: float | None = None,
    scene_threshold: float | None = None,
    backbone: str = "efficientnet_lite0",
    seed: int = 0,
) -> dict:
    """Score every photo given its stock embedding under `backbone`: quality, junk, city fit, suspect flag
    and scene tags, stored on Photo. Photos without an embedding keep what they had.

    Returns a JSON-able summary for the job and the model version's metrics.
    """
    from .ml.imagenet_head import imagenet_probabilities  # TensorFlow: the ml worker only

    report = progress or (lambda done, total, message: None)
    min_quality = settings.VIBES_MIN_PHOTO_QUALITY if min_quality is None else min_quality
    scene_threshold = settings.VIBES_SCENE_TAG_THRESHOLD if scene_threshold is None else scene_threshold
    rows = Photo.objects.filter(pk__in=list(vectors_by_photo)).order_by("pk")
    rows = list(rows.values_list("pk", "city_id", "status", "status_decided_at"))
    if not rows:
        return {"assessed": 0, "suspect": 0, "below_threshold": 0, "message": "no photos to assess"}
    ids = [r[0] for r in rows]
    city_ids = [r[1] for r in rows]
    x = np.stack([np.asarray(vectors_by_photo[p], np.float32) for p in ids])
    report(0, 4, "label noise: out-of-sample city probabilities")
    if len(set(city_ids)) >= 2:
        y, oof, suspect = _noise(ids, city_ids, x, seed)
        fit = quality.city_fit(y, oof)
    else:  # one city: nothing to be confused with
        suspect, fit = np.zeros(len(ids), bool), np.ones(len(ids))
    report(1, 4, "ImageNet head: junk and scene words")
    imagenet = imagenet_probabilities(x, backbone, cache_dir=settings.MODEL_CACHE_DIR)
    decisions = {r[0]: r[2] == Photo.Status.HIDDEN for r in rows if r[3] is not None}
    junk, junk_source = _junk(ids, x, imagenet, decisions, seed)
    scores = quality.combine_quality(fit, junk)
    tags = quality.scene_tags(imagenet, scene_threshold)
    report(2, 4, "storing quality and tags")
    photos = [
        Photo(
            pk=p,
            quality=float(scores[i]),
            junk=float(junk[i]),
            city_fit=float(fit[i]),
            suspect=bool(suspect[i]),
            scene_tags=tags[i],
        )
        for i, p in enumerate(ids)
    ]
    with transaction.atomic():
        Photo.objects.bulk_update(
            photos, ["quality", "junk", "city_fit", "suspect", "scene_tags"], batch_size=UPDATE_BATCH
        )
    below = int((scores < min_quality).sum())
    summary = {
        "assessed": len(ids),
        "suspect": int(suspect.sum()),
        "below_threshold": below,
        "threshold": min_quality,
        "tagged": sum(1 for t in tags if t),
        "junk_source": junk_source,
        "message": (
            f"{len(ids)} photos assessed: {int(suspect.sum())} suspect, {below} below quality {min_quality:g} "
            f"(skipped by the swipe queue); junk from {junk_source}"
        ),
    }
    report(4, 4, summary["message"])
    return summary
