"""Scorers that learn from what photos look like (the backbone's pooled embedding), pure NumPy, no Django.

Both project the embeddings once per catalogue onto their top principal axes (catalogue.py), so the
per-person state stays small (under 9 KB) and a swipe costs microseconds. Without embeddings they fall back
on the model's probability vectors as the description of each photo.
"""

import numpy as np

from .base import Scorer, top_positive
from .catalogue import PhotoSet, spherical_kmeans, unit_rows
from .derivation import DISTINCT_CITIES_ACCURACY, default_cluster_count, memberships


class EmbeddingScorer(Scorer):
    """Bayesian linear regression of like (+1) / dislike (-1) on [projected embedding, 1].

    State: the posterior precision A = prior * I + sum f f^T and b = sum y f; the posterior mean is
    w = A^-1 b. A city's score is the mean predicted like over its photos, which for a linear model is the
    prediction at the city's mean feature. Dislikes are signal too: they push w away from what was disliked,
    and the intercept absorbs how generous the person is, so w keeps only the direction of the taste.
    """

    name = "embedding"
    description = (
        "A model of what you like in a photo's look predicts how much you would like each city's photos."
    )

    def __init__(
        self,
        photos: PhotoSet,
        dimensions: int = 32,
        prior_precision: float | None = None,
        exploration: float = 1.0,
        seed: int = 0,
    ):
        super().__init__(photos)
        projected, self.described_by = photos.projected(dimensions, seed)
        self.dimensions, self.seed = projected.shape[1], seed
        # Features have unit variance per axis, so a precision equal to the number of axes gives the prior a
        # predicted like of about +-1, the scale of the targets. A weak prior (1.0) overfits when the swipes
        # number about the axes: in a tuning run (seed 1), favourite-cities NDCG@5 was 0.20 after 20 swipes
        # and 0.21 after 40 with 1.0, against 0.26 and 0.43 with 32.
        self.prior_precision = float(self.dimensions if prior_precision is None else prior_precision)
        self.exploration = exploration  # Thompson draws use exploration^2 * A^-1 as the covariance
        self.features = np.hstack([projected, np.ones((photos.n_photos, 1))])
        self.features.flags.writeable = False
        self.city_features = self._city_mean_features()

    def _city_mean_features(self) -> np.ndarray:
        sums = np.zeros((self.photos.n_cities, self.features.shape[1]))
        np.add.at(sums, self.photos.labels, self.features)
        counts = self.photos.photo_counts[:, None]
        # A city with no photo gets the average photo: a neutral score rather than a made-up one.
        average = self.features.mean(axis=0) if self.photos.n_photos else np.eye(1, sums.shape[1], -1)[0]
        return np.where(counts > 0, sums / np.maximum(counts, 1), average)

    def settings(self) -> tuple:
        return (self.described_by, self.dimensions, self.prior_precision, self.seed)

    def depends_on_catalogue(self) -> bool:
        return True  # the projection is learnt from this catalogue's embeddings

    @property
    def _size(self) -> int:
        return self.features.shape[1]

    def _split(self, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m = self._size
        return state[: m * m].reshape(m, m), state[m * m : m * m + m]

    def initial_state(self) -> np.ndarray:
        m = self._size
        precision = np.eye(m) * self.prior_precision
        precision[-1, -1] = 1e-2  # a vague intercept: a person's overall like rate is no taste
        return np.concatenate([precision.ravel(), np.zeros(m)])

    def update(self, state: np.ndarray, photo_index: int, liked: bool) -> np.ndarray:
        feature = self.features[photo_index]
        m = self._size
        new = state.copy()
        new[: m * m] += np.outer(feature, feature).ravel()
        new[m * m : m * m + m] += feature if liked else -feature
        return new

    def weights(self, state: np.ndarray) -> np.ndarray:
        precision, targets = self._split(state)
        return np.linalg.solve(precision, targets)

    def city_scores(self, state: np.ndarray) -> np.ndarray:
        return self.city_features @ self.weights(state)

    def sample_photo_scores(self, state: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        precision, _ = self._split(state)
        cholesky = np.linalg.cholesky(precision)  # A = L L^T, so L^-T z ~ N(0, A^-1)
        noise = np.linalg.solve(cholesky.T, rng.standard_normal(self._size))
        return self.features @ (self.weights(state) + self.exploration * noise)

    def explain(self, state, city_index, liked_photo_indices, k=3):
        # w = A^-1 sum(y f), so a liked photo adds exactly city_feature . A^-1 f to the city's score.
        liked_photo_indices = np.asarray(liked_photo_indices, dtype=np.int64)
        precision, _ = self._split(state)
        direction = np.linalg.solve(precision, self.city_features[city_index])
        return top_positive(liked_photo_indices, self.features[liked_photo_indices] @ direction, k)


__all__ = ["DISTINCT_CITIES_ACCURACY", "CityAndLookScorer", "EmbeddingScorer", "MultiTasteScorer"]


class MultiTasteScorer(Scorer):
    """Like rates over a few dozen visual clusters of the catalogue: any number of them can be a taste.

    The catalogue's projected embeddings are clustered once (spherical k-means); each photo belongs softly
    to its nearest clusters. A person's state is, per cluster, the liked and the swiped membership mass. A
    photo's predicted like is the membership-weighted like rate around it, shrunk toward the person's overall
    rate; a city's score is the mean over its photos. Unlike one linear direction, two far-apart tastes
    (beaches and old towns) both stay high, and a dislike lowers mostly photos near the disliked one. Like
    the normalised scorer, a like never lowers any photo's (so any city's) score: it adds the same mass to
    the liked and the swiped totals, which moves every rate toward 1.
    """

    name = "multi_taste"
    description = (
        "A city's score is how much you liked photos that look like its photos: several different tastes "
        "can score high at once, and a dislike lowers only what looks like it."
    )

    def __init__(
        self,
        photos: PhotoSet,
        clusters: int | None = None,
        dimensions: int = 32,
        sharpness: float = 4.0,  # membership = softmax(sharpness * cosine): 4 beat 8 and 16 in the bench
        prior_weight: float = 0.5,
        exploration: float = 1.0,
        seed: int = 0,
    ):
        super().__init__(photos)
        projected, self.described_by = photos.projected(dimensions, seed)
        unit = unit_rows(projected)
        derivation = photos.derivation
        if derivation is not None and clusters is None and derivation.matches(dimensions, seed, sharpness):
            # Loaded from the stored artifact (or joined by new photos): the same centres and rows.
            centres, membership = derivation.centres, derivation.membership
        else:
            if clusters is None:
                clusters = default_cluster_count(
                    photos.n_photos, photos.n_cities, photos.embeddings is not None, photos.label_accuracy
                )
            centres = spherical_kmeans(unit, clusters, seed)
            # float64 (2 MB for 5,000 photos): float32 rounding could let a like lower a score by 1e-7.
            membership = memberships(projected, centres, sharpness)
        self.n_clusters, self.sharpness, self.seed = centres.shape[0], sharpness, seed
        self.dimensions = unit.shape[1]
        self.prior_weight, self.exploration = prior_weight, exploration
        self.membership = membership
        self.membership.flags.writeable = False
        # For the next-card draw only (scores_and_draw): half the bytes a swipe streams through (13 MB
        # instead of 26 MB at 50,000 photos), where float32's rounding only blurs a random draw.
        self._membership_for_draws = np.asarray(membership, dtype=np.float32)

    def settings(self) -> tuple:
        return (
            self.described_by,
            self.dimensions,
            self.n_clusters,
            self.sharpness,
            self.prior_weight,
            self.seed,
        )

    def depends_on_catalogue(self) -> bool:
        return True

    # state: liked mass per cluster [M], swiped mass per cluster [M], number of likes, number of swipes
    def initial_state(self) -> np.ndarray:
        return np.zeros(2 * self.n_clusters + 2)

    def update(self, state: np.ndarray, photo_index: int, liked: bool) -> np.ndarray:
        m = self.n_clusters
        mass = self.membership[photo_index]
        new = state.copy()
        if liked:
            new[:m] += mass
            new[2 * m] += 1.0
        new[m : 2 * m] += mass
        new[2 * m + 1] += 1.0
        return new

    def _overall_rate(self, state: np.ndarray) -> float:
        m = self.n_clusters
        return (state[2 * m] + 1.0) / (state[2 * m + 1] + 2.0)

    def photo_scores(self, state: np.ndarray) -> np.ndarray:
        m, weight = self.n_clusters, self.prior_weight
        liked, swiped = (self.membership @ state[: 2 * m].reshape(2, m).T).T
        return (liked + weight * self._overall_rate(state)) / (swiped + weight)

    def city_scores(self, state: np.ndarray) -> np.ndarray:
        return self.photos.city_means(self.photo_scores(state), empty=self._overall_rate(state))

    def sample_photo_scores(self, state: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.membership @ self._noisy_rates(state, rng)

    def _noisy_rates(self, state: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A Thompson draw of each cluster's like rate [M]."""
        m, weight = self.n_clusters, self.prior_weight
        exposure = state[m : 2 * m] + weight
        rates = (state[:m] + weight * self._overall_rate(state)) / exposure
        error = np.sqrt(rates * (1.0 - rates) / (exposure + 1.0))
        return rates + self.exploration * error * rng.standard_normal(m)

    def scores_and_draw(self, state: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """For choosing the next card: photo_scores(state) and sample_photo_scores(state, rng), to float32
        precision, in one pass over float32 memberships. At 50,000 photos each float64 pass reads 26 MB, and
        the reading, not the arithmetic, is what a swipe waits for. (Rankings and stored states keep float64.)"""
        m, weight = self.n_clusters, self.prior_weight
        columns = np.stack([state[:m], state[m : 2 * m], self._noisy_rates(state, rng)], axis=1)
        liked, swiped, draw = (self._membership_for_draws @ columns.astype(np.float32)).T.astype(np.float64)
        return (liked + weight * self._overall_rate(state)) / (swiped + weight), draw

    def explain(self, state, city_index, liked_photo_indices, k=3):
        # A liked photo counts for a city as much as it shares clusters with the city's photos.
        liked_photo_indices = np.asarray(liked_photo_indices, dtype=np.int64)
        in_city = self.photos.labels == city_index
        if not in_city.any() or liked_photo_indices.size == 0:
            return np.empty(0, dtype=np.int64)
        city_mass = self.membership[in_city].mean(axis=0, dtype=np.float64)
        shared = self.membership[liked_photo_indices] @ city_mass
        no_cluster_in_particular = 1.0 / self.n_clusters  # what an evenly spread photo would share
        return top_positive(liked_photo_indices, shared - no_cluster_in_particular, k)

    def favourite_looks(self, state, liked_photo_indices, k=3):
        # The clusters liked more often than this person likes photos overall, and that rest on at least
        # about one liked photo; for each, the liked photo most inside it (each photo stands for one look).
        m, weight = self.n_clusters, self.prior_weight
        liked_photo_indices = np.asarray(liked_photo_indices, dtype=np.int64)
        if liked_photo_indices.size == 0:
            return np.empty(0, dtype=np.int64)
        overall = self._overall_rate(state)
        rates = (state[:m] + weight * overall) / (state[m : 2 * m] + weight)
        liked_clusters = [
            c for c in np.argsort(-rates, kind="stable") if rates[c] > overall and state[c] >= 1.0
        ]
        chosen: list[int] = []
        for cluster in liked_clusters:
            for row in np.argsort(-self.membership[liked_photo_indices, cluster], kind="stable"):
                photo = int(liked_photo_indices[row])
                if photo not in chosen:
                    chosen.append(photo)
                    break
            if len(chosen) == k:
                break
        return np.asarray(chosen, dtype=np.int64)


class CityAndLookScorer(Scorer):
    """Each city's own like rate, shrunk toward the like rate of its look (multi_taste's city score) by as
    much as this person's swipes say cities differ beyond their looks.

        score[c] = (likes of c's photos + k * look[c]) / (swipes on c's photos + k)
        k = look[c] (1 - look[c]) / spread,   spread = the variance of city rates around their looks

    Why: multi_taste scores a city by the clusters its photos fall in. Where the clusters cut across cities
    (real photos: a night street looks alike in Paris and Madrid), a favourite city's likes spread over
    clusters every city shares, and its score barely rises above the others' (on 7 real cities it needed
    27 swipes to match the original's 40-swipe NDCG@5 on favourite cities; this scorer 12). A city's own
    rate sees the favourite at once, but for a person who likes a look, not a city, it is noise that pulls the ranking away from
    the look (a fixed k = 2 cost 0.2 NDCG@5 on the direction taste). So k is estimated per person, as in
    empirical Bayes: swipe counts that scatter more around the looks' rates than a coin of that rate would
    (binomial) are cities that matter; when they do not scatter more, k stays at `max_city_weight` and the
    ranking is the looks'. With no swipe on a city, its score is its look's either way.
    """

    name = "city_and_look"
    description = (
        "A city's score is how much you liked photos that look like its photos, and, once your swipes show "
        "that you like some cities more than their look explains, how much you liked that city's own photos."
    )

    def __init__(
        self,
        photos: PhotoSet,
        max_city_weight: float = 64.0,  # k when the swipes show no city effect: the looks decide
        min_city_weight: float = 0.5,  # k when they show a strong one: half a swipe of the look, still
        **multi_taste_settings,
    ):
        super().__init__(photos)
        self.looks = MultiTasteScorer(photos, **multi_taste_settings)
        self.max_city_weight, self.min_city_weight = max_city_weight, min_city_weight

    def settings(self) -> tuple:
        return self.looks.settings()  # the state is the looks' state plus counts; k is read, not stored

    def depends_on_catalogue(self) -> bool:
        return True  # the looks are clusters of this catalogue

    # state: multi_taste's state [2M + 2], then likes per city [C], swipes per city [C]
    @property
    def _look_size(self) -> int:
        return 2 * self.looks.n_clusters + 2

    def _split(self, state: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n, start = self.photos.n_cities, self._look_size
        return state[:start], state[start : start + n], state[start + n : start + 2 * n]

    def initial_state(self) -> np.ndarray:
        return np.zeros(self._look_size + 2 * self.photos.n_cities)

    def favourite_looks(self, state, liked_photo_indices, k=3):
        return self.looks.favourite_looks(state[: self._look_size], liked_photo_indices, k)

    def update(self, state: np.ndarray, photo_index: int, liked: bool) -> np.ndarray:
        looks = self.looks.update(state[: self._look_size], photo_index, liked)
        new = np.concatenate([looks, state[self._look_size :]])
        city = self._look_size + int(self.photos.labels[photo_index])
        if liked:
            new[city] += 1.0
        new[city + self.photos.n_cities] += 1.0
        return new

    def city_weights(self, look: np.ndarray, likes: np.ndarray, swipes: np.ndarray) -> np.ndarray:
        """k per city: how many swipes of the city's own count the look is worth, for this person.

        Method of moments: with a city rate = look + an offset of variance `spread`, the likes of a city
        swiped s times satisfy E[(likes - s look)^2] = s look (1 - look) + s (s - 1) spread. A city swiped
        once says nothing of the spread (the s - 1), and the + 2 keeps a handful of swipes from claiming one.
        """
        rate = np.clip(look, 1e-3, 1.0 - 1e-3)
        coin = rate * (1.0 - rate)
        excess = np.sum((likes - swipes * rate) ** 2 - swipes * coin)
        spread = max(float(excess), 0.0) / (float(np.sum(swipes * (swipes - 1.0))) + 2.0)
        if spread <= 0.0:
            return np.full(rate.shape, self.max_city_weight)
        return np.clip(coin / spread, self.min_city_weight, self.max_city_weight)

    def city_scores(self, state: np.ndarray) -> np.ndarray:
        looks, likes, swipes = self._split(state)
        look = self.looks.city_scores(looks)
        weight = self.city_weights(look, likes, swipes)
        return (likes + weight * look) / (swipes + weight)

    def sample_photo_scores(self, state: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        # The looks' own Thompson draw, blended like the ranking. Extra noise on the city rates (tried)
        # cost 0.03-0.05 NDCG@5 at 20 swipes on the look tastes of 7 real cities (40 people).
        looks, likes, swipes = self._split(state)
        look_scores, draw = self.looks.scores_and_draw(looks, rng)
        look = self.photos.city_means(look_scores, empty=self.looks._overall_rate(looks))  # looks.city_scores
        weight = self.city_weights(look, likes, swipes)
        labels = self.photos.labels
        return (likes[labels] + weight[labels] * draw) / (swipes[labels] + weight[labels])

    def explain(self, state, city_index, liked_photo_indices, k=3):
        # The city's own liked photos are the direct evidence (they move its rate); then look-alikes.
        liked_photo_indices = np.asarray(liked_photo_indices, dtype=np.int64)
        look_evidence = self.looks.explain(state[: self._look_size], city_index, liked_photo_indices, k)
        own = liked_photo_indices[self.photos.labels[liked_photo_indices] == city_index][:k]
        return np.concatenate([own, look_evidence[~np.isin(look_evidence, own)]])[:k]
