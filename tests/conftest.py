import io

import pytest
from PIL import Image

from cities.ingest import ingest_bytes
from cities.models import City
from cities.services import sync_label_only_model


def jpeg_bytes(colour=(200, 80, 40), size=(64, 80), seed=0, fmt="JPEG") -> bytes:
    """A small, unique image: a solid colour with a seed-dependent pixel pattern (so sha256 differs)."""
    image = Image.new("RGB", size, colour)
    for i in range(8):
        image.putpixel(
            ((seed * 7 + i * 3) % size[0], (seed * 3 + i) % size[1]), (seed % 256, i * 30, 255 - i)
        )
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path_factory):
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")


@pytest.fixture
def make_city(db):
    def make(slug, name=None, country="Testland"):
        return City.objects.get_or_create(
            slug=slug, defaults={"name": name or slug.title(), "country": country}
        )[0]

    return make


@pytest.fixture
def photo_set(db, make_city):
    """Three cities with four photos each, under the label-only baseline. Returns {slug: [photos]}."""

    def make(slugs=("alpha", "beta", "gamma"), per_city=4):
        photos = {}
        for c, slug in enumerate(slugs):
            city = make_city(slug)
            photos[slug] = [
                ingest_bytes(
                    city, f"{slug}-{i}.jpg", jpeg_bytes((40 * c, 100, 200 - 40 * c), seed=c * 100 + i)
                )
                for i in range(per_city)
            ]
        sync_label_only_model()
        return photos

    return make


@pytest.fixture
def fake_web():
    """A local HTTP server standing in for Commons, Google and image hosts (see tests/fakeweb.py)."""
    from tests.fakeweb import FakeWeb

    web = FakeWeb().start()
    yield web
    web.stop()


@pytest.fixture
def scrape_settings(settings, fake_web):
    """Point the providers at the fake web, allow loopback (only for it), and keep every wait short."""
    settings.SCRAPE_ALLOW_LOOPBACK = True
    settings.WIKIMEDIA_API_URL = fake_web.url("/w/api.php")
    settings.GOOGLE_CSE_URL = fake_web.url("/customsearch/v1")
    settings.SCRAPE_CONNECT_TIMEOUT = 2.0
    settings.SCRAPE_READ_TIMEOUT = 2.0
    settings.SCRAPE_DEADLINE_SECONDS = 20.0
    settings.SCRAPE_RETRIES = 2
    settings.SCRAPE_BACKOFF_SECONDS = 0.01
    settings.SCRAPE_HOST_INTERVAL_SECONDS = 0
    return settings
