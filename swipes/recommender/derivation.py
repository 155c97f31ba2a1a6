"""What the embedding scorers and the adaptive policy derive from a catalogue, computed once and kept
(pure NumPy, no Django).

A Derivation is the projection of the photos' embeddings (or probability vectors) onto their top principal
axes, the look clusters of the projected photos, and each photo's soft membership of them. Deriving it
takes seconds at 50,000 photos (a randomised SVD and k-means); the ml worker does it once per catalogue
revision and stores it (swipes.catalogue_store), and web processes only load it.

New photos *join* a derivation: they are projected on the same axes and assigned to the same clusters,
and the rows of the photos already there are kept bit for bit. So a stored state (which sums rows of
swiped photos) still replays to the same bits after the catalogue grew, and its fingerprint (the digest of
the catalogue the derivation was fitted on) stays valid until a full re-derivation is due.
"""

from dataclasses import dataclass, replace

import numpy as np

from .catalogue import principal_axes, spherical_kmeans, unit_rows

DIMENSIONS = 32  # what every scorer and policy projects to by default
SEED = 0
SHARPNESS = 4.0  # membership = softmax(sharpness * cosine to each centre); see MultiTasteScorer
DISTINCT_CITIES_ACCURACY = 0.9  # the model's top-1 accuracy above which cities are distinct to it


@dataclass(frozen=True, eq=False)
class Derivation:
    features: np.ndarray  # float64 [N, d]: projected photos, unit variance on average
    described_by: str  # "embeddings" or "probabilities": what was projected
    mean: np.ndarray  # float64 [D]: mean of the unit source rows it was fitted on
    axes: np.ndarray  # float64 [D, d]
    scale: float
    centres: np.ndarray  # float64 [k, d]: unit cluster centres of the projected photos
    membership: np.ndarray  # float64 [N, k]
    digest: bytes  # the digest of the catalogue it was fitted on (stored states carry it)
    fitted_photos: int  # how many photos it was fitted on (the rest joined later)
    dimensions: int = DIMENSIONS
    seed: int = SEED
    sharpness: float = SHARPNESS

    @property
    def n_photos(self) -> int:
        return self.features.shape[0]

    @property
    def n_clusters(self) -> int:
        return self.centres.shape[0]

    def matches(self, dimensions: int, seed: int, sharpness: float | None = None) -> bool:
        return (dimensions, seed) == (self.dimensions, self.seed) and sharpness in (None, self.sharpness)


def source_rows(probabilities: np.ndarray, embeddings: np.ndarray | None) -> tuple[np.ndarray, str]:
    """What a photo's look is described by: its embedding, or without one its probability vector."""
    if embeddings is not None:
        return embeddings, "embeddings"
    return probabilities, "probabilities"


def fit_projection(source: np.ndarray, dimensions: int, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(mean, axes, scale) of unit-length `source` rows: see catalogue.projected_features."""
    unit = unit_rows(np.asarray(source, dtype=np.float64))
    mean, axes, variances = principal_axes(unit, dimensions, seed)
    scale = float(np.sqrt(variances.mean())) if variances.size and variances.mean() > 0 else 1.0
    return mean, axes, scale


def project(source: np.ndarray, mean: np.ndarray, axes: np.ndarray, scale: float) -> np.ndarray:
    unit = unit_rows(np.asarray(source, dtype=np.float64))
    return ((unit - mean) @ axes) / scale


def default_cluster_count(n_photos: int, n_cities: int, has_embeddings: bool, label_accuracy: float) -> int:
    """Enough photos per cluster to be a look: 52 for 5,337 photos, 9 for 180 (see MultiTasteScorer)."""
    clusters = int(np.clip(round(np.sqrt(n_photos / 2)), 2, 64))
    if not has_embeddings or label_accuracy >= DISTINCT_CITIES_ACCURACY:
        # When the model tells the cities apart (or knows nothing but the labels), fewer clusters than
        # cities would merge cities a person tells apart too. Measured on the 12-city demo set: 10 clusters
        # did not find a favourite city in 60 swipes, 12 did in 44. Where cities share looks (the synthetic
        # catalogues, top-1 0.78), the sqrt(N/2) clusters do better.
        clusters = max(clusters, min(n_cities, 64, n_photos))
    return clusters


def memberships(features: np.ndarray, centres: np.ndarray, sharpness: float) -> np.ndarray:
    logits = sharpness * (unit_rows(features) @ centres.T)
    membership = np.exp(logits - logits.max(axis=1, keepdims=True))
    return membership / membership.sum(axis=1, keepdims=True)


def derive(
    photos, dimensions: int = DIMENSIONS, seed: int = SEED, sharpness: float = SHARPNESS
) -> Derivation:
    """The full derivation of a PhotoSet (seconds at 50,000 photos: run it with one BLAS thread, in a job)."""
    source, described_by = source_rows(photos.probabilities, photos.embeddings)
    mean, axes, scale = fit_projection(source, dimensions, seed)
    features = project(source, mean, axes, scale)
    clusters = default_cluster_count(
        photos.n_photos, photos.n_cities, photos.embeddings is not None, photos.label_accuracy
    )
    centres = spherical_kmeans(unit_rows(features), clusters, seed)
    return Derivation(
        features=features,
        described_by=described_by,
        mean=mean,
        axes=axes,
        scale=scale,
        centres=centres,
        membership=memberships(features, centres, sharpness),
        digest=photos.digest,
        fitted_photos=photos.n_photos,
        dimensions=dimensions,
        seed=seed,
        sharpness=sharpness,
    )


def join(derivation: Derivation, keep: np.ndarray, new_source: np.ndarray) -> Derivation:
    """The derivation of the catalogue that keeps rows `keep` (indices, in order) and appends photos
    described by `new_source` [n, D], projected on the same axes and assigned to the same clusters.

    The kept rows are copied, not recomputed, so every state built from them replays bit for bit.
    """
    if len(new_source) == 0:  # nothing joined (photos were hidden or removed, or none came)
        new_features = np.zeros((0, derivation.features.shape[1]))
        new_membership = np.zeros((0, derivation.n_clusters))
    else:
        new_features = project(new_source, derivation.mean, derivation.axes, derivation.scale)
        new_membership = memberships(new_features, derivation.centres, derivation.sharpness)
    return replace(
        derivation,
        features=np.concatenate(
            [derivation.features[keep], new_features.reshape(-1, derivation.features.shape[1])]
        ),
        membership=np.concatenate(
            [derivation.membership[keep], new_membership.reshape(-1, derivation.n_clusters)]
        ),
    )
