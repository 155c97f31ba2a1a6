"""Ingestion writes through the storage API only: with a storage that is not the file system (Django's
InMemoryStorage, standing in for S3), the upload, the folder import and a scrape all store their photos,
and nothing lands under MEDIA_ROOT."""

import pytest
from django.core.files.storage import InMemoryStorage, default_storage
from PIL import Image

from cities.ingest.folder import import_folder
from cities.ingest.scrape import build_request, scrape
from cities.ingest.upload import import_uploads
from cities.models import Photo
from tests.fakeweb import encode, photo_like
from tests.helpers import jpeg_bytes


@pytest.fixture
def memory_storage(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    return settings


def test_every_way_in_stores_through_the_storage_api(
    memory_storage, scrape_settings, fake_web, make_city, tmp_path
):
    berlin = make_city("berlin", "Berlin")
    uploaded = import_uploads(berlin, [("a.jpg", jpeg_bytes(seed=1))], source="upload")
    (tmp_path / "in" / "berlin").mkdir(parents=True)
    (tmp_path / "in" / "berlin" / "b.jpg").write_bytes(jpeg_bytes(seed=2))
    imported = import_folder(tmp_path / "in")
    fake_web.add_commons_file("c.jpg", encode(photo_like(3)), topic="Berlin")
    scraped = scrape(build_request(city_slugs=["berlin"], per_city=1, queries=["{city}"]))
    assert [len(r.stored) for r in (uploaded, imported, scraped)] == [1, 1, 1]

    assert isinstance(Photo._meta.get_field("image").storage._wrapped, InMemoryStorage)
    for photo in Photo.objects.all():
        for field in (photo.image, photo.thumbnail):
            assert default_storage.exists(field.name)
            with field.open() as stored:
                assert Image.open(stored).format == "JPEG"
    assert not any(memory_storage.MEDIA_ROOT.iterdir())
