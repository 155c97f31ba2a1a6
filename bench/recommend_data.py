"""Data for the recommendation simulation: a synthetic catalogue and simulated people (pure NumPy).

The synthetic catalogue mimics a real one where the naive sum goes wrong: cities are clusters in a 64-d
embedding space, grouped into visual styles (coastal, alpine, old town…) so that some cities look alike;
photo counts are uneven (5 to 60 per city, most near the low end); and the "CNN" is a softmax over noisy
class logits in which a tenth of the cities get a bias, so the model over-predicts them on every photo.

A simulated person has a hidden taste that says how likely they are to like each photo; their answer to a
photo is drawn once per person and photo (common random numbers: every scorer and policy meets the same
answers). Each person's true city ranking is the mean like probability over each city's photos.
"""

from dataclasses import dataclass

import numpy as np

from swipes.recommender.catalogue import PhotoSet, principal_axes, unit_rows

TASTES = ("favourite_cities", "direction", "two_clusters")


def synthetic_catalogue(
    n_cities: int = 266,
    dimensions: int = 64,
    n_styles: int = 16,
    photos_per_city: tuple[int, int] = (5, 60),
    typical_photos: int = 14,
    over_predicted_share: float = 0.1,
    seed: int = 0,
) -> PhotoSet:
    rng = np.random.default_rng(seed)
    styles = rng.standard_normal((n_styles, dimensions))
    # A city = its style plus its own look; a photo = its city plus the shot's own variation.
    centres = styles[rng.integers(n_styles, size=n_cities)] + 0.5 * rng.standard_normal(
        (n_cities, dimensions)
    )
    low, high = photos_per_city
    counts = np.clip(np.round(rng.lognormal(np.log(typical_photos), 0.8, n_cities)), low, high).astype(int)
    labels = np.repeat(np.arange(n_cities), counts)
    embeddings = centres[labels] + 1.0 * rng.standard_normal((labels.size, dimensions))
    # The CNN: a nearest-centre classifier that sees a noisy view of the photo, with biased cities.
    seen = embeddings + 0.8 * rng.standard_normal(embeddings.shape)
    squared_distance = (
        (seen**2).sum(axis=1, keepdims=True) - 2 * seen @ centres.T + (centres**2).sum(axis=1)[None, :]
    )
    bias = 0.3 * rng.standard_normal(n_cities)
    over_predicted = rng.choice(n_cities, size=int(round(over_predicted_share * n_cities)), replace=False)
    bias[over_predicted] += 1.5
    logits = -squared_distance / 8.0 + bias
    logits -= logits.max(axis=1, keepdims=True)
    probabilities = np.exp(logits)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    return PhotoSet(probabilities.astype(np.float32), labels, embeddings.astype(np.float32))


def describe_catalogue(photos: PhotoSet) -> str:
    counts = photos.photo_counts
    accuracy = float(np.mean(np.argmax(photos.probabilities, axis=1) == photos.labels))
    share = photos.city_prior / np.maximum(counts / max(photos.n_photos, 1), 1e-12)
    dimension = "no embeddings" if photos.embeddings is None else f"{photos.embeddings.shape[1]}-d embeddings"
    return (
        f"{photos.n_cities} cities, {photos.n_photos} photos ({counts.min()}–{counts.max()} per city), "
        f"{dimension}, top-1 accuracy {accuracy:.2f}, {int(np.sum(share > 2))} cities predicted over twice "
        f"as often as they occur"
    )


@dataclass(frozen=True)
class People:
    taste: str
    like_probability: np.ndarray  # [P, N] noise-free probability that each person likes each photo
    will_like: np.ndarray  # [P, N] bool: the answer each person gives to each photo (drawn once)
    city_utility: np.ndarray  # [P, C] mean like probability over each city's photos: the truth to rank


def _zscore(values: np.ndarray) -> np.ndarray:
    return (values - values.mean(axis=-1, keepdims=True)) / (values.std(axis=-1, keepdims=True) + 1e-12)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def simulate_people(photos: PhotoSet, taste: str, n_people: int, seed: int = 0) -> People:
    """People of one taste kind. Looks are compared on the unit embeddings (or vectors, without any).

    - favourite_cities: 1 to 3 favourite cities; their photos are likely liked, and so, less strongly, is
      any photo that looks like one of them (cosine to the favourite's mean photo).
    - direction: like probability rises along one direction of the embedding space (a random mix of its
      eight main axes: "greener", "older", "busier").
    - two_clusters: two unrelated liked looks (two random anchor photos of different cities).
    """
    rng = np.random.default_rng([seed, TASTES.index(taste)])
    look = unit_rows(
        np.asarray(photos.embeddings if photos.embeddings is not None else photos.probabilities, np.float64)
    )
    cities_with_photos = np.flatnonzero(photos.photo_counts > 0)
    if taste == "favourite_cities":
        centroids = unit_rows(
            np.stack(
                [
                    look[group].mean(axis=0) if group.size else np.zeros(look.shape[1])
                    for group in photos.city_photo_indices
                ]
            )
        )
        logits = np.empty((n_people, photos.n_photos))
        for person in range(n_people):
            favourites = rng.choice(cities_with_photos, size=int(rng.integers(1, 4)), replace=False)
            resemblance = _zscore((look @ centroids[favourites].T).max(axis=1))
            logits[person] = -2.2 + 2.2 * np.isin(photos.labels, favourites) + 1.0 * resemblance
    elif taste == "direction":
        _, axes, _ = principal_axes(look, 8, seed)
        directions = rng.standard_normal((n_people, axes.shape[1])) @ axes.T
        logits = -1.2 + 2.0 * _zscore(directions @ look.T)
    elif taste == "two_clusters":
        logits = np.empty((n_people, photos.n_photos))
        for person in range(n_people):
            first, second = rng.choice(cities_with_photos, size=2, replace=False)
            anchors = [rng.choice(photos.city_photo_indices[c]) for c in (first, second)]
            logits[person] = -2.2 + 2.0 * _zscore((look @ look[anchors].T).max(axis=1))
    else:
        raise ValueError(f"unknown taste {taste!r}; choose one of {TASTES}")
    # Generosity: some people like half of what they see, others a tenth, whatever their taste.
    logits = logits + rng.normal(0.6, 0.8, size=(n_people, 1))
    like_probability = _sigmoid(logits)
    # Noise: a person's answer to one photo also depends on the shot (light, mood), not only the taste.
    noisy = _sigmoid(logits + 0.8 * rng.standard_normal(logits.shape))
    will_like = rng.random(logits.shape) < noisy
    utility = np.stack([photos.city_means(row, empty=0.0) for row in like_probability])
    return People(taste, like_probability, will_like, utility)
