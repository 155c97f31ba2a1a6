"""The one ingestion path: validation of every kind of bad file, the admin bulk upload and import_photos."""

import io
import re
import zipfile

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from PIL import Image

from cities.ingest.report import IngestReport
from cities.ingest.store import ingest_one
from cities.ingest.validation import ImageRejected, validate_image
from cities.models import Photo
from mlworker.models import ModelVersion, PhotoPrediction
from tests.helpers import ingest_photo, jpeg_bytes, run_queued_jobs


def png_bytes(size=(40, 30), mode="RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (10, 200, 30, 128) if mode == "RGBA" else 0).save(out, format="PNG")
    return out.getvalue()


def exif_rotated_jpeg() -> bytes:
    """A 60×20 landscape JPEG whose EXIF says 'rotate 90° clockwise to display' (orientation 6)."""
    image = Image.new("RGB", (60, 20), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def bomb_png(side=10_000) -> bytes:
    """Highly compressible: a few kB on disk, 100 megapixels when decoded."""
    out = io.BytesIO()
    Image.new("1", (side, side), 0).save(out, format="PNG", optimize=True)
    return out.getvalue()


class TestValidateImage:
    def test_accepts_jpeg_and_png_and_flattens_alpha(self):
        assert validate_image("a.jpg", jpeg_bytes()).image.mode == "RGB"
        valid = validate_image("b.png", png_bytes())
        assert valid.image.mode == "RGB" and valid.image.size == (40, 30)

    def test_applies_exif_orientation(self):
        assert validate_image("r.jpg", exif_rotated_jpeg()).image.size == (20, 60)

    @pytest.mark.parametrize(
        "name, data, reason",
        [
            ("notes.txt", b"hello", "unsupported file type '.txt'"),
            ("page.jpg", b"<html><body>not an image</body></html>", "not an image"),
            ("empty.png", b"", "empty"),
            ("truncated.jpg", jpeg_bytes(size=(300, 300))[:700], "damaged or truncated"),
            ("really-a-png.jpg", png_bytes(), "the file is PNG but its name says JPEG"),
        ],
    )
    def test_rejects_bad_files_with_a_reason(self, name, data, reason):
        with pytest.raises(ImageRejected) as caught:
            validate_image(name, data)
        assert reason in caught.value.reason and caught.value.name == name

    def test_rejects_oversize_files(self, settings):
        settings.MAX_IMAGE_BYTES = 1000
        with pytest.raises(ImageRejected, match="the limit is"):
            validate_image("big.jpg", jpeg_bytes(size=(400, 400), seed=3) + b"\0" * 1000)

    def test_rejects_a_decompression_bomb(self):
        data = bomb_png()
        assert len(data) < 200_000
        with pytest.raises(ImageRejected, match="decompression bomb"):
            validate_image("bomb.png", data)


@pytest.mark.django_db
class TestIngest:
    def test_stores_a_downscaled_jpeg_and_a_thumbnail(self, make_city):
        city = make_city("paris")
        photo = ingest_photo(
            city, "big.png", png_bytes(size=(3200, 1600), mode="RGB"), author="Ann", licence="CC0"
        )
        assert (photo.width, photo.height) == (1600, 800)
        with photo.thumbnail.open() as thumb:
            assert max(Image.open(thumb).size) == 480
        assert photo.credit_line == "Ann · CC0 · upload"  # no "©" under CC0

    def test_a_duplicate_is_refused_and_names_the_original(self, make_city):
        first = ingest_photo(make_city("rome"), "a.jpg", jpeg_bytes(seed=9))
        report = IngestReport()
        assert ingest_one(report, make_city("oslo"), "copy.jpg", jpeg_bytes(seed=9)) is None
        (duplicate,) = report.duplicates
        assert duplicate.existing == first.pk and duplicate.name == "copy.jpg" and duplicate.city == "oslo"
        assert f"duplicate of photo #{first.pk} (Rome)" in duplicate.reason
        assert report.stored == [] and report.rejected == [] and Photo.objects.count() == 1

    def test_a_bad_file_is_counted_as_rejected_under_its_label(self, make_city):
        report = IngestReport()
        photo = ingest_one(report, make_city("oslo"), "x.jpg", b"<html>", label="/in/oslo/x.jpg")
        assert photo is None and report.stored == [] and report.duplicates == []
        assert [str(r) for r in report.rejected] == [
            "oslo: /in/oslo/x.jpg: not an image in an accepted format (JPEG, PNG or WebP)"
        ]
        assert report.summary() == "0 photos stored, 0 duplicates skipped, 1 rejected, 0 failed"


@pytest.fixture
def staff_client(client, db):
    admin = get_user_model().objects.create_superuser("admin", password="pw-for-tests-only")
    client.force_login(admin)
    return client


def upload(client, city, *files):
    return client.post("/admin/cities/photo/upload/", {"city": city.pk, "files": list(files)}, follow=True)


def zip_of(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


class TestAdminUpload:
    def test_many_files_and_a_zip_become_photos_with_vectors(self, staff_client, make_city):
        city = make_city("lisbon")
        archive = zip_of(
            {"z/one.jpg": jpeg_bytes(seed=1), "z/two.png": png_bytes(), "__MACOSX/._one.jpg": b"junk"}
        )
        response = upload(
            staff_client,
            city,
            SimpleUploadedFile("a.jpg", jpeg_bytes(seed=2), "image/jpeg"),
            SimpleUploadedFile("set.zip", archive, "application/zip"),
        )
        assert response.status_code == 200
        assert (
            "Lisbon: 3 photos stored, 0 duplicates skipped, 0 rejected, 0 failed."
            in response.content.decode()
        )
        assert Photo.objects.filter(city=city).count() == 3
        run_queued_jobs("predict")  # the job the upload asked for
        version = ModelVersion.objects.get(is_active=True)
        assert PhotoPrediction.objects.filter(model_version=version).count() == 3

    @pytest.mark.parametrize(
        "bad_name, bad_data, reason",
        [
            ("fake.jpg", b"<html>nope</html>", "not an image"),
            ("cut.jpg", jpeg_bytes(size=(300, 300))[:700], "damaged or truncated"),
            ("bomb.png", bomb_png(), "decompression bomb"),
            ("wrong.png", jpeg_bytes(seed=4), "the file is JPEG but its name says PNG"),
        ],
    )
    def test_one_bad_file_is_named_with_its_reason_and_nothing_is_stored(
        self, staff_client, make_city, bad_name, bad_data, reason
    ):
        city = make_city("porto")
        response = upload(
            staff_client,
            city,
            SimpleUploadedFile("good.jpg", jpeg_bytes(seed=5), "image/jpeg"),
            SimpleUploadedFile(bad_name, bad_data, "image/jpeg"),
        )
        page = response.content.decode()
        assert "Nothing was stored" in page and bad_name in page and reason in page
        assert not Photo.objects.exists()

    def test_an_oversize_file_is_refused(self, staff_client, make_city, settings):
        settings.MAX_IMAGE_BYTES = 2000
        response = upload(
            staff_client, make_city("bern"), SimpleUploadedFile("huge.jpg", jpeg_bytes() + b"\0" * 3000)
        )
        assert "the limit is" in response.content.decode() and not Photo.objects.exists()

    def test_a_zip_member_over_the_limit_is_refused_before_it_is_inflated(
        self, staff_client, make_city, settings
    ):
        settings.MAX_IMAGE_BYTES = 5000
        archive = zip_of({"zeros.jpg": b"\0" * 50_000})  # compresses to ~100 bytes
        response = upload(staff_client, make_city("riga"), SimpleUploadedFile("a.zip", archive))
        assert "zeros.jpg" in response.content.decode() and not Photo.objects.exists()

    def test_non_staff_users_cannot_upload(self, client, make_city):
        user = get_user_model().objects.create_user("visitor", password="pw-for-tests-only")
        client.force_login(user)
        response = upload(client, make_city("kyiv"), SimpleUploadedFile("a.jpg", jpeg_bytes()))
        assert "Log in" in response.content.decode() and not Photo.objects.exists()


def test_import_photos_reads_city_folders_and_reports_bad_files(tmp_path, make_city, capsys):
    make_city("berlin")
    make_city("vienna")
    (tmp_path / "berlin").mkdir()
    (tmp_path / "vienna").mkdir()
    (tmp_path / "atlantis").mkdir()
    (tmp_path / "berlin" / "1.jpg").write_bytes(jpeg_bytes(seed=11))
    (tmp_path / "berlin" / "2.jpeg").write_bytes(jpeg_bytes(seed=12))
    (tmp_path / "vienna" / "1.png").write_bytes(png_bytes())
    (tmp_path / "vienna" / "broken.jpg").write_bytes(b"GIF89a not really")
    (tmp_path / "vienna" / "again.jpg").write_bytes(jpeg_bytes(seed=11))  # same bytes as berlin/1.jpg
    (tmp_path / "atlantis" / "1.jpg").write_bytes(jpeg_bytes(seed=13))
    call_command("import_photos", str(tmp_path))
    run_queued_jobs("predict")
    out, err = capsys.readouterr()
    assert "Photos: 3 photos stored, 1 duplicate skipped, 2 rejected, 0 failed." in out
    assert "broken.jpg" in err and "no city with slug 'atlantis'" in err
    assert Photo.objects.filter(city__slug="berlin").count() == 2
    assert ModelVersion.objects.get(is_active=True).n_cities == 2


def test_stored_file_names_do_not_reveal_the_city(make_city):
    dubai = make_city("dubai", "Dubai")
    photo = ingest_photo(dubai, "dubai-00.jpg", jpeg_bytes(seed=7))
    other = ingest_photo(dubai, "dubai-01.jpg", jpeg_bytes(seed=8))
    for stored in (photo, other):
        for field in (stored.image, stored.thumbnail):
            assert "dubai" not in field.name.lower() and "dubai" not in field.url.lower()
            assert re.fullmatch(r"(photos|thumbs)/\d{4}/\d{2}/[0-9a-f]{32}\.jpg", field.name), field.name
    assert photo.image.name != other.image.name
