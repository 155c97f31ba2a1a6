"""The scorers on their own (swipes.recommender): small known cases, monotonicity, exact replay, stored bytes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlworker.label_only import smoothed_one_hot
from swipes.recommender import scoring
from swipes.recommender.base import StaleState
from swipes.recommender.catalogue import PhotoSet
from swipes.recommender.registry import DEFAULT_SCORER, SCORERS, make_scorer


def make_catalogue(city_looks, photos_per_city, spread=0.15, bias=None, seed=0) -> PhotoSet:
    """Photos scattered around their city's look; vectors: a softmax over closeness to each city's look."""
    rng = np.random.default_rng(seed)
    city_looks = np.asarray(city_looks, dtype=np.float64)
    labels = np.repeat(np.arange(len(city_looks)), photos_per_city)
    embeddings = city_looks[labels] + spread * rng.standard_normal((labels.size, city_looks.shape[1]))
    logits = -((embeddings[:, None, :] - city_looks[None]) ** 2).sum(axis=2) / 0.5
    logits += 0.0 if bias is None else np.asarray(bias)
    vectors = np.exp(logits - logits.max(axis=1, keepdims=True))
    return PhotoSet((vectors / vectors.sum(axis=1, keepdims=True)).astype(np.float32), labels, embeddings)


# Three looks (+x, -x, +y), two cities each, uneven photo counts, city 5 over-predicted.
LOOKS = [[3, 0, 0, 0], [3, 0.6, 0, 0], [-3, 0, 0, 0], [-3, 0, 0.6, 0], [0, 3, 0, 0], [0, 3, 0, 0.6]]
CATALOGUE = make_catalogue(LOOKS, [3, 6, 4, 2, 5, 3], bias=[0, 0, 0, 0, 0, 1.5])
SCORER_OBJECTS = {name: make_scorer(name, CATALOGUE) for name in SCORERS}
MONOTONE = ["original", "normalised", "multi_taste"]  # a like raises every city it touches (see below)

swipe_logs = st.lists(st.tuples(st.integers(0, CATALOGUE.n_photos - 1), st.booleans()), max_size=30).map(
    lambda log: ([i for i, _ in log], [liked for _, liked in log])
)


def of_city(photos: PhotoSet, cities) -> np.ndarray:
    return np.flatnonzero(np.isin(photos.labels, cities))


@pytest.mark.parametrize("name", SCORERS)
def test_every_scorer_has_the_interface(name):
    scorer = SCORER_OBJECTS[name]
    state = scorer.initial_state()
    assert state.dtype == np.float64 and state.ndim == 1
    state = scorer.update(state, 0, True)
    scores = scorer.city_scores(state)
    assert scores.shape == (CATALOGUE.n_cities,) and np.isfinite(scores).all()
    sample = scorer.sample_photo_scores(state, np.random.default_rng(0))
    assert sample.shape == (CATALOGUE.n_photos,) and np.isfinite(sample).all()
    assert set(scorer.explain(state, int(CATALOGUE.labels[0]), np.array([0, 5]), k=2)) <= {0, 5}


@pytest.mark.parametrize("name", SCORERS)
def test_update_returns_a_new_state_and_leaves_the_old_one(name):
    scorer = SCORER_OBJECTS[name]
    state = scorer.replay([1, 2], [True, False])
    before = state.copy()
    after = scorer.update(state, 3, True)
    assert np.array_equal(state, before) and not np.array_equal(after, before)


@pytest.mark.parametrize("name", SCORERS)
@settings(max_examples=40, deadline=None)
@given(log=swipe_logs)
def test_replay_equals_the_incremental_state_bit_for_bit_through_stored_bytes(name, log):
    scorer = SCORER_OBJECTS[name]
    stored = scorer.state_to_bytes(scorer.initial_state())
    for photo_index, liked in zip(*log, strict=True):  # as the swipe loop does: load, update, store
        stored = scorer.state_to_bytes(scorer.update(scorer.state_from_bytes(stored), photo_index, liked))
    assert stored == scorer.state_to_bytes(scorer.replay(*log))
    assert np.array_equal(
        scorer.city_scores(scorer.state_from_bytes(stored)), scorer.city_scores(scorer.replay(*log))
    )


def test_stored_state_is_refused_by_another_scorer_or_catalogue():
    embedding, original = SCORER_OBJECTS["embedding"], SCORER_OBJECTS["original"]
    stored = embedding.state_to_bytes(embedding.replay([0, 4], [True, False]))
    with pytest.raises(StaleState):
        original.state_from_bytes(stored)
    with pytest.raises(StaleState):
        embedding.state_from_bytes(stored[:-8])
    other = make_catalogue(LOOKS, [3, 6, 4, 2, 5, 4], bias=[0, 0, 0, 0, 0, 1.5])  # one photo more
    with pytest.raises(StaleState):  # its projection was learnt from other photos
        make_scorer("embedding", other).state_from_bytes(stored)
    # The original totals mean the same under any catalogue of the same model: no needless replay.
    totals = original.state_to_bytes(original.replay([0], [True]))
    assert np.array_equal(
        make_scorer("original", other).state_from_bytes(totals), original.replay([0], [True])
    )


@pytest.mark.parametrize("name", MONOTONE)
@settings(max_examples=60, deadline=None)
@given(log=swipe_logs, photo_index=st.integers(0, CATALOGUE.n_photos - 1))
def test_a_like_never_lowers_the_photos_own_city(name, log, photo_index):
    scorer = SCORER_OBJECTS[name]
    state = scorer.replay(*log)
    before = scorer.city_scores(state)
    after = scorer.city_scores(scorer.update(state, photo_index, True))
    own = [CATALOGUE.labels[photo_index], np.argmax(CATALOGUE.probabilities[photo_index])]
    assert np.all(after[own] >= before[own] - 1e-12)
    disliked = scorer.city_scores(scorer.update(state, photo_index, False))
    assert np.all(disliked[own] <= after[own] + 1e-12)


@settings(max_examples=60, deadline=None)
@given(log=swipe_logs, photo_index=st.integers(0, CATALOGUE.n_photos - 1))
def test_the_linear_embedding_model_likes_a_liked_photo_more_than_a_disliked_one(log, photo_index):
    # A linear model's city score can drop after a like of an atypical photo of that city (2 of 1,552
    # likes in a simulation); what always holds is that the photo itself gains from a like over a dislike.
    scorer = SCORER_OBJECTS["embedding"]
    state = scorer.replay(*log)
    feature = scorer.features[photo_index]
    liked = feature @ scorer.weights(scorer.update(state, photo_index, True))
    disliked = feature @ scorer.weights(scorer.update(state, photo_index, False))
    assert liked > disliked


def test_original_scorer_is_the_reference_arithmetic():
    scorer = SCORER_OBJECTS["original"]
    log = ([0, 7, 12], [True, False, True])
    state = scorer.replay(*log)
    expected = scoring.empty_scores(CATALOGUE.n_cities)  # the arithmetic written out, swipe by swipe
    for photo_index, liked in zip(*log, strict=True):
        expected = scoring.apply_swipe(expected, CATALOGUE.probabilities[photo_index], liked)
    assert np.array_equal(state, expected)
    # The payload after the header is exactly what UserProfile.scores stores today.
    assert scorer.state_to_bytes(state).endswith(expected.tobytes())


def test_normalised_scores_are_like_rates_of_each_citys_exposure():
    photos = PhotoSet(np.array([[0.8, 0.2], [0.1, 0.9]], np.float32), np.array([0, 1]))
    scorer = make_scorer("normalised", photos, prior_weight=1.0)
    state = scorer.replay([0, 1], [True, False])
    overall = (1 + 1) / (2 + 2)  # one like in two swipes, Laplace-smoothed
    rate_0 = (0.8 + overall) / (0.8 + 0.1 + 1.0)
    rate_1 = (0.2 + overall) / (0.2 + 0.9 + 1.0)
    np.testing.assert_allclose(scorer.city_scores(state), [rate_0, rate_1], rtol=1e-6)
    assert scorer.city_scores(scorer.initial_state()).tolist() == [0.5, 0.5]


def test_a_tasteless_generous_person_lifts_the_most_predicted_cities_only_in_the_naive_sum():
    # City 1 has five times the photos of any other (and lends mass to city 0, which looks alike), city 5
    # is over-predicted. Someone who likes 70% of photos at random has no favourite, yet the sum puts the
    # most-predicted cities first; the rate picks them no more often than chance (2 of 6).
    photos = make_catalogue(LOOKS, [3, 15, 3, 3, 3, 3], bias=[0, 0, 0, 0, 0, 1.5])
    most_predicted = np.argsort(photos.city_prior)[-2:]
    scorers = {name: make_scorer(name, photos) for name in ("original", "normalised")}
    rng = np.random.default_rng(3)
    first = {name: [] for name in scorers}
    for _ in range(50):
        shown = rng.permutation(photos.n_photos)[:15]
        liked = rng.random(15) < 0.7
        for name, scorer in scorers.items():
            first[name].append(scoring.rank(scorer.city_scores(scorer.replay(shown, liked)))[0])
    assert np.isin(first["original"], most_predicted).mean() > 0.7
    assert np.isin(first["normalised"], most_predicted).mean() < 0.45


@pytest.mark.parametrize("name", ["embedding", "multi_taste"])
def test_embedding_scorers_generalise_a_look_to_unseen_cities(name):
    scorer = SCORER_OBJECTS[name]
    # Like photos of city 0 (look +x), dislike photos of city 4 (look +y): city 1 (also +x, never shown)
    # must come out above city 5 (+y, never shown).
    shown = np.concatenate([of_city(CATALOGUE, [0]), of_city(CATALOGUE, [4])])
    liked = CATALOGUE.labels[shown] == 0
    scores = scorer.city_scores(scorer.replay(shown, liked))
    assert scores[1] > scores[5] and scores[0] > scores[4]


def test_multi_taste_keeps_two_opposite_tastes():
    scorer = SCORER_OBJECTS["multi_taste"]
    # +x and -x liked, +y disliked: one linear direction cannot hold both likes; the clusters can.
    shown = np.concatenate([of_city(CATALOGUE, [0, 2]), of_city(CATALOGUE, [4])])
    scores = scorer.city_scores(scorer.replay(shown, CATALOGUE.labels[shown] != 4))
    assert min(scores[[0, 1, 2, 3]]) > max(scores[[4, 5]])


def test_explanations_are_the_scorers_own_evidence():
    from_0, from_4 = of_city(CATALOGUE, [0])[:2], of_city(CATALOGUE, [4])[:2]
    liked = np.concatenate([from_4, from_0])
    for name, scorer in SCORER_OBJECTS.items():
        state = scorer.replay(liked, [True] * liked.size)
        why = scorer.explain(state, 0, liked, k=2)
        assert sorted(why.tolist()) == sorted(from_0.tolist()), name  # photos of city 4 say nothing of 0
        assert scorer.explain(state, 0, np.array([], dtype=np.int64)).size == 0


def test_the_default_scorer_is_registered_and_unknown_names_are_refused():
    assert DEFAULT_SCORER in SCORERS
    with pytest.raises(ValueError, match="unknown scorer"):
        make_scorer("astrology", CATALOGUE)


def test_multi_taste_keeps_cities_apart_when_the_model_knows_only_labels():
    """Under the label-only baseline (no embeddings), a city liked every time must outrank one liked
    two times in three: few clusters over few photos would merge them."""
    labels = np.repeat(np.arange(4), 4)
    photos = PhotoSet(probabilities=np.array([smoothed_one_hot(4, c, 0.1) for c in labels]), labels=labels)
    scorer = make_scorer("multi_taste", photos)
    assert scorer.n_clusters >= 4
    state = scorer.replay(
        [0, 1, 2, 4, 5, 6, 8, 9, 12], [True, True, True, True, False, True, False, False, False]
    )
    ranking = np.argsort(-scorer.city_scores(state), kind="stable").tolist()
    assert ranking == [0, 1, 3, 2]  # two dislikes of city 2 count against it more than one of city 3


def test_the_settings_default_is_the_benchmarks_choice(settings):
    from swipes.recommender.registry import DEFAULT_POLICY

    # The settings cannot import NumPy code, so they repeat the names; they must agree.
    from vibes_site.settings import base as project_settings

    assert (project_settings.VIBES_SCORER, project_settings.VIBES_POLICY) == (DEFAULT_SCORER, DEFAULT_POLICY)


# Cities 0 and 1 look the same (one look, +x), as Paris and Madrid streets do to a head-only model; city 2
# has its own (-x). Looks cannot tell 0 from 1: only the city's own swipes can.
TWINS = make_catalogue([[3, 0, 0, 0], [3, 0, 0, 0], [-3, 0, 0, 0]], [8, 8, 8], seed=1)


def test_city_and_look_ranks_a_favourite_city_first_where_looks_cannot_tell_it_from_its_twin():
    # Every photo of city 0 liked, every photo of its twin city 1 disliked, city 2 half and half.
    shown = np.concatenate([of_city(TWINS, [0])[:5], of_city(TWINS, [1])[:5], of_city(TWINS, [2])[:4]])
    liked = np.concatenate([np.ones(5, bool), np.zeros(5, bool), [True, False, True, False]])
    blended = make_scorer("city_and_look", TWINS)
    state = blended.replay(shown, liked)
    assert scoring.rank(blended.city_scores(state))[0] == 0
    assert blended.city_scores(state)[0] > blended.city_scores(state)[1] + 0.3
    # The looks alone put the twins within a hair of each other: the favourite's evidence is lost.
    looks = make_scorer("multi_taste", TWINS)
    look_scores = looks.city_scores(looks.replay(shown, liked))
    assert abs(look_scores[0] - look_scores[1]) < 0.1


def test_city_weights_follow_how_far_city_rates_scatter_around_their_looks():
    scorer = make_scorer("city_and_look", TWINS)
    look = np.array([0.5, 0.5, 0.5])
    swipes = np.array([6.0, 6.0, 6.0])
    # Likes exactly at the look's rate: no city effect, the looks decide.
    no_effect = scorer.city_weights(look, np.array([3.0, 3.0, 3.0]), swipes)
    assert np.all(no_effect == scorer.max_city_weight)
    # All or nothing for two of the cities: a strong city effect, so the look counts for fewer swipes
    # than a third of each city's own (here 1.7 = 0.25 / (13.5 / 92)).
    strong = scorer.city_weights(look, np.array([6.0, 0.0, 3.0]), swipes)
    assert np.all(strong < swipes / 3) and np.all(strong >= scorer.min_city_weight)
    # Cities swiped once each cannot show a spread, whatever the answers.
    once = scorer.city_weights(look, np.array([1.0, 0.0, 1.0]), np.ones(3))
    assert np.all(once > 1.0)


def test_city_and_look_is_the_looks_ranking_before_any_swipe():
    blended, looks = make_scorer("city_and_look", CATALOGUE), make_scorer("multi_taste", CATALOGUE)
    np.testing.assert_array_equal(
        blended.city_scores(blended.initial_state()), looks.city_scores(looks.initial_state())
    )


def test_a_multi_taste_state_is_refused_by_city_and_look():
    looks, blended = make_scorer("multi_taste", CATALOGUE), make_scorer("city_and_look", CATALOGUE)
    with pytest.raises(StaleState):
        blended.state_from_bytes(looks.state_to_bytes(looks.replay([0, 4], [True, False])))


@pytest.mark.parametrize("name", ["multi_taste", "city_and_look"])
def test_favourite_looks_are_one_liked_photo_per_liked_look(name):
    scorer = SCORER_OBJECTS[name]
    # +x and -x liked (two looks), +y disliked: one photo stands for each liked look, none for +y.
    x_plus, x_minus, y_plus = of_city(CATALOGUE, [0, 1]), of_city(CATALOGUE, [2, 3]), of_city(CATALOGUE, [4])
    shown = np.concatenate([x_plus, x_minus, y_plus])
    liked = np.concatenate([x_plus, x_minus])
    state = scorer.replay(shown, np.isin(shown, liked))
    looks = scorer.favourite_looks(state, liked, k=5)
    assert 2 <= looks.size <= 5 and len(set(looks.tolist())) == looks.size
    assert set(looks.tolist()) <= set(liked.tolist())
    assert np.isin(looks, x_plus).any() and np.isin(looks, x_minus).any()
    assert scorer.favourite_looks(state, liked, k=1).size == 1
    assert scorer.favourite_looks(scorer.initial_state(), np.array([], dtype=np.int64)).size == 0


def test_scorers_without_looks_name_none():
    scorer = SCORER_OBJECTS["original"]
    state = scorer.replay([0, 1], [True, True])
    assert scorer.favourite_looks(state, np.array([0, 1])).size == 0


@given(swipe_logs, st.integers(0, 2**32 - 1))
@settings(max_examples=40, deadline=None)
def test_one_pass_over_the_memberships_gives_the_scores_and_the_draw_of_two(log, seed):
    looks = make_scorer("multi_taste", TWINS)
    state = looks.replay(*log)  # (the logs' photo indices fit TWINS too)
    scores, draw = looks.scores_and_draw(state, np.random.default_rng(seed))
    # (float32 memberships for the draw: equal to float32 precision)
    np.testing.assert_allclose(scores, looks.photo_scores(state), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        draw, looks.sample_photo_scores(state, np.random.default_rng(seed)), rtol=1e-5, atol=1e-6
    )
    # city_and_look's draw (one pass) equals the one it made from the looks' two separate passes.
    blended = make_scorer("city_and_look", TWINS)
    both = blended.replay(*log)
    rng = np.random.default_rng(seed)
    look_state, likes, swipes = blended._split(both)
    weight = blended.city_weights(blended.looks.city_scores(look_state), likes, swipes)
    two_pass = blended.looks.sample_photo_scores(look_state, rng)
    labels = TWINS.labels
    expected = (likes[labels] + weight[labels] * two_pass) / (swipes[labels] + weight[labels])
    np.testing.assert_allclose(
        blended.sample_photo_scores(both, np.random.default_rng(seed)), expected, rtol=1e-5, atol=1e-6
    )
