"""`seed_demo --real-photos auto` (what `make demo` runs): real photos when Commons answers, else postcards."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from cities.models import City, Photo
from cities.postcards import DEMO_STYLES
from cities.services import seed_cities
from tests.fakeweb import encode, photo_like

pytestmark = pytest.mark.django_db


def test_without_commons_the_demo_falls_back_to_synthetic_postcards(scrape_settings):
    scrape_settings.WIKIMEDIA_API_URL = "http://127.0.0.1:9/w/api.php"  # nothing listens on the discard port
    out = StringIO()
    call_command("seed_demo", real_photos="auto", per_city=1, stdout=out)
    assert "Wikimedia Commons is not reachable (connection failed" in out.getvalue()
    assert Photo.objects.filter(source="synthetic").count() == len(DEMO_STYLES)
    assert not Photo.objects.exclude(source="synthetic").exists()


def test_with_the_loopback_switch_off_a_local_commons_counts_as_unreachable(scrape_settings):
    scrape_settings.SCRAPE_ALLOW_LOOPBACK = False
    with pytest.raises(CommandError, match="not reachable: .*loopback"):
        call_command("seed_demo", real_photos="yes", per_city=1, stdout=StringIO())
    assert not Photo.objects.exists()


def test_with_commons_reachable_the_demo_cities_get_real_photos(scrape_settings, fake_web):
    seed_cities()
    for i, city in enumerate(City.objects.filter(slug__in=DEMO_STYLES)):
        fake_web.add_commons_file(
            f"{city.slug}.jpg", encode(photo_like(500 + i, size=(320, 240))), topic=city.name
        )
    out = StringIO()
    call_command("seed_demo", real_photos="auto", per_city=1, stdout=out)
    assert "Wikimedia Commons is reachable" in out.getvalue()
    assert Photo.objects.filter(source="wikimedia").count() == len(DEMO_STYLES)
    assert not Photo.objects.filter(source="synthetic").exists()
    call_command("seed_demo", real_photos="auto", per_city=1, stdout=StringIO())  # a restart: nothing new
    assert Photo.objects.count() == len(DEMO_STYLES)
