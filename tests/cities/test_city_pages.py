"""City similarity (pure functions) and the city and heatmap pages."""

import numpy as np
import pytest
from django.test import Client

from cities.models import Photo
from mlworker import similarity
from mlworker.models import ModelVersion
from mlworker.services import activate, write_predictions


def test_mean_vectors_average_each_citys_photos():
    labels = np.array([0, 0, 1])
    probs = np.array([[0.8, 0.2, 0.0], [0.6, 0.4, 0.0], [0.1, 0.7, 0.2]])
    means, counts = similarity.mean_vectors(labels, probs, 3)
    np.testing.assert_allclose(means, [[0.7, 0.3, 0.0], [0.1, 0.7, 0.2], [0, 0, 0]])
    assert counts.tolist() == [2, 1, 0]


def test_similarity_is_the_symmetric_mean_probability_without_the_diagonal():
    means = np.array([[0.7, 0.3, 0.0], [0.1, 0.7, 0.2], [0.0, 0.0, 1.0]])
    sim = similarity.similarity_matrix(means)
    assert np.array_equal(sim, sim.T) and np.all(np.diag(sim) == 0)
    # Not rescaled: alike pairs read as the probability itself, (0.3 + 0.1) / 2.
    assert similarity.most_similar(sim, 0, k=2) == [(1, pytest.approx(0.2)), (2, 0.0)]
    assert similarity.most_similar(sim, 2, k=1) == [(1, pytest.approx(0.1))]


def test_percentages_never_round_a_small_chance_to_zero():
    assert [similarity.as_percent(p) for p in (0.35, 0.035, 0.0004, 0.0)] == ["35%", "3.5%", "<0.1%", "0%"]


def test_heatmap_order_chains_similar_cities():
    sim = np.array([[0, 0.9, 0.1, 0.0], [0.9, 0, 0.2, 0.1], [0.1, 0.2, 0, 0.8], [0.0, 0.1, 0.8, 0]])
    order = similarity.heatmap_order(sim).tolist()
    assert sorted(order) == [0, 1, 2, 3]
    assert abs(order.index(0) - order.index(1)) == 1 and abs(order.index(2) - order.index(3)) == 1


@pytest.fixture
def confusing_model(photo_set):
    """A stand-in trained model: alpha and beta photos are often mistaken for each other, gamma never."""
    photos = photo_set()
    baseline = ModelVersion.objects.get(is_active=True)
    version = ModelVersion.objects.create(
        name="cnn test", backbone="efficientnet_lite0", city_ids=baseline.city_ids, status="ready"
    )
    rows = {"alpha": [0.6, 0.4, 0.0], "beta": [0.3, 0.7, 0.0], "gamma": [0.02, 0.03, 0.95]}
    ids = [p.pk for slug in rows for p in photos[slug]]
    vectors = [rows[slug] for slug in rows for _ in photos[slug]]
    write_predictions(version, ids, np.array(vectors, dtype=np.float32))
    activate(version)
    return photos


def test_city_page_lists_photos_and_loads_the_most_similar_cities(confusing_model):
    page = Client().get("/cities/alpha/").content.decode()
    assert page.count("<figure>") == 4
    # The look-alikes come from the model's page: htmx loads them, and the plain link works without JS.
    assert 'hx-get="/cities/alpha/look-alikes/"' in page and 'href="/cities/alpha/look-alikes/"' in page
    fragment = Client().get("/cities/alpha/look-alikes/", HTTP_HX_REQUEST="true")
    assert "<html" not in fragment.content.decode() and "HX-Request" in fragment["Vary"]
    similar = fragment.content.decode().split('id="similar-cities"')[1].split("</ol>")[0]
    assert similar.index('data-slug="beta"') < similar.index('data-slug="gamma"')
    assert "35%" in similar  # (0.4 + 0.3) / 2: the raw mean probability, not scaled to the top pair
    assert "average chance" in fragment.content.decode()
    full = Client().get("/cities/alpha/look-alikes/").content.decode()
    assert "<html" in full and 'id="similar-cities"' in full


def test_city_page_under_the_baseline_explains_why_there_are_no_look_alikes(photo_set):
    photo_set()
    page = Client().get("/cities/alpha/look-alikes/").content.decode()
    assert 'id="similar-empty"' in page and "trained" in page
    assert "CNN" not in page and "baseline" not in page  # no engineering words on a public page
    assert Client().get("/cities/no-such-city/").status_code == 404
    assert Client().get("/cities/no-such-city/look-alikes/").status_code == 404


def test_similarity_heatmap_draws_one_cell_per_city_pair(confusing_model):
    Photo.objects.filter(city__slug="gamma").update(status=Photo.Status.HIDDEN)
    page = Client().get("/cities/similarity/").content.decode()
    assert 'id="similarity-heatmap"' in page
    heatmap = page.split('id="similarity-heatmap"')[1].split("</svg>")[0]
    assert heatmap.count("<rect") == 2  # alpha~beta and beta~alpha; hidden gamma photos are left out
    assert "Alpha &amp; Beta: 35%" in heatmap
    # The legend says what the colours mean; the list gives each pair once.
    legend = page.split('id="heatmap-legend"')[1].split("</figcaption>")[0]
    assert "relative to the most alike pair" in legend and "35%" in legend
    assert page.split('id="alike-pairs"')[1].split("</ol>")[0].count("<li") == 1
    assert "softmax" not in page
