"""The recommendation engine of the running app: the active model's photo catalogue, with the configured
scorer and next-photo policy, loaded once per process from the stored derived catalogue (catalogue_store)
and reloaded, outside the request path, when the ml worker stores a new revision.

Scorers and policies are pure NumPy (swipes.recommender); this module is the Django glue that feeds them
the catalogue that the derive job stored (or, before it ran, that mlworker.selectors.load_catalogue reads).
A photo's index is its row in that catalogue: ascending photo id, then the photos that joined later. Hidden and
low-quality photos stay in the catalogue (so swipes on them still count and states stay valid) but are
never served.
"""

import logging
import threading
import time
from dataclasses import dataclass, replace

import numpy as np
from django.conf import settings
from django.db import connections
from threadpoolctl import threadpool_limits

from mlworker.models import ModelVersion
from mlworker.selectors import (
    Catalogue,
    active_model,
    catalogue_stamp,
    hidden_stamp,
    load_catalogue,
    servable_mask,
)

from . import catalogue_store
from .recommender.base import Policy, Scorer, StaleState
from .recommender.catalogue import PhotoSet
from .recommender.derivation import derive as derive_catalogue
from .recommender.registry import make_policy, make_scorer

log = logging.getLogger(__name__)

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
_current: dict = {"engine": None, "checked_at": 0.0, "refreshing": False}
# The model the swipe loop serves (active_version), and the one it is moving to while that one loads.
_active: dict = {"version": None, "checked_at": float("-inf"), "switching_to": None}


def _stamp(version: ModelVersion) -> tuple:
    """Changes whenever the catalogue (its newest stored revision, or without one the vectors themselves),
    what may be served, or the configured scorer or policy changes."""
    revision = catalogue_store.newest_revision(version.pk)
    vectors = ("revision", revision) if revision is not None else catalogue_stamp(version)
    return (*vectors, settings.VIBES_SCORER, settings.VIBES_POLICY, *hidden_stamp())


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
    """From the newest stored revision (memory-mapped, well under a second), or, where the derive job has
    not run yet for this model (a fresh install, the tests), derived here from the database."""
    revision = stamp[1] if stamp[0] == "revision" else None
    if revision is not None:
        stored = catalogue_store.load(version.pk, revision)
        photo_ids, photos = stored.photo_ids, stored.photos
    else:
        catalogue = load_catalogue(version)
        photo_ids = catalogue.photo_ids
        with threadpool_limits(limits=1, user_api="blas"):
            photos = photo_set(catalogue)
            photos = replace(photos, derivation=derive_catalogue(photos))
    scorer, policy = derive(photos)
    return Engine(
        version=version,
        photo_ids=photo_ids,
        index_of={int(p): i for i, p in enumerate(photo_ids.tolist())},
        servable=servable_mask(photo_ids),
        scorer=scorer,
        policy=policy,
        stamp=stamp,
    )


def _refresh(version: ModelVersion) -> Engine:
    """The engine for the catalogue as it stands now; the current one when nothing changed."""
    stamp = _stamp(version)
    with _lock:
        engine = _current["engine"]
        if engine is None or engine.version.pk != version.pk:
            engine = _build(version, stamp)
            if _active["switching_to"] == version.pk:
                # The swipe loop moves to this model now (active_version). Set before the engine, so that a
                # request reading both in between asks for this version and waits on the lock, rather than
                # asking for the previous one and finding it gone.
                _active.update(version=version, switching_to=None)
        elif engine.stamp[:-2] != stamp[:-2]:
            engine = _build(version, stamp)
        elif engine.stamp != stamp:  # only what may be served changed: no need to reload the arrays
            engine = replace(engine, servable=servable_mask(engine.photo_ids), stamp=stamp)
        _current.update(engine=engine, checked_at=time.monotonic())
    return engine


def _refresh_in_background(version: ModelVersion) -> None:
    """Load `version`'s current catalogue on a thread of its own."""

    def work():
        try:
            _refresh(version)
        except Exception:  # the current engine keeps serving; the next check tries again
            log.exception("could not refresh the recommendation engine")
        finally:
            connections.close_all()  # this thread's own connections
            _current["refreshing"] = False

    _current["refreshing"] = True
    threading.Thread(target=work, name="engine-refresh", daemon=True).start()


def _start_refresh(version: ModelVersion) -> None:
    """Start a background load unless one is already running (the next check starts it then)."""
    with _lock:
        start = not _current["refreshing"]
        if start:
            _current["checked_at"] = time.monotonic()
    if start:
        _refresh_in_background(version)


def engine_for(version: ModelVersion) -> Engine:
    """The engine of `version`. A request never waits for a new catalogue: once this process has an engine
    for the version, a changed catalogue is loaded by a background thread while the current engine keeps
    answering (VIBES_ENGINE_RELOAD = "background"; "inline" checks in the request, for the tests). A new
    model's engine is loaded in the background too (active_version); only a process's very first engine is
    loaded in a request."""
    engine = _current["engine"]
    if engine is None or engine.version.pk != version.pk:
        return _refresh(version)
    if time.monotonic() - _current["checked_at"] < FRESHNESS_SECONDS:
        return engine
    if _reloads_inline():
        return _refresh(version)
    _start_refresh(version)
    return engine


def _reloads_inline() -> bool:
    return getattr(settings, "VIBES_ENGINE_RELOAD", "background") == "inline"


def active_version() -> ModelVersion | None:
    """The active model as the swipe loop sees it, looked up at most every FRESHNESS_SECONDS per process,
    so a swipe does not ask the database on every request.

    After a model switch (on the ml worker) the swipe loop keeps the model whose engine this process has
    until a background thread has loaded the new one: no request waits for a catalogue to load. Swipes
    meanwhile count under the previous model, and each profile replays under the new one at its next swipe.
    With VIBES_ENGINE_RELOAD = "inline" (the tests) every call asks, and the switch is immediate."""
    if _reloads_inline():
        return active_model()
    now = time.monotonic()
    if now - _active["checked_at"] >= FRESHNESS_SECONDS:
        newest, current = active_model(), _current["engine"]
        _active["checked_at"] = now
        if newest is not None and current is not None and current.version.pk != newest.pk:
            _active.update(version=current.version, switching_to=newest.pk)
            _start_refresh(newest)  # which moves the swipe loop to it once loaded (_refresh)
        else:
            _active["version"] = newest
    return _active["version"]


def forget_active_version() -> None:
    _active.update(version=None, checked_at=float("-inf"), switching_to=None)


def refresh_engine(version: ModelVersion) -> Engine:
    """Load the newest catalogue now (a job that must see it, such as the rescore)."""
    return _refresh(version)


def forget_engine() -> None:
    """Drop the cached engine (tests, after changing settings or rolling data back)."""
    with _lock:
        _current.update(engine=None, checked_at=0.0, refreshing=False)
    forget_active_version()


__all__ = [
    "Engine",
    "StaleState",
    "active_version",
    "engine_for",
    "forget_active_version",
    "forget_engine",
    "refresh_engine",
]
