"""Scraping end to end against the local stand-in for Commons and Google: what is stored and what is not."""

import io

import pytest
from PIL import Image

from cities.ingest.scrape import ScrapeError, build_request, scrape
from cities.models import Photo
from tests.fakeweb import encode, photo_like, stream_forever
from tests.helpers import run_queued_jobs


@pytest.fixture
def berlin(make_city):
    return make_city("berlin", "Berlin")


def run(slugs=("berlin",), **options):
    return scrape(build_request(city_slugs=slugs, **options))


def test_valid_jpeg_and_png_are_stored_with_credit_and_licence(scrape_settings, fake_web, berlin):
    fake_web.add_commons_file("Berlin_TV_tower.jpg", encode(photo_like(1)), topic="Berlin skyline")
    png = encode(photo_like(2, size=(640, 480)).convert("RGBA"), "PNG")
    fake_web.add_commons_file(
        "Berlin_street.png",
        png,
        topic="Berlin street",
        mime="image/png",
        licence="CC0",
        artist="<span>Max &lt;Mustermann&gt;</span>",
        licence_url="//creativecommons.org/publicdomain/zero/1.0/",
    )
    report = run(per_city=5)
    assert report.problems == [] and len(report.stored) == 2
    tower = Photo.objects.get(city=berlin, source_url__endswith="Berlin_TV_tower.jpg")
    street = Photo.objects.get(city=berlin, source_url__endswith="Berlin_street.png")
    assert tower.source == "wikimedia" and tower.author == "Jane & Co" and tower.licence == "CC BY-SA 4.0"
    assert tower.source_url == "https://commons.wikimedia.org/wiki/File:Berlin_TV_tower.jpg"
    assert tower.licence_url == "https://creativecommons.org/licenses/by-sa/4.0"
    assert street.author == "Max <Mustermann>" and street.licence == "CC0"
    assert street.licence_url == "https://creativecommons.org/publicdomain/zero/1.0/"
    assert len(street.perceptual_hash) == 16 and street.thumbnail
    with street.image.open() as stored:
        assert Image.open(stored).format == "JPEG"
    assert fake_web.searches[:2] == ["Berlin skyline filetype:bitmap", "Berlin street filetype:bitmap"]
    assert not berlin.photos.first().predictions.exists()  # asked for by a predict job...
    run_queued_jobs("predict")
    assert berlin.photos.first().predictions.exists()  # ...which the active (baseline) model answers


def test_commons_scaled_copy_is_downloaded_rather_than_the_original(scrape_settings, fake_web, berlin):
    original = fake_web.add_commons_file("big.jpg", encode(photo_like(3, size=(3000, 2000))), topic="Berlin")
    tiff = fake_web.add_commons_file(
        "scan.tif", encode(photo_like(5, size=(900, 600)), "TIFF"), topic="Berlin", mime="image/tiff"
    )
    run(per_city=2, queries=["{city}"])
    sizes = sorted((p.width, p.height) for p in Photo.objects.all())
    assert sizes == [(900, 600), (1280, 853)]  # a standard width; a TIFF comes as its JPEG rendering
    assert fake_web.hits[original] == fake_web.hits[tiff] == 0
    downloads = [r.path.rsplit("/", 1)[-1] for r in fake_web.requests if r.path.startswith("/upload/thumb/")]
    assert sorted(downloads) == ["1280px-big.jpg", "900px-scan.tif.jpg"]
    assert {r.host for r in fake_web.requests if r.path.startswith("/upload/")} == {"upload.wikimedia.org"}


def test_large_photos_are_downscaled_and_get_a_thumbnail(scrape_settings, fake_web, berlin):
    fake_web.commons.scaled_copies = False
    fake_web.add_commons_file("big.jpg", encode(photo_like(3, size=(3000, 2000))), topic="Berlin")
    run(per_city=1)
    photo = Photo.objects.get()
    assert (photo.width, photo.height) == (1600, 1067)
    with photo.thumbnail.open() as thumbnail:
        assert max(Image.open(thumbnail).size) == 480


