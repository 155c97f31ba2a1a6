"""The original swipe arithmetic, ranking and bar lengths, as pure NumPy functions (no Django).

The original City Vibes arithmetic: a like adds the photo's probability vector to the person's per-city
running totals, a dislike subtracts it, and the recommendations are the cities sorted by total.

Scores are float64; vectors arrive as float32 and are widened before adding. Scorer.replay (base.py) folds
the update over the log in order, so an incrementally maintained score equals a replay bit for bit.
"""

import numpy as np

SCORE_DTYPE = np.float64


def empty_scores(n_cities: int) -> np.ndarray:
    return np.zeros(n_cities, dtype=SCORE_DTYPE)


def apply_swipe(scores: np.ndarray, probabilities: np.ndarray, liked: bool) -> np.ndarray:
    """Return new scores after one swipe: + the vector on a like, - on a dislike."""
    if scores.shape != probabilities.shape:
        raise ValueError(f"score vector has {scores.shape[0]} cities, photo vector {probabilities.shape[0]}")
    delta = probabilities.astype(SCORE_DTYPE)
    return scores + delta if liked else scores - delta


def rank(scores: np.ndarray) -> np.ndarray:
    """City indices from best to worst score; ties keep the model's city order (a stable sort)."""
    return np.argsort(-scores, kind="stable")


def top_contributors(liked_vectors: np.ndarray, city_index: int, k: int = 3) -> np.ndarray:
    """Rows of `liked_vectors` (one per liked photo) that added most to one city's score, best first.

    A photo counts only where it gave the city more than an even share (1 / number of cities): every
    vector spreads a little probability over all cities (label smoothing, a softmax), and a liked Kyoto
    photo is no reason to recommend Miami.
    """
    if liked_vectors.size == 0:
        return np.empty(0, dtype=np.int64)
    n_cities = liked_vectors.shape[1]
    even_share = 1.0 / n_cities if n_cities > 1 else 0.0
    weights = liked_vectors[:, city_index]
    order = np.argsort(-weights, kind="stable")[:k]
    return order[weights[order] > even_share]


def bar_chart(scores: np.ndarray, indices: np.ndarray) -> list[tuple[int, float]]:
    """Bar lengths in [-1, 1] for the given cities, scaled by the largest absolute score shown."""
    values = scores[indices]
    scale = float(np.max(np.abs(values))) if values.size else 0.0
    if scale == 0.0:
        return [(int(i), 0.0) for i in indices]
    return [(int(i), float(v) / scale) for i, v in zip(indices, values, strict=True)]
