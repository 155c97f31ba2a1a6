"""Without JavaScript: reset asks on a page of its own, and the swipe page teaches no drag or keys."""

import pytest
from playwright.sync_api import expect

from .helpers import swipe_log, the_profile

pytestmark = pytest.mark.e2e


def test_reset_without_javascript_goes_through_a_confirmation_page(new_page, photo_set):
    photo_set(slugs=("alpha", "beta"), per_city=2)
    page = new_page(javascript=False)
    page.goto("/")
    expect(page.locator(".keys-hint")).to_be_hidden()
    page.locator("#btn-like").click()
    expect(page.locator("#swipe-count")).to_have_text("1")

    page.goto("/recommendations/")
    page.locator("#btn-reset").click()
    expect(page.locator("h1")).to_have_text("Are you sure?")
    assert [live for _, _, live in swipe_log(the_profile(page))] == [True]  # one click wiped nothing
    page.locator("#btn-reset-no").click()
    expect(page.locator("#btn-reset")).to_be_visible()

    page.locator("#btn-reset").click()
    page.locator("#btn-reset-yes").click()
    expect(page.locator(".messages")).to_contain_text("Your taste profile was reset")
    assert [live for _, _, live in swipe_log(the_profile(page))] == [False]


def test_with_javascript_the_drag_and_key_hints_show(page, photo_set):
    photo_set(slugs=("alpha",), per_city=1)
    page.goto("/")
    expect(page.locator("html")).to_have_class("js")
    expect(page.locator(".keys-hint")).to_be_visible()
