"""The label-only baseline: before any CNN is trained, each photo's vector is a smoothed one-hot of the city it
was filed under. Pure NumPy."""

import numpy as np


def smoothed_one_hot(n_cities: int, index: int, smoothing: float) -> np.ndarray:
    """The label-only baseline vector: 1 - smoothing on the labelled city, the rest spread evenly."""
    if n_cities == 1:
        return np.ones(1, dtype=np.float32)
    vector = np.full(n_cities, smoothing / (n_cities - 1), dtype=np.float32)
    vector[index] = 1.0 - smoothing
    return vector


def label_only_vectors(city_order: list[int], photos, smoothing: float) -> tuple[list[int], np.ndarray]:
    """(photo ids, vectors) for the (photo id, city id) pairs whose city is in `city_order`."""
    index_of = {city_id: i for i, city_id in enumerate(city_order)}
    ids, vectors = [], []
    for photo_id, city_id in photos:
        if city_id in index_of:
            ids.append(photo_id)
            vectors.append(smoothed_one_hot(len(city_order), index_of[city_id], smoothing))
    return ids, np.array(vectors, dtype=np.float32).reshape(len(ids), len(city_order))
