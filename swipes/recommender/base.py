"""The two small interfaces of the recommender: Scorer and Policy (pure NumPy, no Django).

A scorer is built once per catalogue (a PhotoSet) and holds only read-only arrays derived from it. A
person's taste lives in a *state*: one flat float64 vector that the scorer never changes in place. So

    state = scorer.update(state, photo_index, liked)      # a new vector, the old one untouched
    scores = scorer.city_scores(state)                     # float64 [n_cities], higher is better

and folding `update` over a swipe log (`replay`) gives the incremental state bit for bit, because it is the
same arithmetic in the same order. States are stored as bytes with a header naming what they mean (the
scorer, its settings and, where the state depends on it, the catalogue), so a state built under another
scorer or catalogue is refused (StaleState) and the caller replays the log instead.

A policy picks the next photo from the photos not yet seen this round (see policies.py).
"""

import hashlib
from collections.abc import Iterable
from functools import cached_property
from typing import Protocol

import numpy as np

from .catalogue import PhotoSet

STATE_MAGIC = b"CVS1"
FINGERPRINT_SIZE = 12


class StaleState(ValueError):
    """Stored bytes from another scorer, other settings or another catalogue: replay the swipe log."""


class Scorer:
    """Base class: subclasses set `name` and `description` and implement the five methods marked below."""

    name = "abstract"
    # One sentence for people (the recommendations page, the admin, the docs): how a swipe moves a score.
    description = ""

    def __init__(self, photos: PhotoSet):
        self.photos = photos

    # --- to implement ------------------------------------------------------------------------------------

    def initial_state(self) -> np.ndarray:
        """The state of someone who has not swiped yet."""
        raise NotImplementedError

    def update(self, state: np.ndarray, photo_index: int, liked: bool) -> np.ndarray:
        """A new state after one swipe. Must not modify `state`."""
        raise NotImplementedError

    def city_scores(self, state: np.ndarray) -> np.ndarray:
        """float64 [n_cities]: the ranking of cities for this taste (higher first)."""
        raise NotImplementedError

    def sample_photo_scores(self, state: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """float64 [n_photos]: one plausible draw of how much this person likes each photo (Thompson
        sampling); the spread of the draws is the scorer's own uncertainty."""
        raise NotImplementedError

    def explain(
        self, state: np.ndarray, city_index: int, liked_photo_indices: np.ndarray, k: int = 3
    ) -> np.ndarray:
        """Up to k of `liked_photo_indices` that are this scorer's evidence for the city, strongest first."""
        raise NotImplementedError

    def favourite_looks(self, state: np.ndarray, liked_photo_indices: np.ndarray, k: int = 3) -> np.ndarray:
        """One liked photo (an index of `liked_photo_indices`) for each of up to k looks this person likes
        most, for scorers that know looks (clusters); none by default."""
        return np.empty(0, dtype=np.int64)

    def settings(self) -> tuple:
        """Whatever changes the meaning of a state besides the scorer's name (part of the fingerprint)."""
        return ()

    def depends_on_catalogue(self) -> bool:
        """True when a state is tied to this exact catalogue (a projection learnt from its embeddings)."""
        return False

    # --- shared --------------------------------------------------------------------------------------------

    def replay(self, photo_indices: Iterable[int], liked: Iterable[bool]) -> np.ndarray:
        """Rebuild a state from a swipe log, oldest first."""
        state = self.initial_state()
        for photo_index, is_like in zip(photo_indices, liked, strict=True):
            state = self.update(state, int(photo_index), bool(is_like))
        return state

    @cached_property
    def fingerprint(self) -> bytes:
        hasher = hashlib.blake2b(digest_size=FINGERPRINT_SIZE)
        hasher.update(repr((self.name, self.photos.n_cities, self.settings())).encode())
        if self.depends_on_catalogue():
            hasher.update(self.photos.digest)
        return hasher.digest()

    @cached_property
    def state_size(self) -> int:
        return self.initial_state().size

    def state_to_bytes(self, state: np.ndarray) -> bytes:
        return STATE_MAGIC + self.fingerprint + np.ascontiguousarray(state, dtype=np.float64).tobytes()

    def state_from_bytes(self, data: bytes) -> np.ndarray:
        header = STATE_MAGIC + self.fingerprint
        if not data.startswith(header):
            raise StaleState(f"not a {self.name} state for this catalogue")
        payload = data[len(header) :]
        if len(payload) != 8 * self.state_size:
            raise StaleState(f"{self.name} state should hold {self.state_size} numbers")
        return np.frombuffer(payload, dtype=np.float64).copy()  # writable, like any other state


class Policy(Protocol):
    """Chooses the next photo to show. Built once per catalogue: `policy_class(photos, **settings)`."""

    name: str

    def choose(
        self,
        scorer: Scorer,
        state: np.ndarray,
        seen_mask: np.ndarray,
        rng: np.random.Generator,
        queue_salt: int = 0,
    ) -> int | None:
        """A photo index not in `seen_mask` (bool [n_photos], the photos shown this round), or None once
        every photo was seen. `rng` is seeded by the caller, which makes the choice reproducible;
        `queue_salt` permutes the global queue for a reshuffled round (0 in a first round)."""
        ...


def photo_values_from_city_values(photos: PhotoSet, city_values: np.ndarray) -> np.ndarray:
    """Each photo's value as its probability-weighted city values (float32 maths: this runs per request)."""
    return (photos.probabilities @ city_values.astype(np.float32)).astype(np.float64)


def top_positive(indices: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    """The k indices with the largest positive weights, best first; ties keep the given order."""
    order = np.argsort(-weights, kind="stable")[:k]
    return np.asarray(indices, dtype=np.int64)[order[weights[order] > 0]]
