"""Fixtures for the end-to-end tests: one headless Chromium per session, pages on pytest-django's live_server.

Playwright's sync API runs an asyncio event loop in this thread, which makes Django refuse ORM calls from
it ("You cannot call this from an async context"). The tests only ever touch the database between browser
steps, from this one thread, so that guard is switched off here, before Django is used.
"""

import csv
import io
import os
from functools import cache

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 10_000  # a missed swap fails in seconds, not Playwright's default 30 s
DESKTOP = {"width": 1000, "height": 900}
PHONE = {"width": 390, "height": 844}

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="session")
def browser() -> Browser:
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"no Chromium at {CHROMIUM}: run the suite via make test (scripts/ensure_browser.sh installs it)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, live_server):
    """Open a page in a fresh browser context (its own cookies, so its own anonymous profile).

    Every test also checks that the Content-Security-Policy blocked nothing: Chromium reports each refused
    script, style or image on the console, and a page that needs one is broken for real visitors.
    """
    contexts = []
    refused: list[str] = []

    def record(message) -> None:
        if "Content Security Policy" in message.text:
            refused.append(f"{message.text} at {message.location}")

    def open_page(viewport=DESKTOP, javascript=True) -> Page:
        context = browser.new_context(
            base_url=live_server.url, viewport=viewport, java_script_enabled=javascript, device_scale_factor=1
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("console", record)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert refused == [], "the Content-Security-Policy blocked something"


@pytest.fixture
def page(new_page) -> Page:
    return new_page()


# --- data ------------------------------------------------------------------------------------------------


@cache
def _catalogue() -> dict[str, dict]:
    from cities.services import CATALOGUE_CSV

    with open(CATALOGUE_CSV, newline="", encoding="utf-8") as handle:
        return {row["slug"]: row for row in csv.DictReader(handle)}


@cache
def _postcard_jpeg(slug: str, seed: int) -> bytes:
    from cities.postcards import DEMO_STYLES, draw_postcard

    out = io.BytesIO()
    draw_postcard(DEMO_STYLES[slug], seed=seed).save(out, format="JPEG", quality=88)
    return out.getvalue()


@pytest.fixture
def postcard_set(transactional_db, make_city):
    """Synthetic postcards (cities.postcards) for a few demo cities, under the label-only baseline.

    Returns {slug: [photos]}. The drawings are cached for the session; each test stores its own copies.
    The first round serves them in a fixed order, the cities taking turns (for repeatable screenshots).
    """
    from cities.models import Photo
    from mlworker.services import sync_label_only_model
    from tests.helpers import ingest_photo

    def make(slugs=("kyoto", "reykjavik", "miami", "rome"), per_city=4):
        photos = {}
        for c, slug in enumerate(slugs):
            row = _catalogue()[slug]
            city = make_city(slug, row["name"], row["country"])
            # The catalogue's place and country code, so the map and the continent filter have them.
            city.latitude, city.longitude = float(row["latitude"]), float(row["longitude"])
            city.country_code = row["country_code"]
            city.save(update_fields=["latitude", "longitude", "country_code"])
            photos[slug] = [
                ingest_photo(
                    city,
                    f"{slug}-{i:02d}.jpg",
                    _postcard_jpeg(slug, c * 1000 + i),
                    source="synthetic",
                    author="City Vibes",
                    licence="CC0",
                )
                for i in range(per_city)
            ]
            for i, photo in enumerate(photos[slug]):
                Photo.objects.filter(pk=photo.pk).update(queue_key=i * len(slugs) + c)
        sync_label_only_model()
        return photos

    return make
