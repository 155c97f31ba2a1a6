"""Scorers of city taste, chosen by name (pure NumPy, no Django). See scorer_base for the interface.

    scorer = make_scorer(DEFAULT_SCORER, photos)          # once per catalogue (cache it)
    state = scorer.update(scorer.initial_state(), i, True)
    ranking = scoring.rank(scorer.city_scores(state))

- original:   the add/subtract sum of probability vectors (swipes.scoring), kept as the reference.
- normalised: each city's like rate: liked probability mass over swiped mass (its exposure), shrunk
              toward the person's overall like rate.
- embedding:  a Bayesian linear model of "like" on the photo's projected embedding; a city's score is
              the mean predicted like over its photos.
- multi_taste: like rates over a few dozen visual clusters of the catalogue (several tastes at once).
- city_and_look: each city's own like rate, shrunk toward multi_taste's by as much as the person's swipes
              say cities differ beyond their looks (the default).
"""

import numpy as np

from . import scoring
from .catalogue import PhotoSet
from .embedding_scorers import CityAndLookScorer, EmbeddingScorer, MultiTasteScorer
from .scorer_base import Scorer, StaleState, photo_values_from_city_values, top_positive

__all__ = [
    "DEFAULT_SCORER",
    "SCORERS",
    "CityAndLookScorer",
    "EmbeddingScorer",
    "MultiTasteScorer",
    "NormalisedScorer",
    "OriginalScorer",
    "PhotoSet",
    "Scorer",
    "StaleState",
    "make_scorer",
]


class OriginalScorer(Scorer):
    """The original arithmetic: state = the per-city running totals, exactly as swipes.scoring keeps them
    (so a stored `UserProfile.scores` vector is this scorer's state payload)."""

    name = "original"
    exploration = 1.0  # Thompson noise per city, in "one swipe's worth" of score (a vector sums to 1)

    def initial_state(self) -> np.ndarray:
        return scoring.empty_scores(self.photos.n_cities)

    def update(self, state: np.ndarray, photo_index: int, liked: bool) -> np.ndarray:
        return scoring.apply_swipe(state, self.photos.probabilities[photo_index], liked)

    def city_scores(self, state: np.ndarray) -> np.ndarray:
        return state.copy()

    def sample_photo_scores(self, state: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        noisy = state + self.exploration * rng.standard_normal(state.size)
        return photo_values_from_city_values(self.photos, noisy)

    def explain(self, state, city_index, liked_photo_indices, k=3):
        liked_photo_indices = np.asarray(liked_photo_indices, dtype=np.int64)
        rows = scoring.top_contributors(self.photos.probabilities[liked_photo_indices], city_index, k)
        return liked_photo_indices[rows]


class NormalisedScorer(Scorer):
    """score[c] = this person's like rate of city c: the probability mass p[c] of the liked photos divided by
    that of all swiped photos (the city's exposure), both starting from `prior_weight` of exposure at the
    person's overall like rate.

    Why a rate rather than the sum: a sum grows with every swipe on a city with many photos, or one the model
    over-predicts (it spreads mass to that city from every photo), whatever the taste. Divided by its exposure
    such a city scores the person's average like rate unless the likes single it out, which is the "subtract
    the city's prior" correction made exact for each person's own swipes. A like raises, a dislike lowers,
    every city that the photo gives mass to (both fractions move toward 1 or 0).
    """

    name = "normalised"

    def __init__(self, photos: PhotoSet, prior_weight: float = 1.0, exploration: float = 1.0):
        super().__init__(photos)
        self.prior_weight = prior_weight  # exposure, in "photo mass", before a city's own evidence counts
        self.exploration = exploration  # Thompson noise, in standard errors of the rate

    def settings(self) -> tuple:
        return (self.prior_weight,)

    # state: liked mass [C], exposure [C], number of likes, number of swipes
    def initial_state(self) -> np.ndarray:
        return np.zeros(2 * self.photos.n_cities + 2)

    def update(self, state: np.ndarray, photo_index: int, liked: bool) -> np.ndarray:
        n = self.photos.n_cities
        vector = self.photos.probabilities[photo_index].astype(np.float64)
        new = state.copy()
        if liked:
            new[:n] += vector
            new[2 * n] += 1.0
        new[n : 2 * n] += vector
        new[2 * n + 1] += 1.0
        return new

    def _rates(self, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n, weight = self.photos.n_cities, self.prior_weight
        overall = (state[2 * n] + 1.0) / (state[2 * n + 1] + 2.0)  # Laplace: 1/2 before any swipe
        exposure = state[n : 2 * n] + weight
        return (state[:n] + weight * overall) / exposure, exposure

    def city_scores(self, state: np.ndarray) -> np.ndarray:
        return self._rates(state)[0]

    def sample_photo_scores(self, state: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        rates, exposure = self._rates(state)
        error = np.sqrt(rates * (1.0 - rates) / (exposure + 1.0))  # a Beta posterior's spread
        noisy = rates + self.exploration * error * rng.standard_normal(rates.size)
        return photo_values_from_city_values(self.photos, noisy)

    def explain(self, state, city_index, liked_photo_indices, k=3):
        # Evidence for the city: liked photos that show it more than an average photo does.
        liked_photo_indices = np.asarray(liked_photo_indices, dtype=np.int64)
        lift = self.photos.probabilities[liked_photo_indices, city_index] - self.photos.city_prior[city_index]
        return top_positive(liked_photo_indices, lift, k)


SCORERS: dict[str, type[Scorer]] = {
    "original": OriginalScorer,
    "normalised": NormalisedScorer,
    "embedding": EmbeddingScorer,
    "multi_taste": MultiTasteScorer,
    "city_and_look": CityAndLookScorer,
}

# Chosen on two catalogues (bench/recommend_sim.py, adaptive policy, 100 people per taste, seed 0;
# docs/recommendations.md has the tables). On 7 real cities (3,861 photos, a Lite0 head at top-1 0.70)
# city_and_look reaches the original's 40-swipe NDCG@5 in 12 / 3 / 7 swipes on the favourite-cities /
# direction / two-looks tastes, against multi_taste's 27 / 3 / 7 and normalised's 21 / 7 / 13: the looks
# mix cities, so a favourite city shows only in its own rate. On the synthetic 266 cities, where a city is
# seldom swiped twice, it stays close to multi_taste (see the docs). multi_taste stays selectable.
DEFAULT_SCORER = "city_and_look"


def make_scorer(name: str, photos: PhotoSet, **settings) -> Scorer:
    try:
        scorer_class = SCORERS[name]
    except KeyError:
        raise ValueError(f"unknown scorer {name!r}; choose one of {sorted(SCORERS)}") from None
    return scorer_class(photos, **settings)
