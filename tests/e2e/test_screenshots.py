"""Screenshots for the README, taken in headless Chromium on every E2E run.

They go to pytest's tmp_path unless UPDATE_SCREENSHOTS=1, which writes docs/screenshots/ (commit them then).
Either way the layout is checked: the card and the buttons fit the viewport, the chart and the
"Because you liked" thumbnails render, every image on the page loaded.
"""

import io
import os
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from .conftest import PHONE
from .helpers import (
    assert_card_shows_its_photo,
    assert_images_loaded,
    assert_ranking_matches_replay,
    shown_photo_id,
    the_profile,
    wait_for_next_card,
)

pytestmark = pytest.mark.e2e

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
MAX_BYTES = 300 * 1024
# The screenshot persona, city by city: like or dislike the first, second and third photo seen of it (and
# round again: the adaptive policy may show one city more often than another).
PERSONA = {
    "kyoto": (True, True, True),
    "reykjavik": (True, False, True),
    "miami": (False, False, False),
    "rome": (False, True, False),
}
SWIPES = 12


@pytest.fixture
def screenshot_dir(tmp_path) -> Path:
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        return DOCS
    return tmp_path


def save_screenshot(page: Page, path: Path, full_page: bool = False) -> Path:
    """A PNG of the page, palette-quantised when the full-colour one is over MAX_BYTES (README-sized)."""
    png = page.screenshot(full_page=full_page, animations="disabled", caret="hide")
    image = Image.open(io.BytesIO(png))
    if len(png) > MAX_BYTES:
        quantised = io.BytesIO()
        image.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT).save(
            quantised, format="PNG", optimize=True
        )
        png = quantised.getvalue()
    path.write_bytes(png)
    saved = Image.open(path)
    assert saved.format == "PNG" and saved.size == image.size
    assert 0 < path.stat().st_size <= MAX_BYTES, f"{path}: {path.stat().st_size} bytes"
    return path


def assert_fits_horizontally(page: Page, width: int, *selectors: str) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"
    for selector in selectors:
        box = page.locator(selector).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, f"{selector} overflows: {box}"


def assert_swipe_page_layout(page: Page, width: int) -> None:
    expect(page.locator("#card")).to_be_visible()
    assert_card_shows_its_photo(page)
    assert_fits_horizontally(page, width, "#card", "#btn-dislike", "#btn-like", "#btn-undo")
    nope, like = page.locator("#btn-dislike").bounding_box(), page.locator("#btn-like").bounding_box()
    assert nope["y"] == like["y"] and nope["height"] == like["height"], "the buttons are not on one row"
    assert nope["x"] + nope["width"] < like["x"], "Nope should sit left of Like"
    card = page.locator("#card").bounding_box()
    assert nope["y"] >= card["y"] + card["height"], "the buttons overlap the card"


def test_readme_screenshots(new_page, postcard_set, screenshot_dir):
    photos = postcard_set()  # 4 cities x 4 postcards
    city_of = {p.pk: slug for slug, city in photos.items() for p in city}

    phone = new_page(viewport=PHONE)
    phone.goto("/")
    assert_swipe_page_layout(phone, PHONE["width"])
    save_screenshot(phone, screenshot_dir / "swipe-phone.png")

    page = new_page()
    page.goto("/")
    assert_swipe_page_layout(page, page.viewport_size["width"])
    save_screenshot(page, screenshot_dir / "swipe.png")

    seen = {slug: 0 for slug in PERSONA}
    likes = {slug: 0 for slug in PERSONA}
    for count in range(1, SWIPES + 1):
        photo = shown_photo_id(page)
        slug = city_of[photo]
        liked = PERSONA[slug][seen[slug] % len(PERSONA[slug])]
        seen[slug] += 1
        likes[slug] += liked
        page.locator("#btn-like" if liked else "#btn-dislike").click()
        wait_for_next_card(page, count, photo)

    page.goto("/recommendations/")
    chart = page.locator("#score-chart")
    expect(chart).to_be_visible()
    expect(chart.locator("rect")).to_have_count(len(photos))
    expect(page.locator("li.ranked-city")).to_have_count(len(photos))
    assert_ranking_matches_replay(page, the_profile(page))
    expect(chart.locator("rect.bar-pos")).not_to_have_count(0)
    ranked = [item.get_attribute("data-slug") for item in page.locator("li.ranked-city").all()]
    assert ranked[0] == "kyoto" and ranked[-1] == "miami"  # always liked first, never liked last
    # "Because you liked": the liked photos of each city, and nothing under a city never liked.
    for slug in PERSONA:
        why = page.locator(f'li.ranked-city[data-slug="{slug}"] .why img')
        expect(why).to_have_count(min(3, likes[slug]))
    assert_images_loaded(page, ".why img")
    assert_fits_horizontally(page, page.viewport_size["width"], "#score-chart", "ol.ranking")
    save_screenshot(page, screenshot_dir / "recommendations.png", full_page=True)


@pytest.mark.parametrize("viewport", [{"width": 1366, "height": 657}, {"width": 390, "height": 664}])
def test_nope_and_like_stay_in_view_on_short_screens(new_page, postcard_set, viewport):
    """A 1366x768 laptop's browser or a small phone: the card shrinks rather than push the buttons down."""
    postcard_set()
    page = new_page(viewport=viewport)
    page.goto("/")
    assert_swipe_page_layout(page, viewport["width"])
    for button in ("#btn-dislike", "#btn-like"):
        box = page.locator(button).bounding_box()
        assert box["y"] + box["height"] <= viewport["height"], f"{button} is below the fold: {box}"
