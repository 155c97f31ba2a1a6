"""One code path for "a file or bytes become a Photo": validation, normalisation, dedupe, storage.

The admin bulk upload, `manage.py import_photos` and the scrapers all call `create_photo`.
Dedupe is twofold: the same bytes anywhere (sha256), and the same picture within a city (a perceptual
hash within a small Hamming distance: a re-encoded, resized or lightly edited copy).
"""

import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from imagehash import phash
from PIL import Image, ImageOps, UnidentifiedImageError

from .models import City, Photo

# The formats we accept, by file extension, and the Pillow format each must really be.
EXTENSION_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP"}
STORED_MAX_SIDE = 1600
THUMBNAIL_MAX_SIDE = 480


class ImageRejected(Exception):
    """A file that will not become a Photo, with a reason a person can act on."""

    def __init__(self, name: str, reason: str):
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


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


@dataclass(frozen=True)
class ValidImage:
    name: str
    sha256: str
    image: Image.Image  # decoded, EXIF-oriented, RGB
    perceptual_hash: str  # 64-bit pHash of `image`, 16 hex digits


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def validate_image(name: str, data: bytes) -> ValidImage:
    """Check that `data` is a whole, sane image of the type its name claims; return it decoded."""
    extension = Path(name).suffix.lower()
    if extension not in EXTENSION_FORMATS:
        allowed = ", ".join(sorted(EXTENSION_FORMATS))
        raise ImageRejected(name, f"unsupported file type '{extension or 'none'}' (allowed: {allowed})")
    if not data:
        raise ImageRejected(name, "the file is empty")
    if len(data) > settings.MAX_IMAGE_BYTES:
        raise ImageRejected(
            name, f"the file is {_megabytes(len(data))}; the limit is {_megabytes(settings.MAX_IMAGE_BYTES)}"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            pixels = probe.width * probe.height
            if pixels > settings.MAX_IMAGE_PIXELS:
                raise ImageRejected(
                    name,
                    f"{probe.width}×{probe.height} pixels is over the limit of {settings.MAX_IMAGE_PIXELS:,} "
                    "(a possible decompression bomb)",
                )
            actual = probe.format
            probe.verify()
            # verify() does not decode the pixels; a full load catches truncated files.
            image = Image.open(io.BytesIO(data))
            image.load()
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(name, "too many pixels (a possible decompression bomb)") from None
    except UnidentifiedImageError:
        raise ImageRejected(name, "not an image (Pillow cannot identify it)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(name, f"damaged or truncated image ({exc})") from None
    expected = EXTENSION_FORMATS[extension]
    if actual != expected:
        raise ImageRejected(name, f"the file is {actual} but its name says {expected}")
    ImageOps.exif_transpose(image, in_place=True)  # our own decoded copy: no need for another
    if image.mode != "RGB":
        background = Image.new("RGB", image.size, "white")
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    return ValidImage(
        name=name, sha256=hashlib.sha256(data).hexdigest(), image=image, perceptual_hash=str(phash(image))
    )


def _jpeg_bytes(image: Image.Image, max_side: int, quality: int) -> tuple[bytes, tuple[int, int]]:
    if max(image.size) > max_side:
        image = image.copy()
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue(), image.size


@dataclass(frozen=True)
class Renditions:
    """What is stored for a photo: the downscaled JPEG (and its size) and the thumbnail."""

    stored: bytes
    size: tuple[int, int]
    thumbnail: bytes


def render(valid: ValidImage) -> Renditions:
    """The stored JPEG and the thumbnail. Pure CPU, no database: callers may run it on other threads."""
    stored, size = _jpeg_bytes(valid.image, STORED_MAX_SIDE, 88)
    thumbnail, _ = _jpeg_bytes(valid.image, THUMBNAIL_MAX_SIDE, 80)
    return Renditions(stored=stored, size=size, thumbnail=thumbnail)


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


def create_photo(city: City, valid: ValidImage, *, renditions: Renditions | None = None, **metadata) -> Photo:
    """Store a validated image as a Photo (downscaled JPEG + thumbnail).

    `renditions` is `render(valid)` when the caller made it already (the scraper does, on its download
    threads); otherwise it is made here. Raises DuplicatePhoto (same bytes anywhere) or NearDuplicatePhoto
    (same picture in this city).
    """
    existing = find_duplicate(valid.sha256)
    if existing:
        raise DuplicatePhoto(valid.name, existing)
    near = find_near_duplicate(city, valid.perceptual_hash)
    if near:
        raise NearDuplicatePhoto(valid.name, *near)
    stem = Path(valid.name).stem[:60] or "photo"
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


def ingest_bytes(city: City, name: str, data: bytes, **metadata) -> Photo:
    """Validate and store one file. Raises ImageRejected (or a DuplicatePhoto) and stores nothing then."""
    return create_photo(city, validate_image(name, data), **metadata)
