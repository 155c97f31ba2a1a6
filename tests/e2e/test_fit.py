"""The swipe card scales with the window height: Nope, Like and the photo credit stay in view on a laptop
(1366x657 once the browser bars are counted) and a phone (390x664), also under a flash message."""

import os

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

LAPTOP = {"width": 1366, "height": 657}
SMALL_PHONE = {"width": 390, "height": 664}
SIZES = {"laptop": LAPTOP, "phone": SMALL_PHONE}


def assert_in_viewport(page: Page, viewport: dict, *selectors: str) -> None:
    for selector in selectors:
        box = page.locator(selector).bounding_box()
        assert box, f"{selector} is not rendered"
        assert box["x"] >= 0 and box["y"] >= 0, f"{selector} starts off-screen: {box}"
        assert box["x"] + box["width"] <= viewport["width"], f"{selector} overflows sideways: {box}"
        assert box["y"] + box["height"] <= viewport["height"], f"{selector} is below the fold: {box}"


def shot(page: Page, name: str) -> None:
    folder = os.environ.get("E2E_SHOTS")
    if folder:
        page.screenshot(path=f"{folder}/{name}.png")


@pytest.mark.parametrize("size", SIZES)
def test_buttons_and_credit_fit_the_window(new_page, postcard_set, size):
    postcard_set()
    page = new_page(viewport=SIZES[size])
    page.goto("/")
    expect(page.locator("#card img")).to_be_visible()
    shot(page, f"fit-{size}")
    assert_in_viewport(page, SIZES[size], "#btn-dislike", "#btn-like", "#card .credit")


@pytest.mark.parametrize("size", SIZES)
def test_they_still_fit_under_a_flash_message(new_page, postcard_set, size):
    postcard_set()
    page = new_page(viewport=SIZES[size])
    page.goto("/accounts/signup/")
    page.fill("input[name=username]", "newcomer")
    page.fill("input[name=password1]", "a long enough passphrase 42")
    page.fill("input[name=password2]", "a long enough passphrase 42")
    page.locator("main form button, main form input[type=submit]").last.click()
    expect(page.locator(".messages")).to_contain_text("Welcome, newcomer")
    expect(page.locator("#card img")).to_be_visible()
    shot(page, f"fit-flash-{size}")
    assert_in_viewport(page, SIZES[size], "#btn-dislike", "#btn-like", "#card .credit")
