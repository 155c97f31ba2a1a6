"""The catalogue helpers (swipes.recommender.catalogue): PhotoSet checks, projection and clustering."""

import numpy as np
import pytest

from swipes.recommender.catalogue import (
    PhotoSet,
    principal_axes,
    projected_features,
    spherical_kmeans,
    unit_rows,
)


def test_photo_set_checks_shapes_and_freezes_its_arrays():
    vectors = np.full((3, 2), 0.5, np.float32)
    photos = PhotoSet(vectors, np.array([0, 1, 1]), np.ones((3, 4)))
    assert (photos.n_photos, photos.n_cities) == (3, 2) and photos.embeddings.dtype == np.float32
    with pytest.raises(ValueError):
        photos.probabilities[0, 0] = 1.0  # shared by every request
    with pytest.raises(ValueError, match="outside"):
        PhotoSet(vectors, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="do not match"):
        PhotoSet(vectors, np.array([0, 1, 1]), np.ones((2, 4)))


def test_city_means_and_groups_handle_a_city_without_photos():
    photos = PhotoSet(np.full((3, 3), 1 / 3, np.float32), np.array([2, 0, 2]))
    np.testing.assert_allclose(photos.city_means(np.array([1.0, 4.0, 3.0]), empty=-1.0), [4.0, -1.0, 2.0])
    assert [group.tolist() for group in photos.city_photo_indices] == [[1], [], [0, 2]]


def test_the_randomised_axes_span_the_same_space_as_a_full_svd():
    rng = np.random.default_rng(0)
    data = rng.standard_normal((300, 5)) @ rng.standard_normal((5, 40)) + 0.01 * rng.standard_normal(
        (300, 40)
    )
    mean, axes, variances = principal_axes(data, 5, seed=3)
    _, singular_values, right = np.linalg.svd(data - data.mean(axis=0), full_matrices=False)
    np.testing.assert_allclose(np.abs(axes.T @ right[:5].T), np.eye(5), atol=1e-6)  # same axes, up to sign
    np.testing.assert_allclose(variances, singular_values[:5] ** 2 / 299, rtol=1e-6)
    again = principal_axes(data, 5, seed=3)[1]
    assert np.array_equal(axes, again)  # the same seed, the same bits


def test_projected_features_have_unit_variance_on_average_and_fit_tiny_inputs():
    rng = np.random.default_rng(1)
    features = projected_features(rng.standard_normal((200, 30)), 8)
    assert features.shape == (200, 8)
    assert features.var(axis=0, ddof=1).mean() == pytest.approx(1.0, rel=0.01)  # randomised estimate
    assert projected_features(rng.standard_normal((3, 30)), 8).shape == (3, 2)  # at most n - 1 axes


def test_spherical_kmeans_finds_well_separated_groups():
    rng = np.random.default_rng(2)
    directions = np.eye(6)[:3]
    unit = unit_rows(np.repeat(directions, [40, 5, 20], axis=0) + 0.05 * rng.standard_normal((65, 6)))
    centres = spherical_kmeans(unit, 3, seed=0)
    assert np.allclose(np.sort(np.argmax(np.abs(centres), axis=1)), [0, 1, 2])  # the small group too
    assert spherical_kmeans(unit[:2], 5).shape == (2, 6)
