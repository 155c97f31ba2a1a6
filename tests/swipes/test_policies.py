"""Next-photo policies (swipes.recommender.policies): no repeats, a diverse start, determinism, following the evidence."""

import numpy as np
import pytest

from swipes.recommender.registry import DEFAULT_POLICY, POLICIES, make_policy, make_scorer
from tests.swipes.test_scorers import CATALOGUE, LOOKS, make_catalogue


def walk(policy, scorer, answers, rng, steps=None):
    """Show photos until the policy stops (or `steps`), answering from `answers` [n_photos] bool."""
    state, seen, shown = scorer.initial_state(), np.zeros(scorer.photos.n_photos, dtype=bool), []
    steps = 2 * scorer.photos.n_photos if steps is None else steps  # a policy that repeats must not hang
    while len(shown) < steps:
        index = policy.choose(scorer, state, seen, rng)
        if index is None:
            break
        shown.append(index)
        seen[index] = True
        state = scorer.update(state, index, bool(answers[index]))
    return shown


@pytest.mark.parametrize("policy_name", POLICIES)
@pytest.mark.parametrize("scorer_name", ["original", "embedding", "multi_taste"])
def test_every_photo_is_shown_once_and_then_none(policy_name, scorer_name):
    scorer = make_scorer(scorer_name, CATALOGUE)
    answers = np.random.default_rng(0).random(CATALOGUE.n_photos) < 0.4
    shown = walk(make_policy(policy_name, CATALOGUE), scorer, answers, np.random.default_rng(1))
    assert sorted(shown) == list(range(CATALOGUE.n_photos))


def test_the_cold_start_shows_a_different_city_each_time():
    policy, scorer = make_policy("adaptive", CATALOGUE, cold_start=8), make_scorer("multi_taste", CATALOGUE)
    answers = np.ones(CATALOGUE.n_photos, dtype=bool)  # liking everything must not narrow the start
    for seed in range(10):
        first = walk(policy, scorer, answers, np.random.default_rng(seed), steps=CATALOGUE.n_cities)
        assert len(set(CATALOGUE.labels[first])) == CATALOGUE.n_cities


def test_the_cold_start_shows_different_cities_even_when_they_all_look_alike():
    photos = make_catalogue(np.ones((5, 4)), [3, 3, 3, 3, 3], spread=0.0)  # nothing to tell them apart
    policy, scorer = make_policy("adaptive", photos), make_scorer("original", photos)
    first = walk(policy, scorer, np.zeros(photos.n_photos, bool), np.random.default_rng(0), steps=5)
    assert sorted(photos.labels[first]) == [0, 1, 2, 3, 4]


def test_the_cold_start_covers_each_look_before_repeating_one():
    # Four looks, three near-identical cities each: the first four photos come from four looks.
    looks = np.repeat(np.eye(4) * 3, 3, axis=0) + 0.05 * np.random.default_rng(0).standard_normal((12, 4))
    photos = make_catalogue(looks, [2, 3, 4] * 4, spread=0.1)
    look_of = np.arange(12) // 3
    policy, scorer = make_policy("adaptive", photos), make_scorer("embedding", photos)
    for seed in range(10):
        first = walk(policy, scorer, np.zeros(photos.n_photos, bool), np.random.default_rng(seed), steps=4)
        assert sorted(look_of[photos.labels[first]]) == [0, 1, 2, 3]


@pytest.mark.parametrize("policy_name", POLICIES)
def test_choices_are_fixed_by_the_seed(policy_name):
    policy, scorer = make_policy(policy_name, CATALOGUE), make_scorer("multi_taste", CATALOGUE)
    answers = np.random.default_rng(0).random(CATALOGUE.n_photos) < 0.5
    runs = {
        seed: walk(policy, scorer, answers, np.random.default_rng(seed), steps=12) for seed in (1, 1, 2, 3)
    }
    assert walk(policy, scorer, answers, np.random.default_rng(1), steps=12) == runs[1]
    if policy_name == "global_queue":  # one order for everybody, as in the original design
        assert runs[1] == runs[2] == runs[3]
    else:
        assert runs[1] != runs[2] or runs[1] != runs[3]


def test_after_the_cold_start_thompson_sampling_follows_the_likes():
    photos = make_catalogue(LOOKS, [8, 8, 8, 8, 8, 8])
    scorer = make_scorer("multi_taste", photos)
    policy = make_policy("adaptive", photos, cold_start=6)
    answers = np.isin(photos.labels, [0, 1])  # likes the +x look only
    picks = []
    for seed in range(20):
        shown = walk(policy, scorer, answers, np.random.default_rng(seed), steps=9)
        picks += shown[6:]
    assert np.isin(photos.labels[picks], [0, 1]).mean() > 0.6  # a third would be chance


def test_the_default_policy_is_registered_and_unknown_names_are_refused():
    assert DEFAULT_POLICY in POLICIES
    with pytest.raises(ValueError, match="unknown policy"):
        make_policy("horoscope", CATALOGUE)


def test_the_global_queue_ignores_the_order_of_looks():
    # Sanity of the reference: its first photos are a plain shuffle, not one per city.
    looks = np.eye(4).repeat(1, axis=0) * 3
    photos = make_catalogue(looks, [30, 2, 2, 2])
    policy, scorer = make_policy("global_queue", photos), make_scorer("original", photos)
    first = walk(policy, scorer, np.zeros(photos.n_photos, bool), np.random.default_rng(0), steps=4)
    assert np.sum(photos.labels[first] == 0) >= 2


def test_the_global_queue_follows_the_stored_queue_keys_and_a_salt_reshuffles_them():
    keys = np.array([40, 10, 30, 0, 20, 50])
    photos = make_catalogue(LOOKS[:2], [3, 3])
    photos = type(photos)(photos.probabilities, photos.labels, photos.embeddings, queue_keys=keys)
    policy, scorer = make_policy("global_queue", photos), make_scorer("original", photos)
    nobody = np.zeros(photos.n_photos, dtype=bool)

    def order(salt):
        state, seen, shown = scorer.initial_state(), nobody.copy(), []
        while (
            index := policy.choose(scorer, state, seen, np.random.default_rng(0), queue_salt=salt)
        ) is not None:
            shown.append(index)
            seen[index] = True
        return shown

    assert order(0) == [3, 1, 4, 2, 0, 5]  # ascending keys: the queue everybody starts on
    salt = 0b011110
    reshuffled = order(salt)
    assert reshuffled == sorted(range(6), key=lambda i: keys[i] ^ salt) != order(0)
    assert sorted(reshuffled) == list(range(6))  # every photo once more, none twice
