"""The recommendations page in a real browser at laptop and phone sizes: the chart reads at 390 px, the
taste, the map, narrowing with htmx, and the city revealed after a swipe."""

import pytest
from playwright.sync_api import expect

from cities.models import City, Photo
from swipes import services

from .helpers import the_profile

pytestmark = pytest.mark.e2e

LAPTOP = {"width": 1366, "height": 657}
PHONE = {"width": 390, "height": 664}
PLACES = {
    "alpha": ("San Francisco Bay Area", "United States", "US", 37.77, -122.42, ["coast", "bridge"]),
    "beta": ("Lisbon", "Portugal", "PT", 38.72, -9.14, ["coast", "tram"]),
    "gamma": ("Dubai", "United Arab Emirates", "AE", 25.2, 55.27, ["skyline"]),
}


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1366x657", "390x664"])
def test_the_recommendations_read_well_on_a_laptop_and_a_phone(new_page, photo_set, settings, viewport):
    settings.VIBES_SCORER, settings.VIBES_POLICY = "original", "global_queue"
    photos = photo_set()
    for slug, (name, country, code, lat, lon, tags) in PLACES.items():
        City.objects.filter(slug=slug).update(
            name=name, country=country, country_code=code, latitude=lat, longitude=lon
        )
        Photo.objects.filter(city__slug=slug).update(scene_tags=tags)
    page = new_page(viewport=viewport)
    page.goto("/")
    expect(page.locator("#card")).to_be_visible()
    page.locator("#btn-like").click()
    expect(page.locator("#reveal")).to_contain_text("That was ")  # the reveal is on by default

    profile = the_profile(page)
    for slug, liked in (("alpha", True), ("beta", True), ("gamma", False)):
        for photo in photos[slug]:
            services.record_swipe(profile, photo.pk, liked)
    page.goto("/recommendations/")

    expect(page.locator("#taste-sentence")).to_have_text(
        "You go for coast, bridges and trams; you skip skylines."
    )
    chart = page.locator("#score-chart")
    expect(chart).to_be_visible()
    sizes = chart.evaluate(
        """svg => [...svg.querySelectorAll('.chart-label, .chart-value, .chart-tick')].map(
               t => parseFloat(getComputedStyle(t).fontSize) * svg.getScreenCTM().a)"""
    )
    assert min(sizes) >= 12, f"chart text renders at {min(sizes):.1f} px"
    long_name = chart.locator("text.chart-label", has_text="San Francisco Bay Area")
    name_box, chart_box = long_name.bounding_box(), chart.bounding_box()
    assert (
        chart_box["x"] <= name_box["x"]
        and name_box["x"] + name_box["width"] <= chart_box["x"] + chart_box["width"]
    )
    expect(chart).to_contain_text("100%")
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], "sideways scroll"
    expect(page.locator("#world-map .map-pin")).to_have_count(3)

    page.locator("#narrow-continent").select_option("Europe")  # htmx swaps the ranking in place
    expect(page.locator(".ranked-city")).to_have_count(1)
    expect(page.locator(".ranked-city .city-name")).to_have_text("Lisbon")
    assert "continent=Europe" in page.url

    share = page.locator("#share-url").input_value()
    stranger = new_page(viewport=viewport)  # no cookies: no login, no profile
    stranger.goto(share)
    expect(stranger.locator("#taste-sentence")).to_have_text(
        "They go for coast, bridges and trams; they skip skylines."
    )
    expect(stranger.locator(".ranked-city form")).to_have_count(0)  # read-only
    og_image = stranger.locator('meta[property="og:image"]').get_attribute("content")
    assert stranger.request.get(og_image).headers["content-type"] == "image/png"
