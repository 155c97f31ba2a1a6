"""Scorers of city taste that read only the model's probability vectors (pure NumPy, no Django).

See base for the interface and registry for choosing one by name:

    scorer = make_scorer(DEFAULT_SCORER, photos)          # once per catalogue (cache it)
    state = scorer.update(scorer.initial_state(), i, True)
    ranking = scoring.rank(scorer.city_scores(state))

- original:   the add/subtract sum of probability vectors (scoring.py), kept as the reference.
- normalised: each city's like rate: liked probability mass over swiped mass (its exposure), shrunk
              toward the person's overall like rate.
The scorers that read the photos' embeddings are in embedding_scorers:

- embedding:  a Bayesian linear model of "like" on the photo's projected embedding; a city's score is
              the mean predicted like over its photos.
- multi_taste: like rates over a few dozen visual clusters of the catalogue (several tastes at once).
- city_and_look: each city's own like rate, shrunk toward multi_taste's by as much as the person's swipes
              say cities differ beyond their looks (the default).
"""

import numpy as np

from . import scoring
from .base import Scorer, photo_values_from_city_values, top_positive
from .catalogue import PhotoSet


class OriginalScorer(Scorer):
    """The original arithmetic: state = the per-city running totals, exactly as scoring.apply_swipe keeps them
    (so a stored `UserProfile.scores` vector is this scorer's state payload)."""

    name = "original"
    description = "A like adds a photo's city probabilities to your scores, a dislike subtracts them."
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
    description = "A city's score is the share of its look that you liked, among the photos you rated."

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
