"""Near-duplicate detection in the one ingestion path (ingest_one): uploads and imports get it too."""

import re

import pytest

from cities.ingest.folder import import_folder
from cities.ingest.report import IngestReport
from cities.ingest.store import hamming_distance, ingest_one
from cities.ingest.upload import import_uploads
from tests.helpers import encode, ingest_photo, photo_like


@pytest.fixture
def berlin(make_city):
    return make_city("berlin", "Berlin")


def test_hamming_distance_counts_differing_bits():
    assert hamming_distance("0000000000000000", "0000000000000000") == 0
    assert hamming_distance("ffffffffffffffff", "0000000000000000") == 64
    assert hamming_distance("00000000000000f1", "0000000000000001") == 4


def test_the_same_picture_re_encoded_and_resized_is_a_near_duplicate(berlin):
    picture = photo_like(80)
    first = ingest_photo(berlin, "a.jpg", encode(picture))
    report = IngestReport()
    assert ingest_one(report, berlin, "b.jpg", encode(picture.resize((700, 525)), quality=60)) is None
    (near,) = report.duplicates
    assert near.existing == first.pk and f"near-duplicate of photo #{first.pk}" in near.reason
    assert int(re.search(r"perceptual distance (\d+)", near.reason)[1]) <= 6
    assert ingest_photo(berlin, "c.jpg", encode(photo_like(81))).perceptual_hash != first.perceptual_hash


def test_near_duplicates_are_looked_for_within_a_city_only(berlin, make_city):
    picture = photo_like(82)
    ingest_photo(berlin, "a.jpg", encode(picture))
    assert ingest_photo(make_city("rome", "Rome"), "b.jpg", encode(picture.resize((700, 525)), quality=60))


def test_the_admin_upload_reports_a_near_duplicate_as_a_duplicate(berlin):
    picture = photo_like(83)
    report = import_uploads(
        berlin, [("a.jpg", encode(picture)), ("b.jpg", encode(picture.resize((700, 525)), quality=60))]
    )
    assert len(report.stored) == 1 and report.rejected == []
    assert "near-duplicate" in report.duplicates[0].reason


def test_import_photos_skips_near_duplicates(berlin, tmp_path):
    folder = tmp_path / "berlin"
    folder.mkdir()
    picture = photo_like(84)
    picture.save(folder / "a.jpg", quality=92)
    picture.resize((760, 570)).save(folder / "b.jpg", quality=70)
    photo_like(85).save(folder / "c.jpg")
    report = import_folder(tmp_path)
    assert len(report.stored) == 2 and len(report.duplicates) == 1
