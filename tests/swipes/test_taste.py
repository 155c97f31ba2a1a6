"""The taste sentence, as a pure function."""

from swipes.taste import NO_PATTERN, NOT_ENOUGH, describe_taste, join_words, plural, shared_tags


def test_the_sentence_names_what_is_liked_more_than_skipped_and_the_reverse():
    liked = {"coast": 6, "old town": 5, "bridge": 4, "street traffic": 5}
    disliked = {"skyline": 5, "street traffic": 5, "coast": 1}
    taste = describe_taste(liked, disliked, liked_total=10, disliked_total=10)
    assert taste.sentence == "You go for coast, old towns and bridges; you skip skylines."
    assert taste.goes_for == ["coast", "old town", "bridge"] and taste.skips == ["skyline"]
    assert "street traffic" not in taste.sentence  # as common among the skipped photos: no taste


def test_too_few_swipes_is_the_empty_state():
    taste = describe_taste({"coast": 3}, {}, liked_total=3, disliked_total=1)
    assert taste.sentence == NOT_ENOUGH and not taste.enough and taste.goes_for == []


def test_a_single_photo_is_no_taste_and_no_contrast_is_said_plainly():
    taste = describe_taste({"castle": 1, "park": 3}, {"park": 3}, liked_total=4, disliked_total=4)
    assert taste.sentence == NO_PATTERN and taste.enough


def test_only_likes_or_only_skips():
    assert describe_taste({"church": 4}, {}, 8, 0).sentence == "You go for churches."
    assert describe_taste({}, {"tram": 3, "market": 2}, 0, 8).sentence == "You skip trams and markets."


def test_words_and_lists():
    assert [plural(w) for w in ("coast", "library", "mountains", "old walls", "church")] == [
        "coast",
        "libraries",
        "mountains",
        "old walls",
        "churches",
    ]
    assert join_words(["a"]) == "a" and join_words(["a", "b"]) == "a and b"
    assert join_words(["a", "b", "c"]) == "a, b and c"


def test_shared_tags_name_what_the_photos_behind_a_city_have_in_common():
    photos = [["coast", "bridge"], ["bridge", "skyline", "coast"], ["park", "bridge"]]
    assert shared_tags(photos) == ["bridge", "coast"]
    assert shared_tags(photos, prefer=["coast"]) == ["coast", "bridge"]
    assert shared_tags([["park", "lake"]]) == ["lake", "park"]
    assert shared_tags([["park"], ["lake"]]) == [] and shared_tags([]) == []


def test_a_shared_ranking_speaks_of_them():
    assert describe_taste({"church": 4}, {"tram": 3}, 4, 4, subject="they").sentence == (
        "They go for churches; they skip trams."
    )
