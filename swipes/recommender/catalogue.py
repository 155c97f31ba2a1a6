"""The photo catalogue a scorer scores against, and what is derived from it once (pure NumPy, no Django).

A PhotoSet is every servable photo under one model version, in a fixed order (the photo index used by the
scorers and policies is a row of these arrays): the model's probability vector of each photo, its labelled
city, optionally its pooled backbone embedding, and optionally its place in the global queue. Everything heavy (a projection of the embeddings,
per-city groups) is computed once per PhotoSet, so that a swipe costs only a few small vector operations.
"""

import hashlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass(frozen=True, eq=False)
class PhotoSet:
    # float32 [N, C]: each photo's vector under the model, in ModelVersion.city_ids order
    probabilities: np.ndarray
    labels: np.ndarray  # int64 [N]: index of the photo's own city in that order
    embeddings: np.ndarray | None = None  # float32 [N, D]: pooled backbone features, if computed
    # int64 [N]: each photo's place in the global queue (its stored random key), if it has one. Only the
    # global-queue policy reads it; no scorer state depends on it, so the digest leaves it out.
    queue_keys: np.ndarray | None = None
    # What is derived from it (projection, look clusters), loaded from a stored artifact or joined by new
    # photos (derivation.py); None to derive lazily here. Its digest stands for the catalogue's.
    derivation: object | None = None

    def __post_init__(self):
        probabilities = np.ascontiguousarray(self.probabilities, dtype=np.float32)
        labels = np.ascontiguousarray(self.labels, dtype=np.int64)
        if probabilities.ndim != 2 or labels.shape != (probabilities.shape[0],):
            raise ValueError(f"probabilities {probabilities.shape} and labels {labels.shape} disagree")
        if labels.size and (labels.min() < 0 or labels.max() >= probabilities.shape[1]):
            raise ValueError("a label is outside the model's cities")
        embeddings = self.embeddings
        if embeddings is not None:
            embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)
            if embeddings.ndim != 2 or embeddings.shape[0] != labels.shape[0]:
                raise ValueError(f"embeddings {embeddings.shape} do not match {labels.shape[0]} photos")
        queue_keys = self.queue_keys
        if queue_keys is not None:
            queue_keys = np.ascontiguousarray(queue_keys, dtype=np.int64)
            if queue_keys.shape != labels.shape:
                raise ValueError(f"queue keys {queue_keys.shape} do not match {labels.shape[0]} photos")
        if self.derivation is not None and self.derivation.n_photos != labels.shape[0]:
            raise ValueError(f"the derivation has {self.derivation.n_photos} photos, not {labels.shape[0]}")
        for array in (probabilities, labels, embeddings, queue_keys):
            if array is not None:
                array.flags.writeable = False  # shared by every request: nobody may change it in place
        object.__setattr__(self, "probabilities", probabilities)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "embeddings", embeddings)
        object.__setattr__(self, "queue_keys", queue_keys)

    @property
    def n_photos(self) -> int:
        return self.probabilities.shape[0]

    @property
    def n_cities(self) -> int:
        return self.probabilities.shape[1]

    @cached_property
    def city_prior(self) -> np.ndarray:
        """The mean probability vector over all photos: what a swipe on an arbitrary photo would add."""
        if self.n_photos == 0:
            return np.zeros(self.n_cities)
        return self.probabilities.mean(axis=0, dtype=np.float64)

    @cached_property
    def label_accuracy(self) -> float:
        """How often the model's most probable city is the photo's own: how distinct the cities look to it."""
        if self.n_photos == 0:
            return 0.0
        return float(np.mean(self.probabilities.argmax(axis=1) == self.labels))

    @cached_property
    def photo_counts(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=self.n_cities)

    @cached_property
    def digest(self) -> bytes:
        """16 bytes that change whenever the arrays do; stored states carry it to detect a stale catalogue.

        With a derivation, the digest of the catalogue it was fitted on: photos that joined it later do not
        make stored states stale."""
        if self.derivation is not None:
            return self.derivation.digest
        hasher = hashlib.blake2b(digest_size=16)
        for array in (self.probabilities, self.labels, self.embeddings):
            hasher.update(b"none" if array is None else repr(array.shape).encode() + array.tobytes())
        return hasher.digest()

    @cached_property
    def _derived(self) -> dict:
        return {}

    def projected(self, dimensions: int, seed: int = 0) -> tuple[np.ndarray, str]:
        """(projected_features of the embeddings, "embeddings"), computed once per PhotoSet and shared.

        Without embeddings the model's probability vectors stand in as the description of each photo
        ("probabilities"): the softmax also says what a photo looks like, if more coarsely.
        """
        if self.derivation is not None and self.derivation.matches(dimensions, seed):
            return self.derivation.features, self.derivation.described_by
        key = ("projected", dimensions, seed)
        if key not in self._derived:
            if self.embeddings is not None:
                source, described_by = self.embeddings, "embeddings"
            else:
                source, described_by = self.probabilities, "probabilities"
            features = projected_features(source, dimensions, seed)
            features.flags.writeable = False
            self._derived[key] = (features, described_by)
        return self._derived[key]

    @cached_property
    def city_photo_indices(self) -> list[np.ndarray]:
        """Photo indices of each city, in catalogue order."""
        order = np.argsort(self.labels, kind="stable")
        return np.split(order, np.cumsum(self.photo_counts)[:-1])

    def city_means(self, values: np.ndarray, empty: float = 0.0) -> np.ndarray:
        """Mean of a per-photo value [N] over each city's photos [C]; `empty` where a city has none."""
        sums = np.bincount(self.labels, weights=values, minlength=self.n_cities)
        counts = self.photo_counts
        means = np.full(self.n_cities, empty, dtype=np.float64)
        np.divide(sums, counts, out=means, where=counts > 0)
        return means


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (zero rows stay zero): cosine geometry, whatever the backbone's scale."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


