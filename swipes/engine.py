"""The recommendation engine of the running app: the active model's photo catalogue, with the configured
scorer and next-photo policy, built once per process and rebuilt when the catalogue changes.

Scorers and policies are pure NumPy (swipes.recommender); this module is the Django glue that feeds them
the catalogue that mlworker.selectors.load_catalogue reads. A photo's index in the catalogue is its
position in ascending photo-id order among the photos that have a vector under the model. Hidden and
low-quality photos stay in the catalogue (so swipes on them still count and states stay valid) but are
never served.
"""

import threading
import time
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from threadpoolctl import threadpool_limits

from mlworker.models import ModelVersion
from mlworker.selectors import Catalogue, catalogue_stamp, load_catalogue

from .recommender.base import Policy, Scorer, StaleState
from .recommender.catalogue import PhotoSet
from .recommender.registry import make_policy, make_scorer

# How often a process re-checks (with two cheap aggregate queries) whether the catalogue changed.
FRESHNESS_SECONDS = 5.0


@dataclass(frozen=True, eq=False)
class Engine:
    version: ModelVersion
    photo_ids: np.ndarray  # int64 [N], the catalogue order
    index_of: dict[int, int]
    servable: np.ndarray  # bool [N]: Photo.objects.servable(), the ones a card may show
    scorer: Scorer
    policy: Policy
    stamp: tuple

    @property
    def policy_name(self) -> str:
        return self.policy.name

    def indices(self, photo_ids) -> np.ndarray:
        return np.array([self.index_of[p] for p in photo_ids if p in self.index_of], dtype=np.int64)

    def load_state(self, stored: bytes) -> np.ndarray:
        """A profile's stored state; raises StaleState when it belongs to another scorer or catalogue."""
        return self.scorer.state_from_bytes(bytes(stored))

    def replay(self, log: list[tuple[int, bool]]) -> np.ndarray:
        """The state after a swipe log [(photo id, liked)], oldest first. Photos without a vector are skipped."""
        kept = [(self.index_of[p], liked) for p, liked in log if p in self.index_of]
        return self.scorer.replay([i for i, _ in kept], [liked for _, liked in kept])


_lock = threading.Lock()
_current: dict = {"engine": None, "checked_at": 0.0}


def _stamp(version: ModelVersion) -> tuple:
    """Changes whenever the catalogue, what may be served, or the configured scorer or policy changes."""
    return (*catalogue_stamp(version), settings.VIBES_SCORER, settings.VIBES_POLICY)


def photo_set(catalogue: Catalogue) -> PhotoSet:
    """The recommender's view of a catalogue (the benchmarks build theirs with this too)."""
    return PhotoSet(
        probabilities=catalogue.probabilities,
        labels=catalogue.labels,
        embeddings=catalogue.embeddings,
        queue_keys=catalogue.queue_keys,
    )


def derive(photos: PhotoSet) -> tuple[Scorer, Policy]:
    """The configured scorer and policy for a catalogue, identical in every process.

    Stored states must replay bit for bit anywhere (web, worker, a check), so what is derived from the
    catalogue (projection, clusters) is computed with one BLAS thread: multi-threaded BLAS sums in another
    order, and the cluster memberships then differ in the last bits between processes.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return make_scorer(settings.VIBES_SCORER, photos), make_policy(settings.VIBES_POLICY, photos)


def _build(version: ModelVersion, stamp: tuple) -> Engine:
    catalogue = load_catalogue(version)
    scorer, policy = derive(photo_set(catalogue))
    return Engine(
        version=version,
        photo_ids=catalogue.photo_ids,
        index_of={int(p): i for i, p in enumerate(catalogue.photo_ids.tolist())},
        servable=catalogue.servable,
        scorer=scorer,
        policy=policy,
        stamp=stamp,
    )


def engine_for(version: ModelVersion) -> Engine:
    """The engine of `version`, from this process's cache while the catalogue is unchanged."""
    now = time.monotonic()
    engine = _current["engine"]
    fresh = now - _current["checked_at"] < FRESHNESS_SECONDS
    if engine is not None and engine.version.pk == version.pk and fresh:
        return engine
    stamp = _stamp(version)
    with _lock:
        engine = _current["engine"]
        if engine is None or engine.stamp != stamp:
            engine = _build(version, stamp)
        _current.update(engine=engine, checked_at=now)
    return engine


def forget_engine() -> None:
    """Drop the cached engine (tests, after changing settings or rolling data back)."""
    with _lock:
        _current.update(engine=None, checked_at=0.0)


__all__ = ["Engine", "StaleState", "engine_for", "forget_engine"]
