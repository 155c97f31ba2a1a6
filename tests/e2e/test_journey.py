"""The core swipe journey in a real browser: with JavaScript (htmx, drag, keys) and without (plain forms)."""

import pytest
from playwright.sync_api import Page, expect

from .helpers import (
    PHOTO_INPUT,
    assert_card_shows_its_photo,
    assert_ranking_matches_replay,
    shown_photo_id,
    swipe_log,
    the_profile,
    wait_for_next_card,
)

pytestmark = pytest.mark.e2e


def drag_card(page: Page, dx: int, steps: int = 12) -> None:
    """Press on the card, move `dx` pixels sideways in small steps, and check the stamp follows the finger."""
    box = page.locator("#card").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y + 8, steps=steps)
    stamp = "#card .stamp-like" if dx > 0 else "#card .stamp-nope"
    expect(page.locator(stamp)).to_have_css("opacity", "1")  # dragged past the threshold: fully shown
    page.mouse.up()


@pytest.mark.parametrize("scorer", ["default", "original"])
def test_drag_key_button_and_undo_with_javascript(page, photo_set, settings, scorer):
    if scorer == "original":  # the first write-up's add/subtract and global queue, checked to the digit
        settings.VIBES_SCORER, settings.VIBES_POLICY = "original", "global_queue"
    photo_set()  # 3 cities x 4 photos
    page.goto("/")
    expect(page.locator("#card")).to_be_visible()
    assert_card_shows_its_photo(page)
    expect(page.locator("#swipe-count")).to_have_text("0")
    expect(page.locator("#btn-undo")).to_be_disabled()
    first = shown_photo_id(page)
    page_loads = []
    page.on("load", lambda _: page_loads.append(page.url))

    drag_card(page, 220)  # 2x the 110 px threshold
    second = wait_for_next_card(page, 1, first)

    page.keyboard.press("ArrowLeft")
    third = wait_for_next_card(page, 2, second)

    page.locator("#btn-like").click()
    fourth = wait_for_next_card(page, 3, third)
    assert len({first, second, third, fourth}) == 4

    expect(page.locator("#btn-undo")).to_be_enabled()
    page.locator("#btn-undo").click()
    expect(page.locator("#swipe-count")).to_have_text("2")
    expect(page.locator(PHOTO_INPUT)).to_have_value(str(third))  # the undone photo is shown again
    assert_card_shows_its_photo(page)
    assert page_loads == [], "htmx should swap the card in place, not reload the page"

    profile = the_profile(page)
    assert swipe_log(profile) == [(first, True, True), (second, False, True), (third, True, False)]
    assert profile.swipe_count == 2

    page.goto("/recommendations/")
    expect(page.locator("#score-chart")).to_be_visible()
    assert_ranking_matches_replay(page, profile)


def test_like_dislike_and_undo_without_javascript(new_page, photo_set):
    photo_set()
    page = new_page(javascript=False)
    page.goto("/")
    expect(page.locator("#card")).to_be_visible()
    assert_card_shows_its_photo(page)
    seen = [shown_photo_id(page)]

    for button, count in (("#btn-like", 1), ("#btn-dislike", 2), ("#btn-like", 3)):
        with page.expect_navigation() as navigation:
            page.locator(button).click()
        response = navigation.value
        post = response.request.redirected_from
        assert post is not None and post.method == "POST" and post.url.endswith("/swipe/")
        assert post.response().status == 302 and "hx-request" not in post.headers
        assert response.status == 200 and response.url.endswith("/")
        expect(page.locator("#swipe-count")).to_have_text(str(count))
        seen.append(shown_photo_id(page))
    assert len(set(seen)) == 4

    with page.expect_navigation() as navigation:
        page.locator("#btn-undo").click()
    assert navigation.value.request.redirected_from.url.endswith("/undo/")
    expect(page.locator("#swipe-count")).to_have_text("2")
    assert shown_photo_id(page) == seen[2]

    profile = the_profile(page)
    assert swipe_log(profile) == [(seen[0], True, True), (seen[1], False, True), (seen[2], True, False)]

    page.goto("/recommendations/")
    expect(page.locator("#score-chart")).to_be_visible()
    assert_ranking_matches_replay(page, profile)
