"""Refused swipes are visible in the page: htmx alone would drop a 4xx answer and nothing would happen."""

import pytest
from playwright.sync_api import expect

from cities.models import Photo

from .helpers import PHOTO_INPUT, shown_photo_id, swipe_log, the_profile

pytestmark = pytest.mark.e2e


def test_swiping_a_photo_hidden_meanwhile_says_so_and_serves_the_next_card(page, photo_set):
    photo_set(slugs=("alpha", "beta"), per_city=2)
    page.goto("/")
    hidden = shown_photo_id(page)
    Photo.objects.filter(pk=hidden).update(status=Photo.Status.HIDDEN)  # an admin hides it meanwhile

    page.locator("#btn-like").click()
    expect(page.locator("#deck-error")).to_contain_text("That photo is no longer available")
    expect(page.locator("#deck-error")).to_be_visible()
    expect(page.locator(PHOTO_INPUT)).not_to_have_value(str(hidden))
    expect(page.locator("#swipe-count")).to_have_text("0")
    assert swipe_log(the_profile(page)) == []

    page.locator("#btn-dislike").click()  # the next card counts as usual, and the reason goes away
    expect(page.locator("#swipe-count")).to_have_text("1")
    expect(page.locator("#deck-error")).to_have_count(0)


def test_a_refused_request_without_a_fragment_shows_a_plain_sentence(page, photo_set):
    photo_set(slugs=("alpha",), per_city=2)
    page.goto("/")
    expect(page.locator("#htmx-error")).to_be_hidden()
    page.context.clear_cookies()  # the CSRF cookie is gone: Django answers 403 with a whole error page

    page.locator("#btn-like").click()
    expect(page.locator("#htmx-error")).to_be_visible()
    expect(page.locator("#htmx-error")).to_have_text(
        "That was refused: your session may have expired. Reload the page and try again."
    )
    expect(page.locator("#card")).to_have_count(1)  # the deck is left as it was