def principal_axes(
    data: np.ndarray, n_components: int, seed: int = 0, power_iterations: int = 4
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The top principal axes of `data` [N, D] by a seeded randomised SVD: (mean [D], axes [D, k], variances [k]).

    Randomised rather than a full SVD because a 5,000 x 1,280 full SVD takes seconds, and this runs each
    time a worker first sees a catalogue; with a fixed seed the axes are the same on every run.
    """
    data = np.asarray(data, dtype=np.float64)
    n, d = data.shape
    k = max(0, min(n_components, n - 1, d))
    mean = data.mean(axis=0) if n else np.zeros(d)
    if k == 0:
        return mean, np.zeros((d, 0)), np.zeros(0)
    centred = data - mean
    sketch_size = min(d, k + 10)
    basis = centred @ np.random.default_rng(seed).standard_normal((d, sketch_size))
    for _ in range(power_iterations):  # sharpen the sketch toward the leading singular vectors
        basis, _ = np.linalg.qr(basis)
        basis, _ = np.linalg.qr(centred.T @ basis)
        basis = centred @ basis
    basis, _ = np.linalg.qr(basis)
    _, singular_values, right = np.linalg.svd(basis.T @ centred, full_matrices=False)
    axes = right[:k].T
    # Fix each axis's sign (an SVD may return either) so that two runs give the same features.
    signs = np.sign(axes[np.argmax(np.abs(axes), axis=0), np.arange(k)])
    return mean, axes * signs, singular_values[:k] ** 2 / max(n - 1, 1)


def projected_features(embeddings: np.ndarray, n_components: int, seed: int = 0) -> np.ndarray:
    """Unit-length embeddings projected on their top principal axes, scaled to unit variance on average.

    A small dimension keeps the per-profile model (a k x k matrix) cheap to store and to update inside the
    swipe request; one common scale (not whitening) keeps the strong visual axes stronger than the weak ones.
    """
    unit = unit_rows(np.asarray(embeddings, dtype=np.float64))
    mean, axes, variances = principal_axes(unit, n_components, seed)
    features = (unit - mean) @ axes
    scale = np.sqrt(variances.mean()) if variances.size and variances.mean() > 0 else 1.0
    return features / scale


def spherical_kmeans(unit: np.ndarray, n_clusters: int, seed: int = 0, iterations: int = 15) -> np.ndarray:
    """Cluster centres [k, d] (unit length) of unit rows, by cosine k-means from a farthest-point start.

    The farthest-point start (first centre seeded, each next one the row least like any centre so far) keeps
    small, distinct groups of photos from being swallowed by big ones; a fixed seed fixes the result.
    """
    unit = np.asarray(unit, dtype=np.float64)
    n = unit.shape[0]
    k = max(1, min(n_clusters, n))
    chosen = [int(np.random.default_rng(seed).integers(n))]
    closest = unit @ unit[chosen[0]]
    for _ in range(1, k):
        chosen.append(int(np.argmin(closest)))
        closest = np.maximum(closest, unit @ unit[chosen[-1]])
    centres = unit[chosen].copy()
    for _ in range(iterations):
        assignment = np.argmax(unit @ centres.T, axis=1)
        sums = np.zeros_like(centres)
        np.add.at(sums, assignment, unit)
        moved = unit_rows(sums)
        centres = np.where(np.linalg.norm(sums, axis=1, keepdims=True) > 0, moved, centres)
    return centres
