"""Accessibility, checked in Chromium: axe-core finds no serious or critical violation on any public page at a
laptop and a phone size; the swipe loop works from the keyboard alone, with a visible focus; photos are
described by their scene tags.

axe-core comes from the npm registry (scripts/ensure_axe.sh, run by `make test`). It is evaluated through
the DevTools protocol, which the page's Content-Security-Policy does not govern, so the policy stays on.
"""

import os
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from cities.models import Photo
from jobs.models import Job
from mlworker.models import ModelVersion
from mlworker.services import activate, write_predictions
from tests.helpers import jpeg_bytes

from .test_fit import SIZES

pytestmark = pytest.mark.e2e

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}


@cache
def axe_source() -> str:
    if not AXE.exists():
        pytest.fail(f"no axe-core at {AXE}: run scripts/ensure_axe.sh (make test does)")
    return AXE.read_text(encoding="utf-8")


def axe_violations(page: Page) -> list[str]:
    """Serious and critical axe-core violations of the page as it is now, one line per rule and element."""
    page.evaluate(axe_source())
    result = page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations'],"
        " runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {node['target']}"
        for v in result["violations"]
        if v["impact"] in BLOCKING
        for node in v["nodes"]
    ]


@pytest.fixture
def trained_catalogue(postcard_set):
    """The postcards under a stand-in trained model (no TensorFlow), so the look-alike pages, the map and
    /classify/ have something to show; the photos carry scene tags."""
    photos = postcard_set()
    baseline = ModelVersion.objects.get(is_active=True)
    version = ModelVersion.objects.create(
        name="stand-in", backbone="efficientnet_lite0", city_ids=baseline.city_ids, status="ready"
    )
    ids, vectors = [], []
    for c, slug in enumerate(photos):
        for photo in photos[slug]:
            row = np.full(len(baseline.city_ids), 0.05, dtype=np.float32)
            row[c] = 1.0 - 0.05 * (len(row) - 1)
            ids.append(photo.pk)
            vectors.append(row)
    write_predictions(version, ids, np.array(vectors))
    activate(version)
    Photo.objects.filter(city__slug="kyoto").update(scene_tags=["temple", "garden"])
    Photo.objects.filter(city__slug="reykjavik").update(scene_tags=["coast", "mountains", "harbour"])
    return photos


def swipe_a_few(page: Page, n: int = 3) -> None:
    page.goto("/")
    for i in range(n):
        page.locator("#btn-like" if i % 2 == 0 else "#btn-dislike").click()
        expect(page.locator("#swipe-count")).to_have_text(str(i + 1))


def classify_page_with_a_result(page: Page) -> str:
    page.goto("/classify/")
    page.set_input_files(
        "#photo", files=[{"name": "me.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes()}]
    )
    page.locator("#btn-classify").click()
    page.wait_for_url("**/classify/*/")
    job = Job.objects.filter(kind="classify").latest("pk")
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.SUCCEEDED,
        result={"top": [{"slug": "kyoto", "name": "Kyoto", "country": "Japan", "percent": 62.5}]},
    )
    return f"/classify/{job.pk}/"


def shot(page: Page, name: str) -> None:
    folder = os.environ.get("E2E_SHOTS")
    if folder:
        page.screenshot(path=f"{folder}/{name}.png", full_page=True)


@pytest.mark.parametrize("size", SIZES)
def test_no_serious_violations_on_any_public_page(new_page, trained_catalogue, size):
    page = new_page(viewport=SIZES[size])
    swipe_a_few(page)
    pages = [
        "/",
        "/recommendations/",
        "/recommendations/reset/",
        "/classify/",
        classify_page_with_a_result(page),
        "/cities/similarity/",
        "/cities/kyoto/",
        "/cities/kyoto/look-alikes/",
        "/accounts/login/",
        "/accounts/signup/",
        "/no-such-page/",
    ]
    found = {}
    for path in pages:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        shot(page, f"a11y-{size}-{path.strip('/').replace('/', '_') or 'home'}")
        found[path] = axe_violations(page)
    # Forms in their error state too.
    page.goto("/accounts/signup/")
    page.fill("#id_username", "ana")
    page.fill("#id_password1", "a long passphrase 1")
    page.fill("#id_password2", "another passphrase 2")
    page.locator("#btn-signup").click()
    expect(page.locator("#form-errors")).to_be_visible()
    shot(page, f"a11y-{size}-signup-errors")
    found["/accounts/signup/ (errors)"] = axe_violations(page)
    report = [f"{path}: {line}" for path, lines in found.items() for line in lines]
    assert report == [], "\n".join(report)


def focus_by_tab(page: Page, selector: str, limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement === document.querySelector(s)", selector):
            return
    pytest.fail(f"Tab never reached {selector}")


def test_the_swipe_loop_works_from_the_keyboard_with_a_visible_focus(page, trained_catalogue):
    page.goto("/")
    focus_by_tab(page, "#btn-dislike")
    ring = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert ring not in ("none", ""), "the focused button shows no focus ring"
    assert page.evaluate("() => document.activeElement.matches(':focus-visible')")
    first = page.locator('#swipe-form input[name="photo"]').input_value()
    page.keyboard.press("Enter")
    expect(page.locator("#swipe-count")).to_have_text("1")
    expect(page.locator('#swipe-form input[name="photo"]')).not_to_have_value(first)

    page.goto("/")
    focus_by_tab(page, "#btn-like")
    page.keyboard.press("Space")
    expect(page.locator("#swipe-count")).to_have_text("2")


def test_the_card_describes_its_photo_by_scene_tags_not_by_city(page, trained_catalogue):
    page.goto("/")
    described = set()
    for _ in range(6):
        alt = page.locator("#card img").get_attribute("alt")
        assert alt and "Kyoto" not in alt and "Reykjavik" not in alt
        described.add(alt)
        count = int(page.locator("#swipe-count").inner_text())
        page.locator("#btn-like").click()
        expect(page.locator("#swipe-count")).to_have_text(str(count + 1))
    assert {"A photo with temple and garden", "A photo with coast, mountains and harbour"} & described
