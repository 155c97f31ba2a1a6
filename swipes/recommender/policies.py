"""Which photo to show next (pure NumPy, no Django). Each class here is a base.Policy.

    policy = make_policy(DEFAULT_POLICY, photos)                 # registry; once per catalogue (cache it)
    index = policy.choose(scorer, state, seen_mask, rng)         # None once every photo was seen

`seen_mask` (bool [n_photos]) marks the photos already shown this round: no policy repeats one. `rng` is a
numpy Generator that the caller seeds (say from the profile id and its swipe count), which makes every
choice reproducible.

- global_queue: the original design: one shuffled order for everybody (the photos' queue keys), permuted
  per person in a reshuffled round (`queue_salt`).
- adaptive: a diverse cold start (the first `cold_start` photos come from different cities chosen to cover
  the catalogue's looks: greedy facility location over city centroids), then Thompson sampling: draw one plausible
  taste from the scorer's posterior and show the unseen photo it likes most. Early on the draws disagree
  and the choice explores; as the evidence grows they agree and it shows likely favourites, which is where
  telling the top cities apart needs evidence.
"""

import numpy as np

from .base import Scorer
from .catalogue import PhotoSet, unit_rows

NEVER = np.iinfo(np.int64).max  # a queue place after every real one


class GlobalQueue:
    """The unseen photo with the smallest queue key XOR the round's salt.

    The keys are the catalogue's `queue_keys` (each photo's random place in the queue, stored with the
    photo) or, for a catalogue without them, a seeded shuffle. XOR with a constant is a bijection, so a salt
    gives a new order of the same photos, and salt 0 gives the stored order itself.
    """

    name = "global_queue"

    def __init__(self, photos: PhotoSet, seed: int = 0):
        if photos.queue_keys is not None:
            self.keys = photos.queue_keys
        else:
            self.keys = np.argsort(np.random.default_rng(seed).permutation(photos.n_photos)).astype(np.int64)

    def choose(
        self,
        scorer: Scorer,
        state: np.ndarray,
        seen_mask: np.ndarray,
        rng: np.random.Generator,
        queue_salt: int = 0,
    ) -> int | None:
        if seen_mask.all():
            return None
        places = np.where(seen_mask, NEVER, self.keys ^ np.int64(queue_salt))
        return int(np.argmin(places))


class AdaptivePolicy:
    name = "adaptive"

    def __init__(
        self, photos: PhotoSet, cold_start: int = 8, slack: float = 0.7, dimensions: int = 32, seed: int = 0
    ):
        self.photos, self.cold_start, self.slack = photos, cold_start, slack
        unit = unit_rows(photos.projected(dimensions, seed)[0])
        sums = np.zeros((photos.n_cities, unit.shape[1]))
        np.add.at(sums, photos.labels, unit)
        centroids = unit_rows(sums)
        # How well city a's look stands in for city b's (cosine of their mean photos; unlike looks count 0).
        self.city_likeness = np.clip(centroids @ centroids.T, 0.0, None)
        self.city_weight = photos.photo_counts.astype(np.float64)
        # Within a city, the most typical photo first: a cold-start swipe should be about the city.
        typicality = np.einsum("nd,nd->n", unit, centroids[photos.labels])
        self.typical_first = [
            group[np.argsort(-typicality[group], kind="stable")] for group in photos.city_photo_indices
        ]

    def choose(
        self,
        scorer: Scorer,
        state: np.ndarray,
        seen_mask: np.ndarray,
        rng: np.random.Generator,
        queue_salt: int = 0,  # the global queue's; this policy draws its variety from rng
    ) -> int | None:
        if seen_mask.all():
            return None
        if np.count_nonzero(seen_mask) < self.cold_start:
            index = self._diverse(seen_mask, rng)
            if index is not None:
                return index
        values = scorer.sample_photo_scores(state, rng)
        values[seen_mask] = -np.inf
        return int(np.argmax(values))

    def _diverse(self, seen_mask: np.ndarray, rng: np.random.Generator) -> int | None:
        """The most typical photo of a city that adds most coverage of the catalogue (facility location).

        Coverage of a city = its likeness to the most alike city shown so far; a candidate's gain is the
        photo-weighted coverage it adds. Unlike a farthest-point walk (tried: it shows outlying cities and
        lost 0.04-0.09 NDCG@5 at 20 swipes), this is diverse *and* representative. Any city within `slack`
        of the best gain may be drawn, so that people do not all start on the same photos.
        """
        labels = self.photos.labels
        seen_cities = np.unique(labels[seen_mask])
        if seen_cities.size:
            covered = self.city_likeness[:, seen_cities].max(axis=1)
        else:
            covered = np.zeros(self.photos.n_cities)
        gain = self.city_weight @ np.maximum(self.city_likeness - covered[:, None], 0.0)
        has_unseen = np.bincount(labels[~seen_mask], minlength=self.photos.n_cities) > 0
        gain[~has_unseen] = -np.inf
        gain[seen_cities] = -np.inf  # one photo per city while starting out
        best = gain.max()
        if not np.isfinite(best):
            return None
        city = int(rng.choice(np.flatnonzero(gain >= self.slack * best)))
        group = self.typical_first[city]
        return int(group[np.argmax(~seen_mask[group])])
