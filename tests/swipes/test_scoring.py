"""The scoring math on its own: the original add/subtract arithmetic, replay equality and ranking."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlworker.label_only import smoothed_one_hot
from swipes import charts
from swipes.recommender import scoring
from swipes.recommender.catalogue import PhotoSet
from swipes.recommender.scorers import OriginalScorer


def test_like_adds_and_dislike_subtracts_the_vector():
    scores = scoring.empty_scores(3)
    photo = np.array([0.7, 0.2, 0.1], dtype=np.float32)
    liked = scoring.apply_swipe(scores, photo, True)
    np.testing.assert_allclose(liked, [0.7, 0.2, 0.1], rtol=1e-6)
    np.testing.assert_allclose(scoring.apply_swipe(liked, photo, False), [0, 0, 0], atol=1e-7)


def test_vectors_of_another_model_are_refused():
    with pytest.raises(ValueError, match="3 cities"):
        scoring.apply_swipe(scoring.empty_scores(3), np.ones(4, dtype=np.float32), True)


swipe_logs = st.integers(min_value=1, max_value=8).flatmap(
    lambda n: st.lists(
        st.tuples(
            st.lists(st.floats(0, 1, width=32), min_size=n, max_size=n).map(
                lambda v: np.array(v, np.float32)
            ),
            st.booleans(),
        ),
        max_size=40,
    ).map(lambda log: (n, log))
)


@given(swipe_logs)
def test_incremental_updates_equal_a_replay_of_the_log(n_and_log):
    n, log = n_and_log
    scores = scoring.empty_scores(n)
    for vector, liked in log:
        scores = scoring.apply_swipe(scores, vector, liked)
    # The one replay (Scorer.replay) over a catalogue of exactly these vectors, one photo per swipe.
    vectors = np.array([v for v, _ in log], dtype=np.float32).reshape(len(log), n)
    photos = PhotoSet(probabilities=vectors, labels=np.zeros(len(log), dtype=np.int64))
    replayed = OriginalScorer(photos).replay(range(len(log)), [liked for _, liked in log])
    assert np.array_equal(scores, replayed)  # bit for bit, not approximately


def test_rank_is_descending_and_stable_on_ties():
    assert scoring.rank(np.array([0.5, 2.0, 0.5, -1.0])).tolist() == [1, 0, 2, 3]


def test_smoothed_one_hot_is_a_probability_vector():
    vector = smoothed_one_hot(5, 2, 0.1)
    assert vector[2] == pytest.approx(0.9)
    assert vector.sum() == pytest.approx(1.0)
    assert np.all(np.delete(vector, 2) == pytest.approx(0.025))
    assert smoothed_one_hot(1, 0, 0.1).tolist() == [1.0]


def test_top_contributors_orders_by_the_city_column_and_drops_the_rest():
    liked = np.array(
        [[0.3, 0.7, 0, 0], [0.6, 0.4, 0, 0], [0.0, 1.0, 0, 0], [0.5, 0.5, 0, 0], [0.2, 0.8, 0, 0]],
        dtype=np.float32,
    )
    assert scoring.top_contributors(liked, 0, k=2).tolist() == [1, 3]
    # Row 4 gives city 0 less than an even share (0.25 of 4 cities), row 2 nothing.
    assert scoring.top_contributors(liked, 0, k=5).tolist() == [1, 3, 0]
    assert scoring.top_contributors(np.empty((0, 2), np.float32), 0).tolist() == []


def test_top_contributors_ignore_the_smoothing_share_of_other_cities():
    liked = np.stack([smoothed_one_hot(4, 2, 0.1), smoothed_one_hot(4, 1, 0.1)])
    assert scoring.top_contributors(liked, 2).tolist() == [0]
    assert scoring.top_contributors(liked, 1).tolist() == [1]
    assert scoring.top_contributors(liked, 0).tolist() == []  # liked nothing from city 0
    assert scoring.top_contributors(np.ones((1, 1), np.float32), 0).tolist() == [0]  # a one-city model


def test_bar_chart_scales_by_the_largest_absolute_score():
    bars = scoring.bar_chart(np.array([2.0, -4.0, 1.0]), np.array([1, 0, 2]))
    assert bars == [(1, -1.0), (0, 0.5), (2, 0.25)]
    assert scoring.bar_chart(np.zeros(2), np.array([0, 1])) == [(0, 0.0), (1, 0.0)]


def test_svg_chart_geometry_puts_negative_bars_left_of_the_axis():
    chart = charts.bar_chart(["A", "B"], [1.0, -0.5], [2.0, -1.0])
    assert chart.axis_x > chart.plot_left
    a, b = chart.bars
    assert a.positive and a.x == chart.axis_x and a.width > 0
    assert (
        not b.positive
        and b.x + b.width == pytest.approx(chart.axis_x)
        and b.width == pytest.approx(a.width / 2)
    )
    only_positive = charts.bar_chart(["A"], [1.0], [1.0])
    assert only_positive.axis_x == only_positive.plot_left
