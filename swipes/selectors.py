"""Reads for the swipe loop and the recommendations page."""

from dataclasses import dataclass, field
from importlib import import_module

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db.models import BigIntegerField, ExpressionWrapper, F, Value

from cities.models import City, ModelVersion, Photo, PhotoPrediction
from cities.selectors import active_model

from . import scoring
from .models import Swipe, UserProfile

SESSION_PROFILE_KEY = "vibes_profile_id"  # written by services.profile_for_request

TOP_CITIES = 10
WHY_PHOTOS = 3


def _queue_order_expression(salt: int):
    if salt == 0:
        return F("queue_key")
    # key XOR salt, written with AND/OR so that SQLite (no XOR operator) computes it too. The explicit
    # BigIntegerField matters: as a plain int the salt would make Django type the result as a 32-bit
    # IntegerField and treat larger cursor values as out of range (an always-empty query).
    salt_value = Value(salt, output_field=BigIntegerField())
    return ExpressionWrapper(
        F("queue_key").bitor(salt_value) - F("queue_key").bitand(salt_value), output_field=BigIntegerField()
    )


def queue_photos(version: ModelVersion | None):
    """Photos that can be served: active, with a vector under the active model."""
    if version is None:
        return Photo.objects.none()
    return Photo.objects.filter(status=Photo.Status.ACTIVE, predictions__model_version=version)


def next_photo(profile: UserProfile, version: ModelVersion | None = None) -> Photo | None:
    """The next card in this profile's queue, or None when the round is used up."""
    version = version or active_model()
    return (
        queue_photos(version)
        .annotate(order=_queue_order_expression(profile.queue_salt))
        .filter(order__gt=profile.queue_position)
        .select_related("city")
        .order_by("order")
        .first()
    )


QUEUE_SIZE_TTL_SECONDS = 30


def queue_size(version: ModelVersion | None = None) -> int:
    """How many photos the queue holds. Shown on every card, so cached briefly rather than counted per swipe."""
    version = version or active_model()
    if version is None:
        return 0
    key = f"queue-size:{version.pk}"
    size = cache.get(key)
    if size is None:
        size = queue_photos(version).count()
        cache.set(key, size, QUEUE_SIZE_TTL_SECONDS)
    return size


def profile_for_session_cookie(value: str) -> UserProfile:
    """The anonymous profile behind a session cookie (tests and benchmarks look profiles up this way)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=value)
    return UserProfile.objects.get(pk=store[SESSION_PROFILE_KEY])


def can_undo(profile: UserProfile) -> bool:
    return Swipe.objects.filter(profile=profile, round=profile.round, undone_at__isnull=True).exists()


@dataclass
class RankedCity:
    city: City
    score: float
    bar: float  # in [-1, 1], relative to the largest absolute score shown
    rank: int
    why: list[Photo] = field(default_factory=list)


@dataclass
class Recommendations:
    model: ModelVersion | None
    cities: list[RankedCity]
    total: int
    swipe_count: int

    @property
    def has_more(self) -> bool:
        return len(self.cities) < self.total


def _liked_vectors(profile: UserProfile, version: ModelVersion) -> tuple[list[int], np.ndarray]:
    liked_ids = (
        Swipe.objects.filter(profile=profile, liked=True, undone_at__isnull=True)
        .values_list("photo_id", flat=True)
        .distinct()
    )
    rows = list(
        PhotoPrediction.objects.filter(model_version=version, photo_id__in=liked_ids).values_list(
            "photo_id", "probabilities"
        )
    )
    vectors = np.array([np.frombuffer(v, dtype=np.float32) for _, v in rows], dtype=np.float32)
    return [pid for pid, _ in rows], vectors.reshape(len(rows), version.n_cities)


def recommendations(profile: UserProfile, limit: int | None = TOP_CITIES) -> Recommendations:
    """Cities ranked by the profile's scores (which must be current: see services.ensure_current_scores)."""
    version = profile.scores_model
    if version is None or not profile.scores:
        return Recommendations(model=version, cities=[], total=0, swipe_count=profile.swipe_count)
    scores = profile.score_vector
    order = scoring.rank(scores)
    shown = order if limit is None else order[:limit]
    bars = dict(scoring.bar_chart(scores, order))
    cities = City.objects.in_bulk([version.city_ids[i] for i in shown])
    photo_ids, liked_vectors = _liked_vectors(profile, version)
    why_ids = {
        int(i): [photo_ids[j] for j in scoring.top_contributors(liked_vectors, int(i), WHY_PHOTOS)]
        for i in shown[:TOP_CITIES]
    }
    photos = Photo.objects.in_bulk({pid for ids in why_ids.values() for pid in ids})
    ranked = [
        RankedCity(
            city=cities[version.city_ids[i]],
            score=float(scores[i]),
            bar=bars[int(i)],
            rank=position + 1,
            why=[photos[pid] for pid in why_ids.get(int(i), []) if pid in photos],
        )
        for position, i in enumerate(shown)
        if version.city_ids[i] in cities
    ]
    return Recommendations(model=version, cities=ranked, total=len(order), swipe_count=profile.swipe_count)