def test_bad_candidates_are_counted_and_never_fail_the_run(scrape_settings, fake_web, berlin, settings):
    settings.SCRAPE_MAX_DOWNLOAD_BYTES = 1024 * 1024
    settings.MAX_IMAGE_PIXELS = 4_000_000
    fake_web.commons.scaled_copies = False  # Commons would serve a small copy of the bomb: take the original
    whole = encode(photo_like(4))
    bomb = encode(Image.new("1", (4000, 4000)), "PNG")  # tiny file, 16 Mpx once decoded
    fake_web.add_commons_file("html.jpg", b"<html><body>Not an image</body></html>", topic="Berlin")
    fake_web.add_commons_file("truncated.jpg", whole[: len(whole) // 2], topic="Berlin")
    fake_web.add_commons_file("bomb.png", bomb, topic="Berlin", mime="image/png")
    huge = fake_web.add_commons_file("huge.jpg", b"", topic="Berlin")
    fake_web.routes[huge].handler = stream_forever(60 * 1024 * 1024, fake_web.bytes_sent, huge)
    fake_web.add_commons_file("good.jpg", whole, topic="Berlin")
    report = run(per_city=5, queries=["{city}"])
    assert [Photo.objects.get().source_url.endswith("good.jpg")] == [True]
    reasons = {r.name.rsplit("/", 1)[-1]: r.reason for r in report.rejected}
    assert "not an image" in reasons["html.jpg"]
    assert "damaged or truncated" in reasons["truncated.jpg"]
    assert "decompression bomb" in reasons["bomb.png"]
    assert "passed the limit" in reasons["huge.jpg"]
    assert fake_web.bytes_sent[huge] < 16 * 1024 * 1024
    assert report.errors == [] and "4 rejected, 0 failed" in report.summary()


def test_non_free_licences_are_skipped_before_download(scrape_settings, fake_web, berlin):
    for i, (licence, non_free) in enumerate(
        [("CC BY-NC-SA 4.0", False), ("CC BY-ND 2.0", False), ("Fair use", False), ("CC BY 4.0", True)]
    ):
        fake_web.add_commons_file(
            f"unfree-{i}.jpg", encode(photo_like(10 + i)), topic="Berlin", licence=licence, non_free=non_free
        )
    fake_web.add_commons_file("free.jpg", encode(photo_like(20)), topic="Berlin", licence="CC BY 2.0")
    report = run(per_city=5, queries=["{city}"])
    assert [p.licence for p in Photo.objects.all()] == ["CC BY 2.0"]
    assert report.skipped_unfree == 4
    assert not any(fake_web.hits[f"/upload/{i}/unfree-{i}.jpg"] for i in range(4))


def test_duplicates_and_near_duplicates_are_skipped(scrape_settings, fake_web, berlin):
    original = photo_like(30)
    fake_web.add_commons_file("a.jpg", encode(original, quality=90), topic="Berlin")
    fake_web.add_commons_file("a-again.jpg", encode(original, quality=90), topic="Berlin")  # same bytes
    smaller = original.resize((760, 570)).rotate(0.5, fillcolor="white")
    fake_web.add_commons_file("a-small.jpg", encode(smaller, quality=70), topic="Berlin")  # same picture
    fake_web.add_commons_file("b.jpg", encode(photo_like(31)), topic="Berlin")
    report = run(per_city=10, queries=["{city}"], concurrency=1)
    assert Photo.objects.count() == 2
    reasons = sorted(d.reason.split(" of ")[0] for d in report.duplicates)
    assert reasons == ["duplicate", "near-duplicate"]


def test_a_rerun_tops_up_without_duplicating(scrape_settings, fake_web, berlin, make_city):
    make_city("paris", "Paris")
    for i in range(6):
        fake_web.add_commons_file(f"berlin-{i}.jpg", encode(photo_like(40 + i)), topic="Berlin")
        fake_web.add_commons_file(f"paris-{i}.jpg", encode(photo_like(50 + i)), topic="Paris")
    first = run(("berlin", "paris"), per_city=2, queries=["{city}"])
    assert len(first.stored) == 4
    downloads = sum(n for path, n in fake_web.hits.items() if path.startswith("/upload/"))
    assert downloads == 4  # no more downloads than photos needed
    second = run(("berlin", "paris"), per_city=5, queries=["{city}"])
    assert len(second.stored) == 6 and second.duplicates == [] and second.problems == []
    assert berlin.photos.count() == 5 and Photo.objects.filter(city__slug="paris").count() == 5
    third = run(("berlin", "paris"), per_city=5, queries=["{city}"])
    assert third.stored == [] and "berlin 5/5, paris 5/5" in third.summary()
    assert sum(n for path, n in fake_web.hits.items() if path.startswith("/upload/")) == 10


def test_the_removed_google_provider_is_refused_with_its_reason(berlin):
    with pytest.raises(ScrapeError, match="Google Custom Search provider was removed.*1 January 2027"):
        build_request(city_slugs=["berlin"], provider="google")


def test_a_url_list_feeds_the_named_cities(scrape_settings, fake_web, berlin, make_city):
    make_city("paris", "Paris")
    a = fake_web.serve("/list/a.jpg", encode(photo_like(70)))
    b = fake_web.serve("/list/b.png", encode(photo_like(71), "PNG"), content_type="image/png")
    text = f"# photos we took ourselves\n{a},berlin,Ann,CC BY 4.0\n\n{b},paris\n"
    report = run(("berlin", "paris"), provider="urls", urls=text, per_city=3)
    assert len(report.stored) == 2
    assert Photo.objects.get(city=berlin).author == "Ann"
    assert Photo.objects.get(city__slug="paris").source_url == b


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"city_slugs": ["atlantis"]}, "unknown city slug: atlantis"),
        ({"provider": "flickr"}, "unknown provider 'flickr'"),
        ({"per_city": 0}, "between 1 and 200, not 0"),
        ({"per_city": 1000}, "between 1 and 200, not 1000"),
        ({"queries": ["skyline"]}, "must contain {city}"),
        ({"provider": "urls", "urls": "not a url"}, "line 1: 'not a url' is not an http(s) URL"),
        ({"provider": "urls", "urls": "https://x.org/a.jpg,atlantis"}, "names unknown cities: atlantis"),
    ],
)
def test_bad_input_gets_a_clear_error(berlin, options, message):
    with pytest.raises(ScrapeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_request(**{"city_slugs": ["berlin"], **options})


def test_a_png_keeps_its_pixels_when_stored(scrape_settings, fake_web, berlin):
    image = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    image.paste((20, 120, 220, 255), (0, 0, 150, 200))
    fake_web.add_commons_file("half.png", encode(image, "PNG"), topic="Berlin", mime="image/png")
    run(per_city=1)
    stored = Image.open(io.BytesIO(Photo.objects.get().image.read())).convert("RGB")
    assert stored.getpixel((10, 100))[2] > 180 and stored.getpixel((290, 100)) > (230, 230, 230)


def test_a_file_the_provider_says_is_too_big_is_not_downloaded(scrape_settings, fake_web, berlin):
    scrape_settings.SCRAPE_MAX_DOWNLOAD_BYTES = 2000
    path = fake_web.add_commons_file(
        "big.jpg", encode(photo_like(90)), topic="Berlin"
    )  # ~20 KB, size reported
    report = run(per_city=1, queries=["{city}"])
    assert fake_web.hits[path] == 0 and "the limit is 2,000" in report.rejected[0].reason


def test_the_exif_orientation_is_applied(scrape_settings, fake_web, berlin):
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    fake_web.add_commons_file(
        "sideways.jpg", encode(photo_like(91, size=(400, 300)), exif=exif), topic="Berlin"
    )
    run(per_city=1)
    assert (Photo.objects.get().width, Photo.objects.get().height) == (300, 400)
