"""`ingest_one`: the one way a file becomes a Photo (validated, de-duplicated, stored), and its report.

The admin upload, the folder import and the scraper all call it for every file. Dedupe is twofold: the
same bytes anywhere (sha256), and the same picture within a city (a perceptual hash within a small Hamming
distance: a re-encoded, resized or lightly edited copy). Files go through the storage API (the image
fields), so any storage backend works.
"""

import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction

from ..models import City, Photo
from ..services import after_photos_added
from .report import IngestReport
from .validation import ImageRejected, Renditions, ValidImage, render, validate_image


class DuplicatePhoto(ImageRejected):
    def __init__(self, name: str, existing: Photo):
        super().__init__(name, f"duplicate of photo #{existing.pk} ({existing.city.name})")
        self.existing = existing


class NearDuplicatePhoto(DuplicatePhoto):
    """Not the same bytes, but the same picture as a photo of the same city."""

    def __init__(self, name: str, existing: Photo, distance: int):
        ImageRejected.__init__(
            self,
            name,
            f"near-duplicate of photo #{existing.pk} ({existing.city.name}; perceptual distance {distance})",
        )
        self.existing = existing
        self.distance = distance


def find_duplicate(sha256: str) -> Photo | None:
    return Photo.objects.select_related("city").filter(sha256=sha256).first()


def hamming_distance(hex_a: str, hex_b: str) -> int:
    return (int(hex_a, 16) ^ int(hex_b, 16)).bit_count()


def find_near_duplicate(city: City, perceptual_hash: str) -> tuple[Photo, int] | None:
    """The closest photo of `city` whose perceptual hash is within NEAR_DUPLICATE_MAX_DISTANCE, if any.

    A city holds hundreds to a few thousand photos, so comparing in Python stays cheap and works on
    SQLite and Postgres alike. Photos stored before hashes existed have none and are not compared.
    """
    limit = settings.NEAR_DUPLICATE_MAX_DISTANCE
    rows = Photo.objects.filter(city=city).exclude(perceptual_hash="").values_list("pk", "perceptual_hash")
    best = min(((hamming_distance(perceptual_hash, h), pk) for pk, h in rows), default=None)
    if best is None or best[0] > limit:
        return None
    return Photo.objects.select_related("city").get(pk=best[1]), best[0]


def _store(city: City, valid: ValidImage, renditions: Renditions | None, metadata: dict) -> Photo:
    """Dedupe, then save the downscaled JPEG and the thumbnail. Raises DuplicatePhoto or NearDuplicatePhoto."""
    existing = find_duplicate(valid.sha256)
    if existing:
        raise DuplicatePhoto(valid.name, existing)
    near = find_near_duplicate(city, valid.perceptual_hash)
    if near:
        raise NearDuplicatePhoto(valid.name, *near)
    # A random name: the uploaded one often names the city ("dubai-00.jpg"), and a swiper should judge the
    # look, not read the answer off the image's URL.
    stem = uuid.uuid4().hex
    renditions = renditions or render(valid)
    width, height = renditions.size
    photo = Photo(
        city=city,
        sha256=valid.sha256,
        perceptual_hash=valid.perceptual_hash,
        width=width,
        height=height,
        **metadata,
    )
    photo.image.save(f"{stem}.jpg", ContentFile(renditions.stored), save=False)
    photo.thumbnail.save(f"{stem}.jpg", ContentFile(renditions.thumbnail), save=False)
    try:
        with transaction.atomic():
            photo.save()
    except IntegrityError:
        photo.image.delete(save=False)
        photo.thumbnail.delete(save=False)
        raced = find_duplicate(valid.sha256)
        if raced:
            raise DuplicatePhoto(valid.name, raced) from None
        raise
    return photo


def ingest_one(
    report: IngestReport,
    city: City,
    name: str,
    data: bytes | ValidImage,
    *,
    renditions: Renditions | None = None,
    label: str = "",
    **metadata,
) -> Photo | None:
    """Validate, dedupe and store one image of `city`, and count it in `report`.

    `data` is the file's bytes, or the ValidImage when the caller validated it already (the upload checks
    every file before it stores any; the scraper validates and renders on its download threads and passes
    `renditions` too). `label` is what the report calls the file (a path, a URL; default `name`).
    `metadata` are Photo fields: source, source_url, author, licence, licence_url.

    Returns the new Photo, or None when it was rejected or a duplicate: the report says which and why.
    Anything unexpected (the storage failing, say) is raised for the caller's loop to decide.
    """
    label = label or name
    try:
        valid = data if isinstance(data, ValidImage) else validate_image(name, data)
        photo = _store(city, valid, renditions, metadata)
    except DuplicatePhoto as duplicate:
        report.duplicate(label, duplicate.reason, city.slug, existing=duplicate.existing.pk)
        return None
    except ImageRejected as rejected:
        report.reject(label, rejected.reason, city.slug)
        return None
    report.stored.append(photo.pk)
    return photo


def announce_new_photos(report: IngestReport) -> None:
    """Hand the photos stored since the last call on, so they get predictions (the one call site)."""
    new = report.stored[report.announced :]
    report.announced = len(report.stored)
    after_photos_added(new)
