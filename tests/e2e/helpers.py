"""Reading the page and the database in the end-to-end tests."""

import numpy as np
import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from cities.models import City, Photo
from mlworker.models import ModelVersion, PhotoPrediction
from swipes.engine import engine_for
from swipes.models import Swipe
from swipes.recommender import scoring
from swipes.selectors import profile_for_visitor_cookie, replayed_state
from swipes.visitors import VISITOR_COOKIE

PHOTO_INPUT = '#swipe-form input[name="photo"]'


def shown_photo_id(page: Page) -> int:
    return int(page.locator(PHOTO_INPUT).input_value())


def wait_for_next_card(page: Page, count: int, previous_photo: int) -> int:
    """Wait for the swap that follows a swipe: the counter moves on and a different photo is served."""
    expect(page.locator("#swipe-count")).to_have_text(str(count))
    expect(page.locator(PHOTO_INPUT)).not_to_have_value(str(previous_photo))
    return shown_photo_id(page)


def assert_images_loaded(page: Page, selector: str) -> int:
    """Every image matching `selector` has finished loading and decoded to real pixels; returns how many."""
    images = page.locator(selector)
    count = images.count()
    assert count, f"no images match {selector}"
    for image in images.all():
        image.scroll_into_view_if_needed()
        expect(image).to_have_js_property("complete", True)
        width = image.evaluate("img => img.naturalWidth")
        assert width > 0, f"{image.get_attribute('src')} did not load"
    return count


def assert_card_shows_its_photo(page: Page) -> int:
    """The card's image loaded, and the bytes the browser got are the stored file of the photo it swipes."""
    photo_id = shown_photo_id(page)
    image = page.locator("#card img")
    assert_images_loaded(page, "#card img")
    served = page.request.get(image.evaluate("img => img.currentSrc"))
    assert served.ok, f"{served.url}: {served.status}"
    with Photo.objects.get(pk=photo_id).image.open("rb") as stored:
        assert served.body() == stored.read(), f"the card of photo {photo_id} shows another file"
    return photo_id


def the_profile(page: Page):
    """The anonymous profile behind this browser context's visitor cookie (None before its first swipe)."""
    tokens = [c["value"] for c in page.context.cookies() if c["name"] == VISITOR_COOKIE]
    assert len(tokens) == 1, f"expected one visitor cookie, found {tokens}"
    return profile_for_visitor_cookie(tokens[0])


def swipe_log(profile) -> list[tuple[int, bool, bool]]:
    """(photo id, liked, live) for every swipe of the profile, oldest first ([] before the first swipe)."""
    if profile is None:
        return []
    return [
        (photo_id, liked, undone_at is None)
        for photo_id, liked, undone_at in Swipe.objects.filter(profile=profile)
        .order_by("id")
        .values_list("photo_id", "liked", "undone_at")
    ]


def replayed_ranking(profile) -> list[tuple[str, float]]:
    """The ranking recomputed from scratch: the live log read back from the database and replayed by the
    configured scorer; under the original scorer, also checked against the plain add/subtract arithmetic."""
    version = ModelVersion.objects.get(is_active=True)
    scores = engine_for(version).scorer.city_scores(replayed_state(profile, version))
    if settings.VIBES_SCORER == "original":
        rows = list(profile.swipes.live().order_by("id").values_list("photo_id", "liked"))
        vectors = {
            photo_id: np.frombuffer(probabilities, dtype=np.float32)
            for photo_id, probabilities in PhotoPrediction.objects.filter(
                model_version=version, photo_id__in=[p for p, _ in rows]
            ).values_list("photo_id", "probabilities")
        }
        arithmetic = scoring.empty_scores(version.n_cities)
        for photo_id, liked in rows:
            arithmetic = scoring.apply_swipe(arithmetic, vectors[photo_id], liked)
        assert np.array_equal(scores, arithmetic)
    slugs = dict(City.objects.filter(pk__in=version.city_ids).values_list("pk", "slug"))
    return [(slugs[version.city_ids[i]], float(scores[i])) for i in scoring.rank(scores)]


def page_ranking(page: Page) -> list[tuple[str, float]]:
    items = page.locator("li.ranked-city")
    return [
        (item.get_attribute("data-slug"), float(item.get_attribute("data-score"))) for item in items.all()
    ]


def assert_ranking_matches_replay(page: Page, profile) -> None:
    shown, expected = page_ranking(page), replayed_ranking(profile)
    assert shown, "the recommendations page lists no cities"
    assert [slug for slug, _ in shown] == [slug for slug, _ in expected]
    assert [score for _, score in shown] == pytest.approx([score for _, score in expected], abs=1e-6)
