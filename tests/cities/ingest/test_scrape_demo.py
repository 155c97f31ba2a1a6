"""`seed_demo --real-photos auto` (what `make demo` runs): Commons, else Openverse, else the postcards."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from cities.models import City, Photo
from cities.postcards import DEMO_STYLES
from cities.services import seed_cities
from tests.fakeweb import encode, photo_like

pytestmark = pytest.mark.django_db

PLACEHOLDER = "CityVibes/1.0 (https://github.com/city-vibes/city-vibes; cityvibes-admin@example.org)"


def demo_cities():
    seed_cities()
    return City.objects.filter(slug__in=DEMO_STYLES).order_by("slug")


def test_without_commons_or_openverse_the_demo_falls_back_to_synthetic_postcards(scrape_settings):
    scrape_settings.WIKIMEDIA_API_URL = "http://127.0.0.1:9/w/api.php"  # nothing listens on the discard port
    scrape_settings.OPENVERSE_API_URL = "http://127.0.0.1:9/v1/"
    out = StringIO()
    call_command("seed_demo", real_photos="auto", per_city=1, stdout=out)
    assert "Wikimedia Commons cannot be used (connection failed" in out.getvalue()
    assert "Openverse cannot be used (connection failed" in out.getvalue()
    assert Photo.objects.filter(source="synthetic").count() == len(DEMO_STYLES)
    assert not Photo.objects.exclude(source="synthetic").exists()


def test_with_the_loopback_switch_off_the_local_stand_ins_count_as_unreachable(scrape_settings):
    scrape_settings.SCRAPE_ALLOW_LOOPBACK = False
    with pytest.raises(CommandError, match="Wikimedia Commons: .*loopback.*; Openverse: .*loopback"):
        call_command("seed_demo", real_photos="yes", per_city=1, stdout=StringIO())
    assert not Photo.objects.exists()


def test_with_commons_reachable_the_demo_cities_get_real_photos(scrape_settings, fake_web):
    for i, city in enumerate(demo_cities()):
        fake_web.add_commons_file(
            f"{city.slug}.jpg", encode(photo_like(500 + i, size=(320, 240))), topic=city.name
        )
    out = StringIO()
    call_command("seed_demo", real_photos="auto", per_city=1, stdout=out)
    assert "Wikimedia Commons is reachable" in out.getvalue() and "Openverse" not in out.getvalue()
    assert Photo.objects.filter(source="wikimedia").count() == len(DEMO_STYLES)
    assert not Photo.objects.filter(source="synthetic").exists()
    call_command("seed_demo", real_photos="auto", per_city=1, stdout=StringIO())  # a restart: nothing new
    assert Photo.objects.count() == len(DEMO_STYLES)


def test_without_a_contact_for_commons_the_demo_takes_openverse_photos_with_their_credits(
    scrape_settings, fake_web
):
    scrape_settings.SCRAPE_USER_AGENT = PLACEHOLDER
    for i, city in enumerate(demo_cities()):
        fake_web.add_commons_file(
            f"{city.slug}.jpg", encode(photo_like(600 + i, (320, 240))), topic=city.name
        )
        fake_web.add_openverse_image(
            f"{city.name} at dusk",
            encode(photo_like(700 + i, (320, 240))),
            topic=city.name,
            creator="Kim Lee",
        )
    out = StringIO()
    call_command("seed_demo", real_photos="auto", per_city=1, stdout=out)
    assert "Wikimedia Commons cannot be used (SCRAPE_USER_AGENT still names the placeholder" in out.getvalue()
    assert "Openverse is reachable" in out.getvalue()
    assert not [r for r in fake_web.requests if r.host.endswith("wikimedia.org")]  # not one request
    photos = Photo.objects.filter(source="openverse")
    assert photos.count() == len(DEMO_STYLES) and not Photo.objects.exclude(source="openverse").exists()
    assert {(p.author, p.licence) for p in photos} == {("Kim Lee", "CC BY 2.0")}
    assert all(p.source_url.startswith("https://www.flickr.com/photos/") for p in photos)


def test_a_commons_without_photos_of_the_demo_cities_hands_over_to_openverse(scrape_settings, fake_web):
    city = demo_cities().first()
    fake_web.add_openverse_image(f"{city.name} bridge", encode(photo_like(800, (320, 240))), topic=city.name)
    out = StringIO()
    call_command("seed_demo", real_photos="auto", per_city=1, stdout=out)
    assert "No photo from Wikimedia Commons could be stored" in out.getvalue()
    assert Photo.objects.get().source == "openverse"
