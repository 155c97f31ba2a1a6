"""City similarity from how the model confuses their photos (pure NumPy, no Django).

The original idea: the softmax spreads a photo's probability over cities that look alike, so the mean
probability vector of a city's photos says which other cities it resembles. M[a, b] is the mean
probability that a photo filed under city a shows city b; similarity is its symmetric part, with the
diagonal (a city resembling itself) left out.
"""

import numpy as np


def mean_vectors(
    labels: np.ndarray, probabilities: np.ndarray, n_cities: int
) -> tuple[np.ndarray, np.ndarray]:
    """Row a: the mean probability vector of the photos labelled a. Also returns each city's photo count."""
    sums = np.zeros((n_cities, probabilities.shape[1]), dtype=np.float64)
    np.add.at(sums, labels, probabilities)
    counts = np.bincount(labels, minlength=n_cities)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts[:, None] > 0, sums / counts[:, None], 0.0)
    return means, counts


def similarity_matrix(means: np.ndarray) -> np.ndarray:
    """Symmetric confusion between cities, zero on the diagonal: cell (a, b) is the mean probability the model
    gives the other city, averaged over both directions. Not rescaled, so the pages can say what it is."""
    symmetric = (means + means.T) / 2
    np.fill_diagonal(symmetric, 0.0)
    return symmetric


def most_similar(similarity: np.ndarray, index: int, k: int = 5) -> list[tuple[int, float]]:
    """The k cities most similar to `index`, best first (ties keep city order)."""
    row = similarity[index].copy()
    row[index] = -np.inf
    order = np.argsort(-row, kind="stable")[:k]
    return [(int(i), float(row[i])) for i in order if np.isfinite(row[i])]


def heatmap_order(similarity: np.ndarray) -> np.ndarray:
    """A row/column order that puts similar cities next to each other (greedy nearest neighbour chain)."""
    n = similarity.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.int64)
    start = int(np.argmax(similarity.sum(axis=1)))
    order, left = [start], set(range(n)) - {start}
    while left:
        last = order[-1]
        nxt = max(sorted(left), key=lambda j: similarity[last, j])
        order.append(nxt)
        left.remove(nxt)
    return np.array(order)


def as_percent(probability: float) -> str:
    """A probability as the pages print it: whole percents when large, one decimal when small, and never a
    bare "0%" for a chance that is merely tiny."""
    percent = 100 * probability
    if percent >= 10:
        return f"{percent:.0f}%"
    if percent >= 0.1:
        return f"{percent:.1f}%"
    return "0%" if percent == 0 else "<0.1%"
