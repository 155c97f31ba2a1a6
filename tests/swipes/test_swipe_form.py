"""The swipe form: what a swipe may say."""

import pytest

from swipes.forms import SwipeForm


@pytest.mark.parametrize("liked, expected", [("1", True), ("like", True), ("0", False), ("dislike", False)])
def test_a_swipe_names_a_photo_and_a_like_or_a_nope(liked, expected):
    form = SwipeForm({"photo": "42", "liked": liked})
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {"photo": 42, "liked": expected, "round": None, "after": None}


@pytest.mark.parametrize(
    "data, field",
    [
        ({"liked": "1"}, "photo"),
        ({"photo": "", "liked": "1"}, "photo"),
        ({"photo": "x", "liked": "1"}, "photo"),
        ({"photo": "0", "liked": "1"}, "photo"),
        ({"photo": "-3", "liked": "1"}, "photo"),
        ({"photo": "1.5", "liked": "1"}, "photo"),
        ({"photo": str(2**63), "liked": "1"}, "photo"),  # past a bigint: no photo, and no database error
        ({"photo": "1"}, "liked"),
        ({"photo": "1", "liked": "maybe"}, "liked"),
        ({"photo": "1", "liked": "true"}, "liked"),
    ],
)
def test_the_form_rejects_bad_input_with_a_plain_sentence(data, field):
    form = SwipeForm(data)
    assert not form.is_valid()
    assert list(form.errors) == [field]
    assert form.first_error().endswith("Please try again.")
