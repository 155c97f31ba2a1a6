"""Keyboard shortcuts and the end of the queue, in a real browser with JavaScript on."""

import pytest
from playwright.sync_api import expect

from .helpers import (
    PHOTO_INPUT,
    assert_card_shows_its_photo,
    shown_photo_id,
    swipe_log,
    the_profile,
    wait_for_next_card,
)

pytestmark = pytest.mark.e2e


def test_arrow_right_likes_and_z_undoes(page, photo_set):
    photo_set(slugs=("alpha", "beta"), per_city=2)
    page.goto("/")
    first = shown_photo_id(page)

    page.keyboard.press("ArrowRight")
    second = wait_for_next_card(page, 1, first)
    assert swipe_log(the_profile(page)) == [(first, True, True)]

    page.keyboard.press("z")
    expect(page.locator("#swipe-count")).to_have_text("0")
    expect(page.locator(PHOTO_INPUT)).to_have_value(str(first))
    expect(page.locator("#btn-undo")).to_be_disabled()
    assert swipe_log(the_profile(page)) == [(first, True, False)]

    page.keyboard.press("z")  # nothing left to undo: the key does nothing
    page.keyboard.press("ArrowLeft")
    assert wait_for_next_card(page, 1, first) == second
    assert swipe_log(the_profile(page)) == [(first, True, False), (first, False, True)]


def test_end_of_queue_offers_a_reshuffle_that_brings_a_card_back(page, photo_set):
    photos = photo_set(slugs=("alpha", "beta"), per_city=2)
    all_ids = {p.pk for city in photos.values() for p in city}
    page.goto("/")
    seen = []
    for count in range(1, 5):
        seen.append(shown_photo_id(page))
        page.keyboard.press("ArrowRight")
        if count < 4:
            wait_for_next_card(page, count, seen[-1])
    expect(page.locator("#swipe-count")).to_have_text("4")
    assert set(seen) == all_ids

    end = page.locator("#end-state")
    expect(end).to_be_visible()
    expect(end).to_contain_text("You've seen all 4 photos")
    expect(page.locator("#card")).to_have_count(0)
    page.keyboard.press("ArrowRight")  # no card, no swipe
    expect(page.locator("#btn-undo")).to_be_enabled()

    page.locator("#btn-reshuffle").click()
    expect(page.locator("#card")).to_be_visible()
    expect(page.locator(".notice")).to_contain_text("Reshuffled")
    expect(page.locator("#swipe-count")).to_have_text("4")  # scores and history stay
    expect(page.locator("#btn-undo")).to_be_disabled()  # undo works within a round
    back = assert_card_shows_its_photo(page)
    assert back in all_ids
    profile = the_profile(page)
    assert profile.round == 2 and profile.swipe_count == 4

    page.keyboard.press("ArrowLeft")
    wait_for_next_card(page, 5, back)
    assert list(profile.swipes.in_round(2).values_list("photo_id", "liked")) == [(back, False)]
